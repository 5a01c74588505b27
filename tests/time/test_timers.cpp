// Time in the runtime: the ManualClock, stage timers (next_timer / on_timer) fired by the worker
// at their time and never before, finish() emitting what a stage holds at end of input, a
// source's poll_interval on the runtime's clock, and a thousand timers firing while items flow.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <stdexcept>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "support/stress_config.hpp"

using namespace std::chrono_literals;
using rill::Clock;

namespace {

/// Polls cond every millisecond (real time) for up to 20 s; what it last returned.
template <class Cond>
bool eventually(Cond&& cond) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// Holds the items it gets and emits their sum 10 ms (clock time) after the first of them;
/// finish() emits what is still held.
struct SumAfter10ms {
    const Clock* clock = nullptr;
    std::uint64_t sum = 0;
    std::uint64_t held = 0;
    Clock::time_point due = Clock::time_point::max();

    void open(rill::StageContext& context) { clock = &context.clock(); }
    void operator()(std::uint64_t x, rill::Emitter<std::uint64_t>&) {
        if (held++ == 0) due = clock->now() + 10ms;
        sum += x;
    }
    [[nodiscard]] Clock::time_point next_timer() const { return due; }
    void on_timer(Clock::time_point now, rill::Emitter<std::uint64_t>& out) {
        if (now < due) throw std::logic_error("on_timer before its time");
        flush(out);
    }
    void finish(rill::Emitter<std::uint64_t>& out) {
        if (held != 0) flush(out);
    }
    void flush(rill::Emitter<std::uint64_t>& out) {
        out.emit(sum);
        sum = 0;
        held = 0;
        due = Clock::time_point::max();
    }
};

}  // namespace

TEST_CASE("ManualClock moves forward only, and says what it refused", "[time][clock]") {
    const Clock::time_point start{std::chrono::hours(5)};
    rill::ManualClock clock(start);
    CHECK(clock.now() == start);
    clock.advance(3ms);
    CHECK(clock.now() == start + 3ms);
    clock.set(start + 1s);
    CHECK(clock.now() == start + 1s);
    clock.advance(0ns);
    CHECK(clock.now() == start + 1s);
    CHECK_THROWS_WITH(clock.advance(-1ns),
                      Catch::Contains("-1 ns") && Catch::Contains("zero or more"));
    CHECK_THROWS_WITH(clock.set(start),
                      Catch::Contains("before the clock") && Catch::Contains("never goes back"));
    CHECK(clock.now() == start + 1s);
    clock.advance(Clock::duration::max());  // saturates instead of wrapping into the past
    CHECK(clock.now() == Clock::time_point::max());
    rill::ManualClock fresh(start + 1s);
    // A timer that is due needs no parking; one in the future waits for a move.
    CHECK(fresh.park_until(start + 1s) < std::chrono::steady_clock::now());
    CHECK(fresh.park_until(start + 2s) == Clock::time_point::max());
}

TEST_CASE("a stage's timer fires once the runtime's clock reaches it, never before",
          "[time][timers]") {
    const bool chained = GENERATE(true, false);
    CAPTURE(chained);
    auto clock = std::make_shared<rill::ManualClock>();
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true, .clock = clock});
    rill::Flow flow({.chain = chained});
    auto [inlet, numbers] = flow.inlet<std::uint64_t>("numbers");
    std::atomic<std::uint64_t> sums{0};
    std::atomic<std::uint64_t> total{0};
    numbers.flat_map<std::uint64_t>("sum after 10ms", SumAfter10ms{})
        .sink("sums", [&](std::uint64_t s) {
            total.fetch_add(s);
            sums.fetch_add(1);
        });
    rill::Run run = runtime.start(flow);

    for (std::uint64_t x : {1, 2, 3})
        REQUIRE(inlet.push(std::uint64_t{x}));
    REQUIRE(eventually([&] { return run.metrics().at("sum after 10ms").in == 3; }));
    clock->advance(9ms);
    std::this_thread::sleep_for(30ms);  // real time: the timer is 1 ms of clock time away
    CHECK(sums.load() == 0);
    clock->advance(1ms);
    REQUIRE(eventually([&] { return sums.load() == 1; }));
    CHECK(total.load() == 6);

    // A second window of items; end of input flushes it through finish() without a move.
    for (std::uint64_t x : {10, 20})
        REQUIRE(inlet.push(std::uint64_t{x}));
    REQUIRE(eventually([&] { return run.metrics().at("sum after 10ms").in == 5; }));
    inlet.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(sums.load() == 2);
    CHECK(total.load() == 36);
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.at("sum after 10ms").emitted == 2);
}

