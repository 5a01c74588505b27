// Shutdown under full backpressure. A four-stage flow, unchained, with rings of 4: source, two
// maps and the first of them on worker 0, the sink alone on worker 1. The sink stalls on a gate,
// so every ring fills, every emitter overflows and worker 0 parks. Then the run is stopped with a
// deadline it cannot meet, or cancelled from another thread, or stopped and let drain; each way
// every item the source produced must be accounted for exactly once.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"
#include "support/lifetime_tracker.hpp"
#include "support/stress_config.hpp"

using namespace std::chrono_literals;
using rill::test::Clock;
using rill::test::Tracked;

namespace {

constexpr std::size_t kCapacity = 4;
// The flow's default batch: when the ring in front of a stage is full, its upstream holds at most
// one batch of outputs for lack of room (its overflow), which counts as queued in front of it.
constexpr std::size_t kBatch = rill::FlowOptions{}.batch;

/// The sink's side of the test: it checks the order of what it gets and stalls on the gate
/// from item `stall_at` on while the gate is closed.
struct SinkLog {
    rill::test::Gate gate;
    std::uint64_t stall_at = 0;
    std::atomic<std::uint64_t> seen{0};
    std::atomic<std::uint64_t> out_of_order{0};

    void reset(std::uint64_t stall_at_item, bool gate_open) {
        stall_at = stall_at_item;
        seen = 0;
        out_of_order = 0;
        gate.someone_waiting = false;
        gate.open = gate_open;
    }
};

/// src -> m1 -> m2 on worker 0 (waiting by `upstream_wait`), sink on worker 1; rings of 4.
/// The maps add and take away one, so the sink sees 0, 1, 2, ... in order.
rill::Flow make_flow(SinkLog& log, rill::WaitPolicy upstream_wait) {
    rill::Flow flow({.capacity = kCapacity, .chain = false});
    const rill::StageOptions up{.worker = 0u, .wait = upstream_wait};
    flow.source("src", rill::test::EndlessSource<Tracked>{}, up)
        .map(
            "m1", [](Tracked t) { return Tracked(t.value + 1); }, up)
        .map(
            "m2", [](Tracked t) { return Tracked(t.value - 1); }, up)
        .sink("sink",
              [&log](Tracked t) {
                  // relaxed: only this stage's worker writes; the test reads after the run ends.
                  const std::uint64_t i = log.seen.load(std::memory_order_relaxed);
                  if (t.value != i) log.out_of_order.fetch_add(1, std::memory_order_relaxed);
                  if (i >= log.stall_at) log.gate.pass();
                  log.seen.store(i + 1, std::memory_order_relaxed);
              },
              {.worker = 1u});
    return flow;
}

/// Waits until the sink is stalled, the three rings are full and worker 0 is parked.
bool backpressure_is_full(const rill::Run& run, SinkLog& log, pid_t upstream_worker) {
    const bool full = rill::test::eventually([&] {
        if (!log.gate.someone_waiting.load()) return false;
        // Full: every ring holds kCapacity items, counted as queued or, for the batch a stage
        // has taken and not yet released, as in the stage's hands.
        const rill::FlowMetrics m = run.metrics();
        const auto full_in_front = [&](const char* stage) {
            const rill::StageMetrics& s = m.at(stage);
            return s.queue_depth + s.in_stage() >= kCapacity;
        };
        return full_in_front("m1") && full_in_front("m2") && full_in_front("sink");
    });
    return full && rill::test::parks(upstream_worker);
}

/// Everything that must hold once an aborted (or drained, `aborted` false) run has ended.
std::vector<std::string> accounting_problems(const rill::FlowMetrics& m, const SinkLog& log,
                                             bool aborted) {
    std::vector<std::string> p;
    const rill::test::Ledger l = rill::test::ledger(m);
    if (!l.balanced || l.lost_edges != 0) p.push_back(l.problem);
    std::uint64_t dropped = 0;
    for (const rill::StageMetrics& s : m.stages)
        dropped += s.dropped_on_cancel;
    const rill::StageMetrics& src = m.at("src");
    const rill::StageMetrics& sink = m.at("sink");
    // The ledger: whatever the source produced reached the sink or was dropped, exactly once.
    if (src.emitted != sink.out + dropped) {
        p.push_back("src emitted " + std::to_string(src.emitted) + " != sink out " +
                    std::to_string(sink.out) + " + dropped " + std::to_string(dropped));
    }
    if (aborted && dropped == 0) p.push_back("the run was aborted with full rings: none dropped");
    if (!aborted && dropped != 0) p.push_back(std::to_string(dropped) + " dropped by a drain");
    if (sink.errored != 0 || sink.filtered != 0) p.push_back("the sink errored or filtered");
    if (log.seen.load() != sink.out) {
        p.push_back("the sink handled " + std::to_string(log.seen.load()) + " items, out says " +
                    std::to_string(sink.out));
    }
    if (log.seen.load() < std::min(log.stall_at + 1, src.emitted)) {
        p.push_back("the sink did not finish the item it was stalled on");
    }
    if (log.out_of_order.load() != 0) {
        p.push_back(std::to_string(log.out_of_order.load()) +
                    " items reached the sink out of order");
    }
    if (Tracked::counters.live() != 0) {
        p.push_back(std::to_string(Tracked::counters.live()) + " items still alive after the run");
    }
    if (Tracked::counters.bad_destroy.load() != 0) p.push_back("an item was destroyed twice");
    return p;
}

std::string join(const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& x : parts)
        s += (s.empty() ? "" : "; ") + x;
    return s;
}

