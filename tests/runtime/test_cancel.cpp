// Cancellation and its relatives on endless flows: cancel() from another thread, a stop token, a
// start deadline, the Run destructor, Run move-assignment, and the Runtime going away while a
// run is going. Each ends with every item accounted for and every close hook run.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"
#include "support/lifetime_tracker.hpp"

using namespace std::chrono_literals;
using rill::test::Clock;
using rill::test::Tracked;

namespace {

/// What the stages of one run record, read by the test after the run ends (or while it goes,
/// through the atomics).
struct Probe {
    std::atomic<std::uint64_t> seen{0};
    std::atomic<std::uint64_t> out_of_order{0};
    std::mutex mutex;
    std::vector<std::string> hooks;

    void hook(std::string event) {
        std::lock_guard lock(mutex);
        hooks.push_back(std::move(event));
    }
    std::vector<std::string> hook_log() {
        std::lock_guard lock(mutex);
        return hooks;
    }
};

/// A pass-through map with open and close hooks that it reports to the probe.
struct Hooked {
    Probe* probe;
    std::string name;
    void open(rill::StageContext&) { probe->hook("open " + name); }
    Tracked operator()(Tracked t) const { return t; }
    void close() { probe->hook("close " + name); }
};

/// The sink: checks it gets 3*0, 3*1, 3*2, ... and counts.
struct CheckingSink {
    Probe* probe;
    void open(rill::StageContext&) { probe->hook("open sink"); }
    void operator()(Tracked t) const {
        // relaxed: one writer (this stage's worker); the test reads after the run or polls.
        const std::uint64_t i = probe->seen.load(std::memory_order_relaxed);
        if (t.value != 3 * i) probe->out_of_order.fetch_add(1, std::memory_order_relaxed);
        probe->seen.store(i + 1, std::memory_order_relaxed);
    }
    void close() { probe->hook("close sink"); }
};

/// src (endless) -> triple -> hooked -> sink.
rill::Flow endless_flow(Probe& probe, bool chain) {
    rill::Flow flow({.capacity = 256, .chain = chain});
    flow.source("src", rill::test::EndlessSource<Tracked>{})
        .map("triple", [](Tracked t) { return Tracked(t.value * 3); })
        .map("hooked", Hooked{&probe, "hooked"})
        .sink("sink", CheckingSink{&probe});
    return flow;
}

/// Waits until the sink has handled `n` items: the run is mid-stream.
bool mid_stream(Probe& probe, std::uint64_t n = 10'000) {
    return rill::test::eventually([&] { return probe.seen.load() >= n; });
}

const std::vector<std::string> kHooksInOrder = {"open hooked", "open sink", "close sink",
                                                "close hooked"};

/// Checks what must hold after a run ended: the ledger, the order at the sink, the hooks.
void check_ended(const rill::FlowMetrics& m, Probe& probe, bool aborted) {
    INFO(rill::test::describe(m));
    const rill::test::Ledger l = rill::test::ledger(m);
    INFO(l.problem);
    CHECK(l.balanced);
    CHECK(l.lost_edges == 0);
    CHECK(l.entered == l.delivered + l.dropped);
    CHECK(m.at("src").emitted == m.at("sink").out + l.dropped);
    CHECK(m.at("sink").out == probe.seen.load());
    CHECK(probe.out_of_order.load() == 0);
    if (!aborted) CHECK(l.dropped == 0);
    // Open hooks may run in either order (different workers); close hooks run sink first.
    std::vector<std::string> hooks = probe.hook_log();
    REQUIRE(hooks.size() == 4);
    if (hooks[0] == "open sink") std::swap(hooks[0], hooks[1]);
    CHECK(hooks == kHooksInOrder);
    CHECK(Tracked::counters.live() == 0);
    CHECK(Tracked::counters.bad_destroy.load() == 0);
}

}  // namespace

TEST_CASE("cancel() from another thread ends an endless flow mid-stream", "[runtime][cancel]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    rill::Run run = runtime.start(endless_flow(probe, chain));
    REQUIRE(mid_stream(probe));
    std::thread canceller([&] { run.cancel(); });
    const auto status = run.wait_for(60s);
    canceller.join();
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    CHECK(run.done());
    check_ended(run.metrics(), probe, /*aborted=*/true);
    // Cancelling again, or waiting again, changes nothing.
    run.cancel();
    CHECK(run.wait() == rill::RunStatus::cancelled);
}