TEST_CASE("finish() emits what each stage holds, in stage order, through chained and ring edges",
          "[time][finish]") {
    const bool chained = GENERATE(true, false);
    const std::size_t replicas = GENERATE(1, 2);
    CAPTURE(chained, replicas);
    constexpr std::uint64_t kItems = 100'000;
    // Holds everything and emits it, doubled, at the end: the second stage's finish sees all of
    // the first's output before it runs.
    struct HoldAll {
        std::vector<std::uint64_t> held;
        void operator()(std::uint64_t x, rill::Emitter<std::uint64_t>&) { held.push_back(x); }
        void finish(rill::Emitter<std::uint64_t>& out) {
            for (std::uint64_t x : held)
                out.emit(2 * x);
            held.clear();
        }
    };
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow({.chain = chained});
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    flow.source("numbers", rill::iota<std::uint64_t>(0, kItems))
        .flat_map<std::uint64_t>("hold 1", HoldAll{}, {.replicas = replicas})
        .flat_map<std::uint64_t>("hold 2", HoldAll{})
        .sink("sum", [&](std::uint64_t x) {
            sum += x;
            ++count;
        });
    rill::Run run = runtime.start(flow);
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(count == kItems);
    CHECK(sum == 4 * (kItems * (kItems - 1) / 2));
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.sum("hold 1").emitted == kItems);
    CHECK(m.at("hold 2").emitted == kItems);
}

TEST_CASE("an exception from on_timer or finish fails the run, naming the stage",
          "[time][errors]") {
    const bool in_finish = GENERATE(false, true);
    CAPTURE(in_finish);
    struct Throws {
        bool in_finish = false;
        bool armed = false;
        void operator()(std::uint64_t, rill::Emitter<std::uint64_t>&) { armed = true; }
        [[nodiscard]] Clock::time_point next_timer() const {
            return armed && !in_finish ? Clock::time_point::min() : Clock::time_point::max();
        }
        void on_timer(Clock::time_point, rill::Emitter<std::uint64_t>&) {
            throw std::runtime_error("timer broke");
        }
        void finish(rill::Emitter<std::uint64_t>&) {
            if (in_finish) throw std::runtime_error("finish broke");
        }
    };
    rill::Runtime runtime({.workers = 1});
    rill::Flow flow;
    auto [inlet, numbers] = flow.inlet<std::uint64_t>("numbers");
    numbers
        .flat_map<std::uint64_t>("fragile", Throws{.in_finish = in_finish},
                                 {.on_error = rill::ErrorPolicy::skip()})
        .sink("sink", [](std::uint64_t) {});
    rill::Run run = runtime.start(flow);
    REQUIRE(inlet.push(std::uint64_t{1}));
    // The timer fails the run before the input ends; finish() runs at the end of the input.
    if (in_finish) inlet.close();
    CHECK_THROWS_WITH(run.wait(), Catch::Contains("fragile") &&
                                      Catch::Contains(in_finish ? "finish broke" : "timer broke"));
}

