// Watermarks in-band: an event_time stage's watermarks reach the sink in order with the items
// through chained and ring edges, replicas (ordered or not, keyed or not), broadcast and merge:
// no item arrives behind a watermark that came before it, watermarks never go back, and the
// last one reaches what the timestamps promise. A quiet merge input holds event time back until
// it has been idle for idle_after, and no longer. Bad options are refused by name.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"

using namespace std::chrono_literals;
using rill::Clock;

namespace {

struct Event {
    std::uint64_t seq = 0;
    Clock::time_point ts;
};

Clock::time_point timestamp_of(const Event& e) {
    return e.ts;
}

/// seq 0..n-1 with timestamps t0 + 10 ns * seq, each up to `disorder` earlier: never more than
/// `disorder` behind the newest before it, so none is late for max_out_of_order = disorder.
std::vector<Event> events(std::uint64_t n, Clock::duration disorder, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Event> out(n);
    const Clock::time_point t0 = Clock::time_point{} + 1h;
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto back = Clock::duration(static_cast<Clock::duration::rep>(
            rng() % static_cast<std::uint64_t>(disorder.count() + 1)));
        out[i] = {i, t0 + i * 10ns - back};
    }
    return out;
}

/// What a sink saw: items behind the watermark before them, watermarks that went back, the last
/// watermark and the items.
struct Seen {
    std::mutex mutex;
    std::uint64_t items = 0;
    std::uint64_t behind = 0;
    std::uint64_t went_back = 0;
    std::uint64_t watermarks = 0;
    Clock::time_point last = Clock::time_point::min();
    bool idle = false;
};

/// A sink stage object checking the order of items and watermarks.
struct Check {
    std::shared_ptr<Seen> seen;
    void operator()(const Event& e) {
        std::lock_guard lock(seen->mutex);
        ++seen->items;
        if (e.ts < seen->last) ++seen->behind;
    }
    void on_watermark(rill::Watermark w) {
        std::lock_guard lock(seen->mutex);
        if (w.time < seen->last) ++seen->went_back;
        seen->last = std::max(seen->last, w.time);
        seen->idle = w.idle;
        ++seen->watermarks;
    }
};

Clock::time_point newest(const std::vector<Event>& items) {
    Clock::time_point t = Clock::time_point::min();
    for (const Event& e : items)
        t = std::max(t, e.ts);
    return t;
}

enum class Shape { chained, ring, replicas, ordered, keyed, broadcast, merge };

}  // namespace

