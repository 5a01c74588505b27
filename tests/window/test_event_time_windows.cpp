// Windows on event time against the references of window_reference.hpp (incremental aggregations,
// top-k and a whole-window function), on seeded random streams
// whose timestamps arrive out of order (never later than the watermark allows), through chained,
// ring, replicas + key_by, broadcast and merge shapes; lateness item by item (a late item within
// allowed_lateness fires its window again, one beyond it goes to late_items() and is counted);
// bounds and bad specs refused by name; cancel keeping the accounting.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "rill/rill.hpp"
#include "window/window_reference.hpp"

using namespace std::chrono_literals;
using rill::Clock;
using namespace window_test;

namespace {

constexpr Clock::time_point kT0 = Clock::time_point{} + 1h;

/// Timestamps that advance 0 to 19 ns per item, each up to `disorder` behind: none behind the
/// newest before it by more than `disorder`, so none is late for max_out_of_order = disorder.
std::vector<Timed> out_of_order(std::size_t n, std::uint32_t keys, Clock::duration disorder,
                                std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Timed> items(n);
    Clock::time_point base = kT0;
    for (Timed& x : items) {
        base += Clock::duration(rng() % 20);
        const auto back = Clock::duration(static_cast<Clock::duration::rep>(
            rng() % static_cast<std::uint64_t>(disorder.count() + 1)));
        x = {base - back, {static_cast<std::uint32_t>(rng() % keys), rng() % 1'000'000}};
    }
    return items;
}

Clock::time_point time_of(const Timed& x) {
    return x.t;
}
std::uint32_t key_of(const Timed& x) {
    return x.r.key;
}
std::uint64_t value_of(const Timed& x) {
    return x.r.value;
}

/// A whole-window function: the largest item less the smallest.
struct Spread {
    std::uint64_t operator()(std::span<const std::uint64_t> xs) const {
        if (xs.empty()) return 0;
        const auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
        return *hi - *lo;
    }
};

enum class Kind { tumbling, sliding, session };
enum class Shape { chained, ring, replicas, broadcast, merge };

constexpr Clock::duration kSize = 50us;
constexpr Clock::duration kSlide = 20us;
constexpr Clock::duration kGap = 3us;
constexpr Clock::duration kDisorder = 1us;

template <class Inner>
auto reference(Kind kind, std::vector<Timed> items, bool keyed) {
    if (!keyed) {
        for (Timed& x : items)
            x.r.key = 0;
    }
    const rill::agg::On<std::uint64_t Reading::*, Inner> a{&Reading::value, {}};
    switch (kind) {
        case Kind::tumbling:
            return reference_tumbling(items, kSize, a);
        case Kind::sliding:
            return reference_sliding(items, kSize, kSlide, a);
        case Kind::session:
            // Sessions follow time, not arrival.
            std::stable_sort(items.begin(), items.end(),
                             [](const Timed& x, const Timed& y) { return x.t < y.t; });
            return reference_session(items, kGap, a);
    }
    throw std::logic_error("unreachable");
}

}  // namespace

