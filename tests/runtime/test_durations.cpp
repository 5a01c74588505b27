// Every duration and deadline the API takes, at its extremes: max() means "no deadline" (wait
// however long it takes), and min(), zero or a negative value mean "now" (look, do not wait). None
// overflows into the opposite meaning.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

/// Timeouts that mean "now", each of another duration type; and those that mean "forever".
struct Timeout {
    std::string name;
    std::function<std::optional<rill::RunStatus>(rill::Run&)> wait_for;
    std::function<rill::StopReport(rill::Run&)> stop;
    std::function<bool(rill::EventCount&, rill::EventCount::Key)> event_wait_for;
};

template <class D>
Timeout timeout(std::string name, D d) {
    return {std::move(name), [d](rill::Run& run) { return run.wait_for(d); },
            [d](rill::Run& run) { return run.stop(d); },
            [d](rill::EventCount& ec, rill::EventCount::Key key) { return ec.wait_for(key, d); }};
}

std::vector<Timeout> now_timeouts() {
    return {timeout("nanoseconds::min()", std::chrono::nanoseconds::min()),
            timeout("hours::min()", std::chrono::hours::min()),
            timeout("zero seconds", 0s),
            timeout("-5 ms", -5ms),
            timeout("duration<double>(-1.5)", std::chrono::duration<double>(-1.5)),
            timeout("duration<double>::lowest()", std::chrono::duration<double>::min())};
}

std::vector<Timeout> forever_timeouts() {
    return {timeout("nanoseconds::max()", std::chrono::nanoseconds::max()),
            timeout("hours::max()", std::chrono::hours::max()),
            timeout("duration<double>::max()", std::chrono::duration<double>::max()),
            timeout("years(100000)", std::chrono::years(100000))};
}

/// A flow whose sink holds its first item at a gate until the test opens it.
struct GatedRun {
    rill::Runtime runtime{{.workers = 2, .allow_oversubscription = true}};
    rill::test::Gate gate;
    std::atomic<std::uint64_t> seen{0};
    rill::Run run;

    explicit GatedRun(std::uint64_t items = 100) : run(start(items)) {}

    rill::Run start(std::uint64_t items) {
        gate.open = false;
        rill::Flow flow({.capacity = 64, .batch = 8});
        flow.source("numbers", rill::iota<std::uint64_t>(0, items))
            .sink("gated", [this](std::uint64_t) {
                gate.pass();
                seen.fetch_add(1);
            });
        return runtime.start(flow);
    }
    void open_later(std::chrono::milliseconds after) {
        std::thread([this, after] {
            std::this_thread::sleep_for(after);
            gate.open.store(true, std::memory_order_release);
        }).detach();
    }
};

}  // namespace

TEST_CASE("Run::wait_for: a timeout <= 0 only looks, one too long to represent waits",
          "[runtime][durations]") {
    for (const Timeout& t : now_timeouts()) {
        CAPTURE(t.name);
        GatedRun g;
        rill::test::OpenOnExit open{g.gate};
        REQUIRE(rill::test::eventually([&] { return g.gate.someone_waiting.load(); }));
        CHECK_FALSE(t.wait_for(g.run).has_value());  // held at the gate: still going
    }
    for (const Timeout& t : forever_timeouts()) {
        CAPTURE(t.name);
        GatedRun g(10);
        rill::test::OpenOnExit open{g.gate};
        g.open_later(200ms);
        const std::optional<rill::RunStatus> status = t.wait_for(g.run);
        REQUIRE(status.has_value());  // it waited for the gate instead of returning at once
        CHECK(*status == rill::RunStatus::completed);
        CHECK(g.seen.load() == 10);
    }
}