bool names(const rill::StopReport& r, const std::string& stage) {
    return std::any_of(r.in_flight.begin(), r.in_flight.end(),
                       [&](const rill::StopReport::InFlight& f) { return f.stage == stage; });
}

const rill::StopReport::InFlight* entry(const rill::StopReport& r, const std::string& stage) {
    for (const auto& f : r.in_flight) {
        if (f.stage == stage) return &f;
    }
    return nullptr;
}

/// What a stop that missed its deadline must report: the stalled stages, each within its ring.
std::vector<std::string> report_problems(const rill::StopReport& r) {
    std::vector<std::string> p;
    if (r.drained) p.push_back("drained is true although the sink is stalled");
    for (const char* stage : {"m1", "m2", "sink"}) {
        if (!names(r, stage)) p.push_back(std::string("in_flight does not name ") + stage);
    }
    for (const auto& f : r.in_flight) {
        if (f.queued > kCapacity) p.push_back(f.stage + " queued more than its ring holds");
        if (f.held_upstream > kBatch) {
            p.push_back(f.stage + ": its upstream holds more than a batch back");
        }
        if (f.queued == 0 && f.held_upstream == 0 && f.in_stage == 0) {
            p.push_back(f.stage + " listed holding nothing");
        }
    }
    if (const auto* m1 = entry(r, "m1"); m1 != nullptr && m1->queued < kCapacity)
        p.push_back("m1's full ring reported as " + std::to_string(m1->queued));
    if (const auto* m2 = entry(r, "m2"); m2 != nullptr && m2->queued < kCapacity)
        p.push_back("m2's full ring reported as " + std::to_string(m2->queued));
    if (const auto* sink = entry(r, "sink"); sink != nullptr && sink->in_stage == 0)
        p.push_back("the stalled sink is reported holding no item");
    return p;
}

rill::RuntimeOptions two_workers(rill::WaitPolicy wait = {}) {
    return {.workers = 2u, .allow_oversubscription = true, .wait = wait, .name = "shut"};
}

/// make_flow() started on a runtime of its own and brought to full backpressure: the sink is
/// stalled on item `stall_at`, every ring is full and worker 0 is parked.
struct Backpressured {
    Backpressured(rill::WaitPolicy wait, std::uint64_t stall_at)
        : runtime(two_workers(wait)), flow(make_flow(log, wait)) {
        Tracked::counters.reset();
        log.reset(stall_at, /*gate_open=*/false);
        run.emplace(runtime.start(flow));
        const auto w0 = rill::test::thread_named("shut/w0");
        REQUIRE(w0);
        REQUIRE(backpressure_is_full(*run, log, *w0));
    }

    SinkLog log;
    rill::Runtime runtime;
    rill::Flow flow;
    std::optional<rill::Run> run;
    rill::test::OpenOnExit opener{log.gate};  // destroyed first: ~Run never waits on the gate
};

}  // namespace