TEMPLATE_TEST_CASE("event-time windows match the reference through every shape",
                   "[window][event_time]", rill::agg::Sum<std::uint64_t>,
                   rill::agg::Max<std::uint64_t>, (rill::agg::TopK<std::uint64_t, 3>),
                   (rill::agg::WholeWindow<std::uint64_t, Spread>)) {
    const auto kind = GENERATE(Kind::tumbling, Kind::sliding, Kind::session);
    const auto shape =
        GENERATE(Shape::chained, Shape::ring, Shape::replicas, Shape::broadcast, Shape::merge);
    CAPTURE(static_cast<int>(kind), static_cast<int>(shape));
    const bool keyed = shape == Shape::replicas || shape == Shape::merge;
    const std::vector<Timed> items =
        out_of_order(100'000, 257, kDisorder,
                     11 + static_cast<unsigned>(kind) * 7 + static_cast<unsigned>(shape));
    const auto agg = rill::agg::on(value_of, TestType{});
    using V = rill::aggregation_result_t<decltype(agg), Timed>;

    rill::Runtime runtime({.workers = 2});
    rill::Flow flow({.chain = shape != Shape::ring});
    Collector<rill::Windowed<V, std::uint32_t>> keyed_out;
    Collector<rill::Windowed<V>> plain_out;
    Collector<rill::Windowed<V>> second_out;  // broadcast: a second window on the same stream
    const rill::EventTimeOptions time{.max_out_of_order = kDisorder};
    const auto build = [&](auto spec) {
        const auto on_time = rill::by_event_time(spec, time_of);
        const rill::StageOptions pinned{.worker = 0};
        switch (shape) {
            case Shape::chained:
            case Shape::ring:
                flow.source("gen", items, pinned)
                    .event_time("time", time_of, time, pinned)
                    .window("w", on_time, agg, pinned)
                    .sink("out", plain_out.sink());
                break;
            case Shape::replicas:
                flow.source("gen", items)
                    .event_time("time", time_of, time)
                    .key_by(key_of)
                    .window("w", on_time, agg, {.replicas = 2})
                    .sink("out", keyed_out.sink());
                break;
            case Shape::broadcast: {
                auto s = flow.source("gen", items).event_time("time", time_of, time);
                s.window("w", on_time, agg).sink("out", plain_out.sink());
                s.window("w2", on_time, agg).sink("out2", second_out.sink());
                break;
            }
            case Shape::merge: {
                // Odd keys from one source, even from the other, each with its own event time.
                std::vector<Timed> odd, even;
                for (const Timed& x : items)
                    (x.r.key % 2 != 0 ? odd : even).push_back(x);
                auto merged = rill::merge(
                    "merge",
                    flow.source("odd", std::move(odd)).event_time("odd-time", time_of, time),
                    flow.source("even", std::move(even)).event_time("even-time", time_of, time));
                merged.key_by(key_of)
                    .window("w", on_time, agg, {.replicas = 2})
                    .sink("out", keyed_out.sink());
                break;
            }
        }
    };
    switch (kind) {
        case Kind::tumbling:
            build(rill::tumbling_window(kSize));
            break;
        case Kind::sliding:
            build(rill::sliding_window(kSize, kSlide));
            break;
        case Kind::session:
            build(rill::session_window(kGap));
            break;
    }
    auto run = runtime.start(flow);
    REQUIRE(run.wait() == rill::RunStatus::completed);

    const auto expected = reference<TestType>(kind, items, keyed);
    CHECK(difference(keyed ? keyed_out.rows : plain_out.rows, expected) == "");
    if (shape == Shape::broadcast) CHECK(difference(second_out.rows, expected) == "");
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    const rill::StageMetrics w = m.sum("w");
    CHECK(w.in == items.size());
    CHECK(w.out == items.size());
    CHECK(w.late == 0);
    CHECK(w.in_windows == 0);
}

namespace {

/// A chained flow fed one item at a time, so that the watermark after each item is its newest
/// timestamp (max_out_of_order 0): lateness is then exact.
struct OneByOne {
    rill::Runtime runtime{{.workers = 1}};
    rill::Flow flow;
    rill::InletStream<Timed> input = flow.inlet<Timed>("in");
    Collector<rill::Windowed<std::uint64_t>> windows;
    std::mutex late_mutex;
    std::vector<Timed> late;
    std::uint64_t pushed = 0;

    template <class Spec>
    void build(Spec spec, Clock::duration lateness) {
        auto w =
            input.stream.event_time("time", time_of)
                .window("w", rill::by_event_time(spec, time_of, {.allowed_lateness = lateness}),
                        rill::agg::on(value_of, rill::agg::Sum<std::uint64_t>{}));
        w.sink("out", windows.sink());
        w.late_items("late").sink("late-out", [this](Timed x) {
            std::lock_guard lock(late_mutex);
            late.push_back(x);
        });
    }
    void push(rill::Run& run, Clock::duration t, std::uint64_t value) {
        REQUIRE(input.inlet.push(Timed{kT0 + t, {0, value}}));
        ++pushed;
        REQUIRE(eventually([&] { return run.metrics().at("w").in == pushed; }));
    }
    using W = rill::Windowed<std::uint64_t>;
    [[nodiscard]] std::vector<Row<Clock::time_point, std::uint64_t>> rows() {
        std::lock_guard lock(windows.mutex);
        return windows.rows[0];
    }
    static Row<Clock::time_point, std::uint64_t> row(Clock::duration start, Clock::duration end,
                                                     std::uint64_t value) {
        return {kT0 + start, kT0 + end, value};
    }
    void close() { input.inlet.close(); }
};

}  // namespace