TEST_CASE("Run::stop: a timeout <= 0 reports and cancels at once, one too long drains fully",
          "[runtime][durations]") {
    for (const Timeout& t : now_timeouts()) {
        CAPTURE(t.name);
        GatedRun g;
        rill::test::OpenOnExit open{g.gate};
        REQUIRE(rill::test::eventually([&] { return g.gate.someone_waiting.load(); }));
        const rill::StopReport report = t.stop(g.run);
        CHECK_FALSE(report.drained);
        CHECK_FALSE(report.in_flight.empty());
        g.gate.open.store(true, std::memory_order_release);
        CHECK(g.run.wait() == rill::RunStatus::cancelled);
        CHECK(g.run.metrics().balanced());
    }
    for (const Timeout& t : forever_timeouts()) {
        CAPTURE(t.name);
        GatedRun g(10);
        rill::test::OpenOnExit open{g.gate};
        REQUIRE(rill::test::eventually([&] { return g.gate.someone_waiting.load(); }));
        g.open_later(200ms);
        const rill::StopReport report = t.stop(g.run);
        CHECK(report.drained);
        CHECK(report.in_flight.empty());
        CHECK(g.run.wait() == rill::RunStatus::stopped);
        const rill::FlowMetrics m = g.run.metrics();
        CHECK(m.balanced());
        CHECK(m.at("gated").dropped_on_cancel == 0);
        CHECK(m.at("gated").out == g.seen.load());
    }
}

TEST_CASE("StartOptions::deadline at time_point::min() cancels at once, max() never",
          "[runtime][durations]") {
    rill::Runtime runtime({.workers = 1});
    rill::Flow endless;
    endless.source("endless", rill::test::EndlessSource<std::uint64_t>{})
        .sink("drop", [](std::uint64_t) {});
    rill::Run past = runtime.start(endless, {.deadline = Clock::time_point::min()});
    CHECK(past.wait_for(60s) == rill::RunStatus::deadline_exceeded);

    rill::Flow finite;
    finite.source("numbers", rill::iota<std::uint64_t>(0, 1000)).sink("drop", [](std::uint64_t) {});
    rill::Run never = runtime.start(finite, {.deadline = Clock::time_point::max()});
    CHECK(never.wait() == rill::RunStatus::completed);
}

TEST_CASE("EventCount::wait_for: a timeout <= 0 does not sleep, one too long waits for a notify",
          "[wait][durations]") {
    rill::EventCount ec;
    for (const Timeout& t : now_timeouts()) {
        CAPTURE(t.name);
        CHECK_FALSE(t.event_wait_for(ec, ec.prepare_wait()));
    }
    for (const Timeout& t : forever_timeouts()) {
        CAPTURE(t.name);
        const rill::EventCount::Key key = ec.prepare_wait();
        std::thread notifier([&] {
            std::this_thread::sleep_for(50ms);
            ec.notify_all();
        });
        CHECK(t.event_wait_for(ec, key));
        notifier.join();
    }
}

TEST_CASE("deadlines at time_point::min() and max(): inlet push, pool acquire, Waiter",
          "[wait][durations]") {
    constexpr auto kPast = Clock::time_point::min();
    SECTION("Inlet::push_until") {
        rill::Runtime runtime({.workers = 1});
        rill::Flow flow;
        auto io = flow.inlet<int>("in", {.capacity = 1});
        io.stream.sink("drop", [](int) {});
        // Not started: nothing drains the inlet, so it is full after one item.
        CHECK(io.inlet.push_until(1, kPast));  // room: a past deadline does not matter
        CHECK_FALSE(io.inlet.push_until(2, kPast));
        io.inlet.close();
        CHECK_FALSE(io.inlet.push_until(3, Clock::time_point::max()));  // closed: no wait
    }
    SECTION("ObjectPool::acquire") {
        rill::ObjectPool<int> pool({.capacity = 1});
        rill::Pooled<int> held = pool.acquire(rill::WaitPolicy::spin_park(), kPast);
        CHECK(held);
        CHECK_FALSE(pool.acquire(rill::WaitPolicy::spin_park(), kPast));
    }
    SECTION("Waiter::wait") {
        rill::EventCount ec;
        rill::Waiter waiter(rill::WaitPolicy::spin_park(16, 2));
        CHECK_FALSE(waiter.wait(
            ec, [] { return false; }, kPast));
        CHECK(waiter.wait(
            ec, [] { return true; }, kPast));
    }
}