TEST_CASE("a stop token requested mid-stream drains the flow: stopped with nothing dropped",
          "[runtime][cancel]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    std::stop_source stop;
    rill::Run run = runtime.start(endless_flow(probe, chain), {.stop_token = stop.get_token()});
    REQUIRE(mid_stream(probe));
    std::thread stopper([&] { stop.request_stop(); });
    const auto status = run.wait_for(60s);
    stopper.join();
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    check_ended(run.metrics(), probe, /*aborted=*/false);
}

TEST_CASE("a stop token already requested at start drains at once", "[runtime][cancel]") {
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    std::stop_source stop;
    stop.request_stop();
    rill::Run run = runtime.start(endless_flow(probe, false), {.stop_token = stop.get_token()});
    const auto status = run.wait_for(60s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    check_ended(run.metrics(), probe, /*aborted=*/false);
}

TEST_CASE("a stop token drains an inlet: what it accepted is processed and later pushes fail",
          "[runtime][cancel]") {
    Tracked::counters.reset();
    rill::Runtime runtime;
    rill::Flow flow({.capacity = 16, .chain = false});
    std::atomic<std::uint64_t> seen{0}, sum{0};
    auto [inlet, stream] = flow.inlet<Tracked>("in", {.capacity = 4096});
    stream.map("triple", [](Tracked t) { return Tracked(t.value * 3); })
        .sink("sink", [&](Tracked t) {
            sum.fetch_add(t.value);
            seen.fetch_add(1);
        });
    std::stop_source stop;
    rill::Run run = runtime.start(flow, {.stop_token = stop.get_token()});
    constexpr std::uint64_t kPushed = 3000;
    for (std::uint64_t i = 1; i <= kPushed; ++i)
        REQUIRE(inlet.try_push(Tracked(i)));
    std::thread stopper([&] { stop.request_stop(); });
    const auto status = run.wait_for(60s);
    stopper.join();
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    CHECK(inlet.closed());
    CHECK_FALSE(inlet.try_push(Tracked(1)));
    CHECK_FALSE(inlet.push(Tracked(1)));
    const rill::FlowMetrics m = run.metrics();
    INFO(rill::test::describe(m));
    const rill::test::Ledger l = rill::test::ledger(m);
    CHECK(l.closes());
    CHECK(l.entered == kPushed);
    CHECK(l.dropped == 0);
    CHECK(seen.load() == kPushed);
    CHECK(sum.load() == 3 * kPushed * (kPushed + 1) / 2);
}

TEST_CASE("cancel() counts the items still waiting in an inlet as dropped", "[runtime][cancel]") {
    Tracked::counters.reset();
    rill::test::Gate gate;
    gate.open = false;
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true});
    rill::Flow flow({.capacity = 4, .chain = false});
    std::atomic<std::uint64_t> seen{0};
    auto [inlet, stream] = flow.inlet<Tracked>("in", {.capacity = 1024}, {.worker = 0u});
    stream.sink("sink",
                [&](Tracked) {
                    gate.pass();
                    seen.fetch_add(1);
                },
                {.worker = 1u});
    rill::Run run = runtime.start(flow);
    rill::test::OpenOnExit opener{gate};
    constexpr std::uint64_t kPushed = 500;
    for (std::uint64_t i = 0; i < kPushed; ++i)
        REQUIRE(inlet.try_push(Tracked(i)));
    REQUIRE(rill::test::eventually([&] { return gate.someone_waiting.load(); }));
    run.cancel();
    gate.open = true;
    const auto status = run.wait_for(60s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    CHECK(inlet.closed());
    CHECK_FALSE(inlet.try_push(Tracked(1)));
    const rill::FlowMetrics m = run.metrics();
    INFO(rill::test::describe(m));
    const rill::test::Ledger l = rill::test::ledger(m);
    INFO(l.problem);
    CHECK(l.balanced);
    CHECK(l.entered == kPushed);  // the inlet's source counts what it took and what it dropped
    CHECK(l.delivered + l.dropped == kPushed);
    CHECK(m.at("in").dropped_on_cancel > 0);  // most items were still in the inlet
    CHECK(seen.load() == m.at("sink").out);
    CHECK(Tracked::counters.live() == 0);
}