TEST_CASE(
    "a late item within allowed_lateness fires its window again; beyond, it goes to "
    "late_items",
    "[window][event_time][late]") {
    OneByOne f;
    SECTION("tumbling") {
        f.build(rill::tumbling_window(10ms), 5ms);
        auto run = f.runtime.start(f.flow);
        f.push(run, 1ms, 1);
        f.push(run, 12ms, 2);  // watermark 12 ms: [0, 10) fires
        CHECK(f.rows() == std::vector{OneByOne::row(0ms, 10ms, 1)});
        f.push(run, 3ms, 4);   // late by 2 ms, within 5: [0, 10) again
        f.push(run, 16ms, 8);  // [0, 10) leaves (10 + 5 <= 16)
        f.push(run, 5ms, 16);  // beyond: late
        f.close();
        REQUIRE(run.wait() == rill::RunStatus::completed);
        CHECK(f.rows() == std::vector{OneByOne::row(0ms, 10ms, 1), OneByOne::row(0ms, 10ms, 5),
                                      OneByOne::row(10ms, 20ms, 10)});
        REQUIRE(f.late.size() == 1);
        CHECK(f.late[0].r.value == 16);
        const rill::FlowMetrics m = run.metrics();
        CHECK(m.balanced());
        CHECK(m.at("w").late == 1);
        CHECK(m.at("w").out == 4);
        CHECK(m.at("late").in == 1);
    }
    SECTION("sliding") {
        f.build(rill::sliding_window(10ms, 5ms), 0ms);
        auto run = f.runtime.start(f.flow);
        f.push(run, 7ms, 1);   // in [0, 10) and [5, 15)
        f.push(run, 11ms, 2);  // watermark 11: [0, 10) fires with 1
        f.push(run, 6ms, 4);   // [0, 10) has left, [5, 15) has not: joins it only
        f.push(run, 3ms, 8);   // [-5, 5) and [0, 10) have left: late
        f.close();
        REQUIRE(run.wait() == rill::RunStatus::completed);
        CHECK(f.rows() == std::vector{OneByOne::row(0ms, 10ms, 1), OneByOne::row(5ms, 15ms, 7),
                                      OneByOne::row(10ms, 20ms, 2)});
        REQUIRE(f.late.size() == 1);
        CHECK(f.late[0].r.value == 8);
        CHECK(run.metrics().balanced());
    }
    SECTION("session") {
        f.build(rill::session_window(4ms), 3ms);
        auto run = f.runtime.start(f.flow);
        f.push(run, 1ms, 1);    // [1, 5)
        f.push(run, 10ms, 2);   // watermark 10: [1, 5) fires and leaves (5 + 3 <= 10)
        f.push(run, 7ms, 4);    // [7, 11) overlaps [10, 14): [7, 14), not yet due
        f.push(run, 2ms, 8);    // [2, 6) would have left at 9: late
        f.push(run, 20ms, 16);  // [7, 14) fires
        f.push(run, 15ms, 32);  // [15, 19): passed but within lateness, fires at once
        f.close();
        REQUIRE(run.wait() == rill::RunStatus::completed);
        CHECK(f.rows() == std::vector{OneByOne::row(1ms, 5ms, 1), OneByOne::row(7ms, 14ms, 6),
                                      OneByOne::row(15ms, 19ms, 32),
                                      OneByOne::row(20ms, 24ms, 16)});
        REQUIRE(f.late.size() == 1);
        CHECK(f.late[0].r.value == 8);
        const rill::FlowMetrics m = run.metrics();
        CHECK(m.balanced());
        CHECK(m.at("w").late == 1);
        CHECK(m.at("w").out == 5);
    }
}