TEST_CASE("Service calls: a timeout <= 0 times out at once, one too long waits for the answer",
          "[service][durations]") {
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow;
    rill::test::Gate gate;
    rill::test::OpenOnExit open{gate};
    // Not a structured binding: Clang 14 cannot capture one in a lambda.
    rill::ServiceEntry<int, int> entry = flow.service<int, int>("double", {.max_in_flight = 16});
    rill::Service<int, int>& service = entry.service;
    entry.requests
        .map("gated",
             [&gate](int x) {
                 gate.pass();
                 return 2 * x;
             })
        .respond("answer");
    rill::Run run = runtime.start(flow);
    gate.open = false;
    const auto expect_timeout = [&](auto d) {
        rill::Reply<int> reply = service.call(1, d);
        try {
            static_cast<void>(reply.get());
            FAIL("a call with a timeout <= 0 was answered through a closed gate");
        } catch (const rill::CallError& e) {
            CHECK(e.kind() == rill::CallError::Kind::timeout);
        }
    };
    expect_timeout(std::chrono::nanoseconds::min());
    expect_timeout(std::chrono::hours::min());
    expect_timeout(0s);
    expect_timeout(-1ms);
    std::thread opener([&gate] {
        std::this_thread::sleep_for(200ms);
        gate.open.store(true, std::memory_order_release);
    });
    CHECK(service.call(21, std::chrono::hours::max()).get() == 42);
    CHECK(service.call(5, std::chrono::nanoseconds::max()).get() == 10);
    opener.join();
    service.close();
    CHECK(run.wait() == rill::RunStatus::completed);
}

namespace {

/// A polling source that emits one item per poll and then says it is idle, counting its polls.
struct OneThenIdle {
    using value_type = std::uint64_t;
    std::shared_ptr<std::atomic<std::uint64_t>> polls =
        std::make_shared<std::atomic<std::uint64_t>>();
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
        out.emit(polls->fetch_add(1));
        return rill::SourceStatus::idle;
    }
};

}  // namespace

TEST_CASE("poll_interval: max() polls an idle source no more, negative values are refused",
          "[runtime][durations]") {
    rill::Runtime runtime({.workers = 1});
    OneThenIdle source;
    rill::Flow flow;
    flow.source("idle", source, {.poll_interval = std::chrono::microseconds::max()})
        .sink("drop", [](std::uint64_t) {});
    rill::Run run = runtime.start(flow);
    REQUIRE(rill::test::eventually([&] { return source.polls->load() >= 1; }));
    // The worker parks instead of spinning on the source: over 300 ms, still the one poll.
    const pid_t worker = rill::test::thread_named("rill/w0").value_or(0);
    CHECK(rill::test::parks(worker));
    std::this_thread::sleep_for(300ms);
    CHECK(source.polls->load() == 1);
    // A stop still ends the run: the source is told by the drain, not by a poll.
    CHECK(run.stop(60s).drained);
    CHECK(run.wait() == rill::RunStatus::stopped);

    for (const auto bad : {std::chrono::microseconds::min(), std::chrono::microseconds(-1)}) {
        rill::Flow f;
        CHECK_THROWS_WITH(f.source("idle", OneThenIdle{}, {.poll_interval = bad}),
                          Catch::Matchers::Contains("poll_interval " + std::to_string(bad.count()) +
                                                    "us is negative"));
    }
}

TEST_CASE("SignalStop: a drain timeout <= 0 cancels on the signal, max() drains fully",
          "[runtime][durations][signals]") {
    for (const auto drain : {std::chrono::milliseconds::min(), std::chrono::milliseconds(0),
                             std::chrono::milliseconds(-10), std::chrono::milliseconds::max()}) {
        CAPTURE(drain.count());
        const bool forever = drain == std::chrono::milliseconds::max();
        // 100 items at 10 ms each: a drain takes a second, far longer than a cancel.
        rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
        rill::Flow flow({.capacity = 128, .batch = 8});
        std::atomic<std::uint64_t> seen{0};
        flow.source("numbers", rill::iota<std::uint64_t>(0, 100))
            .sink("slow", [&seen](std::uint64_t) {
                std::this_thread::sleep_for(10ms);
                seen.fetch_add(1);
            });
        rill::Run run = runtime.start(flow);
        REQUIRE(rill::test::eventually([&] { return seen.load() >= 1; }));
        rill::SignalStop on_signal(run, drain, {SIGUSR2});
        REQUIRE(raise(SIGUSR2) == 0);
        const rill::RunStatus status = run.wait();
        CHECK(status == (forever ? rill::RunStatus::stopped : rill::RunStatus::cancelled));
        const rill::FlowMetrics m = run.metrics();
        CHECK(m.balanced());
        if (forever) CHECK(seen.load() == 100);
        if (!forever) CHECK(m.at("slow").dropped_on_cancel > 0);
    }
}