TEST_CASE("stop(deadline) under full backpressure reports what is in flight and then cancels",
          "[runtime][shutdown]") {
    const rill::WaitPolicy wait = GENERATE(rill::WaitPolicy::park(), rill::WaitPolicy::spin_park());
    CAPTURE(rill::to_string(wait));
    {
        Backpressured f(wait, /*stall_at=*/100);
        rill::Run& run = *f.run;
        const auto deadline = Clock::now() + 20ms;
        const rill::StopReport report = run.stop(deadline);
        const auto returned = Clock::now();
        INFO(rill::test::describe(report));
        CHECK(returned >= deadline);  // it could not drain, so it waited for the deadline
        CHECK(returned < deadline + rill::test::deadline_slack());
        CHECK(join(report_problems(report)) == "");
        CHECK_FALSE(run.done());  // the sink is still stalled in user code

        f.log.gate.open = true;
        const auto status = run.wait_for(60s);
        REQUIRE(status);
        CHECK(*status == rill::RunStatus::cancelled);
        const rill::FlowMetrics m = run.metrics();
        INFO(rill::test::describe(m));
        CHECK(join(accounting_problems(m, f.log, /*aborted=*/true)) == "");
    }
    CHECK(Tracked::counters.live() == 0);
}

TEST_CASE("cancel() from another thread under full backpressure drops and counts what is in flight",
          "[runtime][shutdown]") {
    const rill::WaitPolicy wait = GENERATE(rill::WaitPolicy::park(), rill::WaitPolicy::spin_park());
    CAPTURE(rill::to_string(wait));
    Backpressured f(wait, /*stall_at=*/0);
    rill::Run& run = *f.run;
    // The main thread is blocked in wait() when the other thread cancels and then lets the sink go.
    std::thread canceller([&] {
        run.cancel();
        f.log.gate.open = true;
    });
    const auto status = run.wait_for(60s);
    canceller.join();
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    CHECK(run.done());
    const rill::FlowMetrics m = run.metrics();
    INFO(rill::test::describe(m));
    CHECK(join(accounting_problems(m, f.log, /*aborted=*/true)) == "");
}