TEST_CASE("late items are counted without a late_items stream", "[window][event_time][late]") {
    std::vector<Timed> items;
    // From the 500th on, every tenth item is 1 ms behind: late for 100 us windows unless its
    // window's items are in its batch (watermarks follow batches).
    for (int i = 0; i < 1000; ++i)
        items.push_back({kT0 + i * 10us - (i >= 500 && i % 10 == 9 ? 1ms : 0ms), {0, 1}});
    rill::Runtime runtime({.workers = 1});
    rill::Flow flow;
    std::uint64_t results = 0;
    flow.source("gen", items)
        .event_time("time", time_of)
        .window("w", rill::by_event_time(rill::tumbling_window(100us), time_of), rill::agg::Count{})
        .sink("out", [&](const auto&) { ++results; });
    auto run = runtime.start(flow);
    REQUIRE(run.wait() == rill::RunStatus::completed);
    const rill::StageMetrics w = run.metrics().at("w");
    CHECK(w.balanced());
    CHECK(w.late > 0);  // the first items of a window are not late
    CHECK(w.out + w.late == items.size());
    CHECK(results == 100);
}

TEST_CASE("cancel counts what event-time windows hold as dropped", "[window][event_time][cancel]") {
    OneByOne f;
    f.build(rill::tumbling_window(10ms), 1h);
    auto run = f.runtime.start(f.flow);
    for (int i = 0; i < 50; ++i)
        f.push(run, i * 1ms, 1);
    run.cancel();
    REQUIRE(run.wait() == rill::RunStatus::cancelled);
    const rill::StageMetrics w = run.metrics().at("w");
    CHECK(w.balanced());
    CHECK(w.in == 50);
    CHECK(w.in_windows == 0);
    CHECK(w.out + w.dropped_on_cancel == 50);
    CHECK(w.dropped_on_cancel > 0);  // an hour of lateness keeps every window
}

TEST_CASE("event-time windows are refused by name without watermarks or with bad options",
          "[window][event_time][errors]") {
    using Catch::Matchers::Contains;
    rill::Flow flow;
    auto plain = flow.source("gen", std::vector<Timed>{});
    const auto count = rill::agg::Count{};
    const auto tumbling = rill::by_event_time(rill::tumbling_window(1ms), time_of);
    CHECK_THROWS_WITH(plain.window("a", tumbling, count),
                      Contains("'a'") && Contains("event_time(...) upstream"));
    auto timed = plain.event_time("time", time_of);
    CHECK_THROWS_WITH(rill::merge("m", timed, flow.source("gen2", std::vector<Timed>{}))
                          .window("b", tumbling, count),
                      Contains("'b'") && Contains("every input of a merge"));
    CHECK_THROWS_WITH(timed.window("c",
                                   rill::by_event_time(rill::sliding_window(1ms, 1ms), time_of,
                                                       {.allowed_lateness = -1ms}),
                                   count),
                      Contains("'c'") && Contains("allowed_lateness -1000000ns is negative"));
    CHECK_THROWS_WITH(
        timed.window("d", rill::by_event_time(rill::session_window(1ms), time_of, {.max_open = 0}),
                     count),
        Contains("'d'") && Contains("max_open is 0"));
    CHECK_THROWS_WITH(
        timed.window("e", rill::by_event_time(rill::tumbling_window(0ms), time_of), count),
        Contains("'e'") && Contains("tumbling_window size 0ns"));
    auto w = timed.window("f", tumbling, count);
    static_cast<void>(w.late_items("late"));
    CHECK_THROWS_WITH(w.late_items("late2"),
                      Contains("'f'") && Contains("late_items() called twice"));
}

TEST_CASE("more open panes than max_open fail the stage, naming the limit",
          "[window][event_time][errors]") {
    std::vector<Timed> items;
    for (int i = 0; i < 100; ++i)  // 1 ms apart, with an hour of disorder: nothing fires
        items.push_back({kT0 + i * 1ms, {0, 1}});
    rill::Runtime runtime({.workers = 1});
    rill::Flow flow;
    flow.source("gen", items)
        .event_time("time", time_of, {.max_out_of_order = 1h})
        .window("w", rill::by_event_time(rill::tumbling_window(1ms), time_of, {.max_open = 16}),
                rill::agg::Count{})
        .sink("out", [](const auto&) {});
    auto run = runtime.start(flow);
    CHECK_THROWS_WITH(run.wait(), Catch::Matchers::Contains("'w'") &&
                                      Catch::Matchers::Contains("more than 16 panes"));
    CHECK(run.metrics().balanced());
}