TEST_CASE("poll_interval paces an idle source on the runtime's clock", "[time][sources]") {
    auto clock = std::make_shared<rill::ManualClock>();
    rill::Runtime runtime({.workers = 1, .clock = clock});
    struct Idle {
        using value_type = int;
        std::atomic<int>* polls;
        rill::SourceStatus poll(rill::Emitter<int>&, std::size_t) {
            polls->fetch_add(1);
            return rill::SourceStatus::idle;
        }
    };
    std::atomic<int> polls{0};
    rill::Flow flow;
    flow.source("idle", Idle{&polls}, {.poll_interval = 10ms}).sink("sink", [](int) {});
    rill::Run run = runtime.start(flow);
    REQUIRE(eventually([&] { return polls.load() == 1; }));
    std::this_thread::sleep_for(30ms);  // real time passes, clock time does not
    CHECK(polls.load() == 1);
    clock->advance(9ms);
    std::this_thread::sleep_for(10ms);
    CHECK(polls.load() == 1);
    clock->advance(1ms);
    REQUIRE(eventually([&] { return polls.load() == 2; }));
    run.cancel();
    CHECK(run.wait() == rill::RunStatus::cancelled);
}

TEST_CASE("a thousand timers fire at or after their time while items flow", "[time][stress]") {
    // Each replica keeps up to 1,000 pending timers in its own heap (the runtime keeps one
    // deadline per stage: the nearest) and emits each item when its timer fires, 0-2 ms after
    // it arrived; finish() emits the ones still pending. The source trickles (16 items per
    // 50 us poll) so that timers come due while items flow. Every item comes out exactly once.
    const std::uint64_t items = rill::test::stress_items(200'000, 20);
    struct Trickle {
        using value_type = std::uint64_t;
        std::uint64_t next = 0;
        std::uint64_t end = 0;
        rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
            for (int i = 0; i < 16 && next != end; ++i)
                out.emit(next++);
            return next == end ? rill::SourceStatus::done : rill::SourceStatus::idle;
        }
    };
    struct Delay {
        const Clock* clock = nullptr;
        std::uint64_t seed = 1;
        using Entry = std::pair<Clock::time_point, std::uint64_t>;
        std::priority_queue<Entry, std::vector<Entry>, std::greater<>> pending{};
        std::uint64_t early = 0;
        std::vector<std::uint64_t>* fired_all = nullptr;  // items emitted by on_timer, per replica
        std::uint64_t* fired = nullptr;                   // this replica's

        void open(rill::StageContext& context) {
            clock = &context.clock();
            fired = &(*fired_all)[context.replica()];
            std::vector<Entry> storage;
            storage.reserve(1024);
            pending = decltype(pending)(std::greater<>(), std::move(storage));
        }
        void operator()(std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
            if (pending.size() >= 1000) {  // full: the oldest goes out now
                out.emit(pending.top().second);
                pending.pop();
            }
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            pending.emplace(clock->now() + std::chrono::microseconds((seed >> 33) % 2000), x);
        }
        [[nodiscard]] Clock::time_point next_timer() const {
            return pending.empty() ? Clock::time_point::max() : pending.top().first;
        }
        void on_timer(Clock::time_point now, rill::Emitter<std::uint64_t>& out) {
            if (pending.empty() || pending.top().first > now) ++early;
            while (!pending.empty() && pending.top().first <= now) {
                out.emit(pending.top().second);
                pending.pop();
                ++*fired;
            }
        }
        void finish(rill::Emitter<std::uint64_t>& out) {
            if (early != 0) throw std::logic_error(std::to_string(early) + " early on_timer calls");
            for (; !pending.empty(); pending.pop())
                out.emit(pending.top().second);
        }
    };
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow;
    std::vector<std::uint8_t> seen(items, 0);
    std::uint64_t duplicates = 0;
    std::vector<std::uint64_t> fired(2, 0);  // per replica: no sharing between workers
    flow.source("numbers", Trickle{.end = items}, {.poll_interval = 50us})
        .flat_map<std::uint64_t>("delay", Delay{.fired_all = &fired}, {.replicas = 2})
        .sink("ledger", [&](std::uint64_t x) {
            if (seen[x]++ != 0) ++duplicates;
        });
    rill::Run run = runtime.start(flow);
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(duplicates == 0);
    CHECK(std::count(seen.begin(), seen.end(), 0) == 0);
    INFO("items emitted by on_timer per replica: " << fired[0] << ", " << fired[1]);
    CHECK(fired[0] + fired[1] > items / 2);
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.sum("delay").emitted == items);
}