TEST_CASE("stop() drains a backpressured flow in time: stopped with nothing dropped",
          "[runtime][shutdown]") {
    // The gate opens before the stop, or from another thread while stop() is waiting.
    const bool open_first = GENERATE(true, false);
    CAPTURE(open_first);
    Backpressured f(rill::WaitPolicy::park(), /*stall_at=*/1000);
    rill::Run& run = *f.run;
    std::thread opener_thread;
    if (open_first) {
        f.log.gate.open = true;
    } else {
        opener_thread = std::thread([&] { f.log.gate.open = true; });
    }
    const rill::StopReport report = run.stop(Clock::now() + 60s);
    if (opener_thread.joinable()) opener_thread.join();
    INFO(rill::test::describe(report));
    CHECK(report.drained);
    CHECK(report.in_flight.empty());
    CHECK(run.done());  // drained means the run has ended
    const auto status = run.wait_for(60s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    const rill::FlowMetrics m = run.metrics();
    INFO(rill::test::describe(m));
    CHECK(join(accounting_problems(m, f.log, /*aborted=*/false)) == "");
    CHECK(m.at("sink").out > f.log.stall_at);  // everything in flight at the stop got through
}

TEST_CASE("a stop report counts each item a stalled stage holds once", "[runtime][shutdown]") {
    // The sink has taken a batch out of its ring of 4 and is stalled on it. Whatever the report
    // calls queued in front of the sink plus what it calls in the sink are items that came
    // through that one ring or wait in the upstream's overflow, so together they are at most the
    // capacity plus one batch: an item the sink has taken must not be counted again as queued.
    Backpressured f(rill::WaitPolicy::park(), /*stall_at=*/0);
    const rill::StopReport report = f.run->stop(Clock::now() + 20ms);
    INFO(rill::test::describe(report));
    const auto* sink = entry(report, "sink");
    REQUIRE(sink != nullptr);
    CHECK(sink->in_stage >= 1);
    CHECK(sink->queued + sink->in_stage <= kCapacity);
    CHECK(sink->held_upstream <= kBatch);
}

TEST_CASE("a stop report accounts for every item the cancel then drops", "[runtime][shutdown]") {
    // After a stop that missed its deadline nothing new enters the flow: the items the cancel
    // drops were all held somewhere at the deadline (in a ring, in a stage, or emitted by a stage
    // and waiting for room downstream), so the report, which lists what each stage still held,
    // covers at least as many items as end up dropped.
    Backpressured f(rill::WaitPolicy::park(), /*stall_at=*/0);
    const rill::StopReport report = f.run->stop(Clock::now() + 20ms);
    f.log.gate.open = true;
    REQUIRE(f.run->wait_for(60s));
    const rill::FlowMetrics m = f.run->metrics();
    std::uint64_t reported = 0, dropped = 0;
    for (const auto& x : report.in_flight)
        reported += x.queued + x.held_upstream + x.in_stage;
    for (const auto& s : m.stages)
        dropped += s.dropped_on_cancel;
    INFO(rill::test::describe(report) << '\n' << rill::test::describe(m));
    CHECK(reported >= dropped);
}

TEST_CASE("a cancel() that ends a run while stop() waits for its drain is not reported as drained",
          "[runtime][shutdown]") {
    Backpressured f(rill::WaitPolicy::park(), /*stall_at=*/0);
    rill::StopReport report;
    std::thread stopper([&] { report = f.run->stop(Clock::now() + 120s); });
    // Whether the stopper is already waiting or not, the run ends by the cancel with items
    // dropped, so the report must not say it drained.
    std::this_thread::sleep_for(50ms);
    f.run->cancel();
    f.log.gate.open = true;
    stopper.join();
    REQUIRE(f.run->wait_for(60s) == rill::RunStatus::cancelled);
    const rill::FlowMetrics m = f.run->metrics();
    INFO(rill::test::describe(report) << '\n' << rill::test::describe(m));
    REQUIRE(rill::test::ledger(m).dropped > 0);
    CHECK_FALSE(report.drained);
}

TEST_CASE("shutdown under full backpressure repeated on one runtime",
          "[runtime][shutdown][stress]") {
    enum class How { stop_past_deadline, cancel_from_thread };
    const How how = GENERATE(How::stop_past_deadline, How::cancel_from_thread);
    const std::uint64_t rounds = rill::test::stress_items(400, 4);
    CAPTURE(how == How::stop_past_deadline ? "stop" : "cancel", rounds);
    SinkLog log;
    rill::Runtime runtime(two_workers());
    const auto w0 = rill::test::thread_named("shut/w0");
    REQUIRE(w0);
    // Worker 0 parks at once in one flow and after spinning and yielding in the other.
    const rill::Flow flows[2] = {make_flow(log, rill::WaitPolicy::park()),
                                 make_flow(log, rill::WaitPolicy::spin_park(256, 2))};
    for (std::uint64_t round = 0; round < rounds; ++round) {
        INFO("round " << round);
        Tracked::counters.reset();
        log.reset(/*stall_at=*/(round * 37) % 101, /*gate_open=*/false);
        rill::Run run = runtime.start(flows[round % 2]);
        rill::test::OpenOnExit opener{log.gate};
        REQUIRE(backpressure_is_full(run, log, *w0));

        std::thread canceller;
        if (how == How::stop_past_deadline) {
            const auto deadline = Clock::now() + 20ms;
            const rill::StopReport report = run.stop(deadline);
            const auto returned = Clock::now();
            INFO(rill::test::describe(report));
            REQUIRE(returned < deadline + rill::test::deadline_slack());
            REQUIRE(join(report_problems(report)) == "");
            log.gate.open = true;
        } else {
            // The main thread is in wait_for() while the other thread cancels.
            canceller = std::thread([&] {
                run.cancel();
                log.gate.open = true;
            });
        }
        const auto status = run.wait_for(60s);
        if (canceller.joinable()) canceller.join();
        REQUIRE(status);
        REQUIRE(*status == rill::RunStatus::cancelled);
        const rill::FlowMetrics m = run.metrics();
        INFO(rill::test::describe(m));
        REQUIRE(join(accounting_problems(m, log, /*aborted=*/true)) == "");
    }
}