TEST_CASE("watermarks reach the sink in order with the items, through every shape",
          "[time][watermark]") {
    const Shape shape = GENERATE(Shape::chained, Shape::ring, Shape::replicas, Shape::ordered,
                                 Shape::keyed, Shape::broadcast, Shape::merge);
    const std::size_t batch = GENERATE(1, 64);
    CAPTURE(static_cast<int>(shape), batch);
    constexpr Clock::duration disorder = 500ns;
    const std::vector<Event> a = events(100'000, disorder, 1);
    const std::vector<Event> b = events(60'000, disorder, 2);

    rill::Runtime runtime({.workers = 2});
    rill::Flow flow({.capacity = 256, .batch = batch, .chain = shape != Shape::ring});
    auto seen = std::make_shared<Seen>();
    auto second = std::make_shared<Seen>();
    const rill::EventTimeOptions time{.max_out_of_order = disorder};
    auto timed = flow.source("a", a).event_time("a.time", timestamp_of, time);
    const auto identity = [](Event e) { return e; };
    switch (shape) {
        case Shape::chained:
        case Shape::ring:
            timed.map("m", identity).sink("out", Check{seen});
            break;
        case Shape::replicas:
            timed.map("m", identity, {.replicas = 2}).sink("out", Check{seen});
            break;
        case Shape::ordered:
            timed.map("m", identity, {.replicas = 2, .ordered = true}).sink("out", Check{seen});
            break;
        case Shape::keyed:
            timed.key_by([](const Event& e) { return e.seq % 13; })
                .map("m", identity, {.replicas = 2})
                .sink("out", Check{seen});
            break;
        case Shape::broadcast:
            timed.sink("out", Check{seen});
            timed.map("m", identity).sink("out2", Check{second});
            break;
        case Shape::merge:
            rill::merge("merge", timed,
                        flow.source("b", b).event_time("b.time", timestamp_of, time))
                .sink("out", Check{seen});
            break;
    }
    auto run = runtime.start(flow);
    REQUIRE(run.wait() == rill::RunStatus::completed);

    const std::uint64_t items = a.size() + (shape == Shape::merge ? b.size() : 0);
    for (const auto& s : {seen, second}) {
        if (s == second && shape != Shape::broadcast) continue;
        CHECK(s->items == items);
        CHECK(s->behind == 0);
        CHECK(s->went_back == 0);
        CHECK(s->watermarks > 0);
        // The last watermark is what the newest timestamp promises; behind a merge, that of the
        // stream that ended last (one that ended stops counting).
        if (shape == Shape::merge) {
            CHECK(s->last >= newest(b) - disorder);
            CHECK(s->last <= newest(a) - disorder);
        } else {
            CHECK(s->last == newest(a) - disorder);
        }
        CHECK_FALSE(s->idle);
    }
    CHECK(run.metrics().balanced());
}

TEST_CASE("a full side channel of watermarks never stalls the flow", "[time][watermark]") {
    // Batch 1: a watermark after every item, so the side rings (64 marks) fill long before the
    // item rings (1,024) whenever the consumer falls behind: a slow stage behind a ring, on one
    // worker (no wake-ups, progress only) or two, into a merge (a fan-in) or not.
    const unsigned workers = GENERATE(1u, 2u);
    const bool merged = GENERATE(false, true);
    CAPTURE(workers, merged);
    const std::vector<Event> a = events(20'000, 0ns, 3);
    rill::Runtime runtime({.workers = workers});
    rill::Flow flow({.capacity = 1024, .batch = 1, .chain = false});
    auto seen = std::make_shared<Seen>();
    auto timed = flow.source("a", a).event_time("a.time", timestamp_of);
    const auto slow = [](Event e) {
        const auto until = std::chrono::steady_clock::now() + 200ns;
        while (std::chrono::steady_clock::now() < until) {
        }
        return e;
    };
    if (merged) {
        rill::merge("merge", timed, flow.source("b", a).event_time("b.time", timestamp_of))
            .map("slow", slow)
            .sink("out", Check{seen});
    } else {
        timed.map("slow", slow).sink("out", Check{seen});
    }
    auto run = runtime.start(flow);
    REQUIRE(run.wait_for(120s) == rill::RunStatus::completed);
    CHECK(seen->items == a.size() * (merged ? 2 : 1));
    CHECK(seen->went_back == 0);
    if (!merged) CHECK(seen->behind == 0);
    CHECK(seen->last == newest(a));
}

TEST_CASE("a quiet merge input holds event time back until it is idle", "[time][watermark]") {
    auto clock = std::make_shared<rill::ManualClock>();
    rill::Runtime runtime({.workers = 2, .clock = clock});
    rill::Flow flow;
    auto [busy, busy_stream] = flow.inlet<Event>("busy");
    auto [quiet, quiet_stream] = flow.inlet<Event>("quiet");
    auto seen = std::make_shared<Seen>();
    const rill::EventTimeOptions time{.max_out_of_order = 1ms, .idle_after = 50ms};
    rill::merge("merge", busy_stream.event_time("busy.time", timestamp_of, time),
                quiet_stream.event_time("quiet.time", timestamp_of, time))
        .sink("out", Check{seen});
    auto run = runtime.start(flow);
    const auto last = [&] {
        std::lock_guard lock(seen->mutex);
        return std::pair{seen->last, seen->idle};
    };
    const auto eventually = [](auto&& cond) {
        const auto give_up = std::chrono::steady_clock::now() + 20s;
        while (!cond()) {
            if (std::chrono::steady_clock::now() > give_up) return false;
            std::this_thread::sleep_for(100us);
        }
        return true;
    };
    const Clock::time_point t0 = Clock::time_point{} + 2h;

    // Both inputs speak: the minimum holds.
    REQUIRE(quiet.push(Event{0, t0 + 5ms}));
    for (std::uint64_t i = 0; i < 100; ++i)
        REQUIRE(busy.push(Event{i, t0 + i * 1ms}));
    CHECK(eventually([&] { return last().first == t0 + 4ms; }));  // quiet's 5 ms - 1 ms

    // Quiet stays quiet while busy goes on: before idle_after the watermark stays; after it,
    // busy's alone counts.
    clock->advance(49ms);
    for (std::uint64_t i = 100; i < 110; ++i)
        REQUIRE(busy.push(Event{i, t0 + i * 1ms}));
    REQUIRE(eventually([&] {
        std::lock_guard lock(seen->mutex);
        return seen->items == 111;
    }));
    CHECK(last().first == t0 + 4ms);
    clock->advance(1ms);  // quiet's last item was 50 ms ago, busy's 1 ms
    CHECK(eventually([&] { return last().first == t0 + 108ms; }));  // busy's 109 ms - 1 ms
    CHECK_FALSE(last().second);

    // Quiet speaks again, far behind: it counts again, but the watermark never goes back.
    REQUIRE(quiet.push(Event{1, t0 + 10ms}));
    REQUIRE(eventually([&] {  // quiet's item is through the merge: quiet counts again
        std::lock_guard lock(seen->mutex);
        return seen->items == 112;
    }));
    REQUIRE(busy.push(Event{100, t0 + 150ms}));
    REQUIRE(eventually([&] {
        std::lock_guard lock(seen->mutex);
        return seen->items == 113;
    }));
    std::this_thread::sleep_for(20ms);
    CHECK(last().first == t0 + 108ms);  // held by quiet's 9 ms, not moved back to it

    // Both go quiet: the merged stream says it is idle.
    clock->advance(50ms);
    CHECK(eventually([&] { return last().second; }));
    busy.close();
    quiet.close();
    REQUIRE(run.wait() == rill::RunStatus::completed);
    CHECK(seen->went_back == 0);
    CHECK(seen->behind == 1);  // quiet's late item at 10 ms, after the 108 ms watermark
    CHECK(run.metrics().balanced());
}

TEST_CASE("event_time options are checked by name", "[time][watermark][errors]") {
    rill::Flow flow;
    auto s = flow.source("gen", std::vector<Event>{});
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(s.event_time("t", timestamp_of, {.max_out_of_order = -1ns}),
                      Contains("'t'") && Contains("max_out_of_order -1ns is negative"));
    CHECK_THROWS_WITH(s.event_time("u", timestamp_of, {.idle_after = 0ns}),
                      Contains("'u'") && Contains("idle_after 0ns is not positive"));
    CHECK(flow.stage_count() == 1);
}