TEST_CASE("a start deadline cancels an endless flow: deadline_exceeded", "[runtime][cancel]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    const auto deadline = Clock::now() + 50ms;
    rill::Run run = runtime.start(endless_flow(probe, chain), {.deadline = deadline});
    const auto status = run.wait_for(60s);
    const auto ended = Clock::now();
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::deadline_exceeded);
    CHECK(ended >= deadline);
    CHECK(ended < deadline + rill::test::deadline_slack());
    check_ended(run.metrics(), probe, /*aborted=*/true);
}

TEST_CASE("a start deadline that is not reached leaves a finite flow completed",
          "[runtime][cancel]") {
    rill::Runtime runtime;
    std::uint64_t sum = 0;
    rill::Flow flow;
    flow.source("gen", rill::iota<std::uint64_t>(1, 100'001))
        .map("double", [](std::uint64_t x) { return 2 * x; })
        .sink("sum", [&](std::uint64_t x) { sum += x; });
    // Several runs with deadlines: each ends completed and its deadline is forgotten.
    for (int i = 0; i < 5; ++i) {
        sum = 0;
        rill::Run run = runtime.start(flow, {.deadline = Clock::now() + 300s});
        const auto status = run.wait_for(60s);
        REQUIRE(status);
        CHECK(*status == rill::RunStatus::completed);
        CHECK(sum == 100'000ull * 100'001ull);
    }
}

TEST_CASE("the Run destructor cancels a running endless flow and returns", "[runtime][cancel]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    {
        rill::Run run = runtime.start(endless_flow(probe, chain));
        REQUIRE(mid_stream(probe));
    }  // ~Run: cancel and wait
    // The run is over: close hooks have run and every item is destroyed.
    std::vector<std::string> hooks = probe.hook_log();
    REQUIRE(hooks.size() == 4);
    if (hooks[0] == "open sink") std::swap(hooks[0], hooks[1]);
    CHECK(hooks == kHooksInOrder);
    CHECK(Tracked::counters.live() == 0);
    // The runtime is still good for more runs.
    Probe again;
    rill::Run run = runtime.start(endless_flow(again, chain));
    REQUIRE(mid_stream(again));
    run.cancel();
    CHECK(run.wait() == rill::RunStatus::cancelled);
}

TEST_CASE("move-assigning over a running Run cancels the run it held", "[runtime][cancel]") {
    Tracked::counters.reset();
    Probe first, second;
    rill::Runtime runtime;
    rill::Run a = runtime.start(endless_flow(first, false));
    rill::Run b = runtime.start(endless_flow(second, false));
    REQUIRE(mid_stream(first));
    REQUIRE(mid_stream(second));
    a = std::move(b);  // the first run is cancelled and waited for
    CHECK(first.hook_log().size() == 4);
    const std::uint64_t first_seen = first.seen.load();
    CHECK_FALSE(a.done());  // the second run goes on
    REQUIRE(mid_stream(second, second.seen.load() + 1000));
    CHECK(first.seen.load() == first_seen);
    a.cancel();
    CHECK(a.wait() == rill::RunStatus::cancelled);
    check_ended(a.metrics(), second, /*aborted=*/true);
    CHECK_THROWS_AS(b.wait(), std::logic_error);  // b was moved from
}

TEST_CASE("destroying the Runtime cancels a run whose Run handle outlives it",
          "[runtime][cancel]") {
    // ~Runtime "cancels the runs still going"; RunStatus::cancelled covers "the runtime went
    // away". The Run handle stays usable: wait(), metrics(), cancel() and its destructor.
    const bool chain = GENERATE(true, false);
    const bool with_deadline = GENERATE(false, true);  // a pending deadline: the timer thread
    CAPTURE(chain, with_deadline);
    Tracked::counters.reset();
    Probe probe;
    auto runtime = std::make_unique<rill::Runtime>();
    rill::StartOptions options;
    if (with_deadline) options.deadline = Clock::now() + 3600s;
    rill::Run run = runtime->start(endless_flow(probe, chain), options);
    REQUIRE(mid_stream(probe));
    runtime.reset();  // cancels the run, waits for its tasks, joins the workers
    CHECK(run.done());
    const auto status = run.wait_for(0s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    check_ended(run.metrics(), probe, /*aborted=*/true);
    run.cancel();  // no runtime to wake: nothing happens
    CHECK(run.wait() == rill::RunStatus::cancelled);
}

TEST_CASE("destroying the Runtime cancels an idle inlet flow", "[runtime][cancel]") {
    Tracked::counters.reset();
    auto runtime = std::make_unique<rill::Runtime>();
    rill::Flow flow;
    auto [inlet, stream] = flow.inlet<Tracked>("in");
    stream.sink("sink", [](Tracked) {});
    rill::Run run = runtime->start(flow);
    REQUIRE(inlet.try_push(Tracked(1)));
    REQUIRE(rill::test::eventually([&] { return run.metrics().at("sink").out == 1; }));
    runtime.reset();
    const auto status = run.wait_for(0s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    CHECK(inlet.closed());
    CHECK_FALSE(inlet.try_push(Tracked(2)));
    CHECK(rill::test::ledger(run.metrics()).closes());
    CHECK(Tracked::counters.live() == 0);
}

TEST_CASE("a run's status does not change after wait() returned even near its deadline",
          "[runtime][cancel][stress]") {
    // Deadlines are spread from 0 to twice the time the flow takes in this build on this
    // machine (measured first), so that some runs complete, some are cut short, and some
    // deadlines fire while the run is ending. Whatever wait() first says must stay the answer.
    const std::uint64_t rounds = rill::test::stress_items(3000, 10);
    rill::Runtime runtime;
    rill::Flow flow({.chain = false});
    std::uint64_t sum = 0;
    flow.source("gen", rill::iota<std::uint64_t>(0, 2000)).sink("sum", [&](std::uint64_t x) {
        sum += x;
    });
    std::vector<Clock::duration> took;
    for (int i = 0; i < 21; ++i) {
        const auto start = Clock::now();
        REQUIRE(runtime.start(flow).wait() == rill::RunStatus::completed);
        took.push_back(Clock::now() - start);
    }
    std::nth_element(took.begin(), took.begin() + 10, took.end());
    const auto spread = std::chrono::duration_cast<std::chrono::microseconds>(2 * took[10]) +
                        std::chrono::microseconds(1);
    CAPTURE(spread.count());
    std::uint64_t flips = 0, completed = 0, exceeded = 0, unbalanced = 0;
    std::string first_flip;
    for (std::uint64_t round = 0; round < rounds; ++round) {
        sum = 0;
        const auto delay = spread * static_cast<std::int64_t>((round * 7) % 400) / 400;
        rill::Run run = runtime.start(flow, {.deadline = Clock::now() + delay});
        const rill::RunStatus first = run.wait();
        std::this_thread::sleep_for(500us);  // the worker's last act and the timer, if due
        const rill::RunStatus later = run.wait();
        if (first != later && flips++ == 0) {
            first_flip = "round " + std::to_string(round) + ": wait() said " +
                         std::string(rill::to_string(first)) + ", then " +
                         std::string(rill::to_string(later)) + "; the sink got " +
                         std::to_string(run.metrics().at("sum").out) + " of 2000 items";
        }
        if (first == rill::RunStatus::completed) ++completed;
        if (first == rill::RunStatus::deadline_exceeded) ++exceeded;
        if (!rill::test::ledger(run.metrics()).closes()) ++unbalanced;
        if (first == rill::RunStatus::completed && sum != 1999ull * 2000 / 2) ++unbalanced;
    }
    INFO(completed << " completed, " << exceeded << " deadline exceeded; " << first_flip);
    CHECK(flips == 0);
    CHECK(unbalanced == 0);
    // Both outcomes happened: some deadlines fired, and some runs ended before theirs.
    CHECK(exceeded > 0);
    CHECK(completed > 0);
}

TEST_CASE("cancelling or stopping a run that has ended does not change its status",
          "[runtime][cancel]") {
    const std::string late = GENERATE("cancel()", "stop()", "stop token");
    CAPTURE(late);
    rill::Runtime runtime;
    rill::Flow flow;
    std::uint64_t sum = 0;
    flow.source("gen", rill::iota<std::uint64_t>(0, 1000)).sink("sum", [&](std::uint64_t x) {
        sum += x;
    });
    std::stop_source stop;
    rill::Run run = runtime.start(flow, {.stop_token = stop.get_token()});
    REQUIRE(run.wait() == rill::RunStatus::completed);
    REQUIRE(sum == 999ull * 1000 / 2);
    if (late == "cancel()") {
        run.cancel();
    } else if (late == "stop()") {
        CHECK(run.stop(Clock::now() + 1s).drained);
    } else {
        stop.request_stop();
    }
    CHECK(run.wait() == rill::RunStatus::completed);
}

TEST_CASE("threads waiting on one run all get its status when another thread cancels it",
          "[runtime][cancel]") {
    // wait(), wait_until() and wait_for() from other threads; then the run is ended either by
    // cancel() or by the runtime going away.
    const bool by_runtime = GENERATE(false, true);
    CAPTURE(by_runtime);
    Tracked::counters.reset();
    Probe probe;
    auto runtime = std::make_unique<rill::Runtime>();
    rill::Run run = runtime->start(endless_flow(probe, false));
    REQUIRE(mid_stream(probe));
    constexpr int kWaiters = 4;
    std::atomic<int> returned{0}, cancelled{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < kWaiters; ++i) {
        waiters.emplace_back([&, i] {
            std::optional<rill::RunStatus> s;
            if (i % 3 == 0) s = run.wait();
            if (i % 3 == 1) s = run.wait_until(Clock::now() + 120s);
            if (i % 3 == 2) s = run.wait_for(120s);
            returned.fetch_add(1);
            if (s == rill::RunStatus::cancelled) cancelled.fetch_add(1);
        });
    }
    if (by_runtime) {
        runtime.reset();
    } else {
        std::thread([&] { run.cancel(); }).join();
    }
    for (auto& t : waiters)
        t.join();
    CHECK(returned.load() == kWaiters);
    CHECK(cancelled.load() == kWaiters);
    check_ended(run.metrics(), probe, /*aborted=*/true);
}

TEST_CASE("ending a run right after its start", "[runtime][cancel][stress]") {
    // cancel() or stop() before the tasks have opened their stages or taken a step: every run
    // ends, its ledger closes and every stage that opened closes.
    const std::string how = GENERATE("cancel()", "stop()", "deadline in the past");
    CAPTURE(how);
    const std::uint64_t rounds = rill::test::stress_items(2000, 10);
    rill::Runtime runtime;
    Probe probe;
    const rill::Flow flows[2] = {endless_flow(probe, true), endless_flow(probe, false)};
    for (std::uint64_t round = 0; round < rounds; ++round) {
        INFO("round " << round);
        Tracked::counters.reset();
        probe.seen = 0;
        probe.hooks.clear();
        rill::StartOptions options;
        if (how == "deadline in the past") options.deadline = Clock::now() - 1s;
        rill::Run run = runtime.start(flows[round % 2], options);
        rill::RunStatus expected = rill::RunStatus::cancelled;
        if (how == "cancel()") {
            run.cancel();
        } else if (how == "stop()") {
            const rill::StopReport report = run.stop(Clock::now() + 60s);
            REQUIRE(report.drained);
            expected = rill::RunStatus::stopped;
        } else {
            expected = rill::RunStatus::deadline_exceeded;
        }
        const auto status = run.wait_for(60s);
        REQUIRE(status);
        REQUIRE(*status == expected);
        const rill::FlowMetrics m = run.metrics();
        const rill::test::Ledger l = rill::test::ledger(m);
        INFO(rill::test::describe(m) << l.problem);
        REQUIRE(l.closes());
        if (expected == rill::RunStatus::stopped) REQUIRE(l.dropped == 0);
        REQUIRE(probe.out_of_order.load() == 0);
        REQUIRE(Tracked::counters.live() == 0);
        const std::vector<std::string> hooks = probe.hook_log();
        const auto count = [&](const std::string& event) {
            return std::count(hooks.begin(), hooks.end(), event);
        };
        REQUIRE(count("open hooked") == count("close hooked"));
        REQUIRE(count("open sink") == count("close sink"));
    }
}

TEST_CASE("stop() on a run that was cancelled does not report that it drained",
          "[runtime][cancel]") {
    // StopReport::drained: "true when the flow drained before the deadline". A run that ended
    // by cancel() dropped items; a later stop() must not say it drained.
    Tracked::counters.reset();
    Probe probe;
    rill::Runtime runtime;
    rill::Run run = runtime.start(endless_flow(probe, false));
    REQUIRE(mid_stream(probe));
    run.cancel();
    // (Whether the cancel found items to drop depends on timing; the status is what counts.)
    REQUIRE(run.wait() == rill::RunStatus::cancelled);
    const rill::StopReport report = run.stop(Clock::now() + 1s);
    INFO(rill::test::describe(report));
    CHECK_FALSE(report.drained);
    CHECK(run.wait() == rill::RunStatus::cancelled);
}
