// Window stages against references written the obvious way (a fold over each window's items),
// on seeded random streams: count windows through chained, ring, replicas + key_by, broadcast
// and merge shapes; processing-time windows (tumbling, sliding, session) on a ManualClock,
// keyed on replicas, including windows closed by the timer alone; the end of input flushing
// every window once; cancel and drain keeping the accounting; bad specs rejected by name.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "window/window_reference.hpp"

using namespace std::chrono_literals;
using rill::Clock;
using namespace window_test;

namespace {

// ---- count windows ---------------------------------------------------------------------------

/// Flink's countWindow(size, slide) with the partial windows of the end of input: every `slide`
/// items of a key the last `size` of them, and at the end, if any came since, the last `size`
/// (tumbling: those since the last window).
template <class A>
auto reference_count(const std::vector<Reading>& items, std::uint64_t size, std::uint64_t slide,
                     bool keyed, const A& a) {
    using V = rill::aggregation_result_t<A, Reading>;
    std::map<std::uint32_t, std::vector<Reading>> per_key;
    for (const Reading& r : items)
        per_key[keyed ? r.key : 0].push_back(r);
    Rows<std::uint64_t, V> rows;
    for (const auto& [key, items_of_key] : per_key) {
        const std::vector<Reading>& seq = items_of_key;  // a lambda below uses it (Clang 14)
        auto& out = rows[key];
        const std::uint64_t n = seq.size();
        const auto window = [&](std::uint64_t end) {
            // A tumbling window's last is the partial one; a sliding window's the last `size`.
            const std::uint64_t start = slide == size ? (end - 1) / size * size
                                        : end > size  ? end - size
                                                      : 0;
            out.push_back({start, end,
                           fold(a, seq.begin() + static_cast<std::ptrdiff_t>(start),
                                seq.begin() + static_cast<std::ptrdiff_t>(end))});
        };
        for (std::uint64_t end = slide; end <= n; end += slide)
            window(end);
        if (n % slide != 0) window(n);
    }
    return rows;
}

enum class Shape { chained, ring, replicas, broadcast, merge };

TEMPLATE_TEST_CASE("count windows match the reference through every shape", "[window][count]",
                   SumOfValues, MaxOfValues) {
    const auto shape =
        GENERATE(Shape::chained, Shape::ring, Shape::replicas, Shape::broadcast, Shape::merge);
    const auto [size, slide] = GENERATE(std::pair<std::uint64_t, std::uint64_t>{100, 100},
                                        std::pair<std::uint64_t, std::uint64_t>{1000, 1},
                                        std::pair<std::uint64_t, std::uint64_t>{64, 10},
                                        std::pair<std::uint64_t, std::uint64_t>{1, 1});
    CAPTURE(static_cast<int>(shape), size, slide);
    const bool keyed = shape == Shape::replicas || shape == Shape::merge;
    const std::vector<Reading> items = random_readings(100'000, 257, 7 + size + slide);
    const TestType agg = make_agg<TestType>();

    rill::Runtime runtime({.workers = 2});
    rill::Flow flow({.chain = shape != Shape::ring});
    const rill::CountWindow spec = rill::count_window(size, slide);
    using KeyedW = rill::Windowed<rill::aggregation_result_t<TestType, Reading>, std::uint32_t,
                                  rill::ItemPosition>;
    using PlainW = rill::Windowed<rill::aggregation_result_t<TestType, Reading>, rill::NoKey,
                                  rill::ItemPosition>;
    Collector<KeyedW> keyed_out;
    Collector<PlainW> plain_out;
    Collector<PlainW> second_out;  // broadcast: a second window on the same stream
    const auto key = [](const Reading& r) { return r.key; };
    const rill::StageOptions pinned{.worker = 0};

    switch (shape) {
        case Shape::chained:
        case Shape::ring:
            flow.source("gen", items, pinned)
                .window("w", spec, agg, pinned)
                .sink("out", plain_out.sink());
            break;
        case Shape::replicas:
            flow.source("gen", items)
                .key_by(key)
                .window("w", spec, agg, {.replicas = 2})
                .sink("out", keyed_out.sink());
            break;
        case Shape::broadcast: {
            auto s = flow.source("gen", items);
            s.window("w", spec, agg).sink("out", plain_out.sink());
            s.window("w2", rill::count_window(size), agg).sink("out2", second_out.sink());
            break;
        }
        case Shape::merge: {
            // Odd keys from one source, even from the other: each key's order is one source's.
            std::vector<Reading> odd, even;
            for (const Reading& r : items)
                (r.key % 2 != 0 ? odd : even).push_back(r);
            auto merged = rill::merge("merge", flow.source("odd", std::move(odd)),
                                      flow.source("even", std::move(even)));
            merged.key_by(key)
                .window("w", spec, agg, {.replicas = 2})
                .sink("out", keyed_out.sink());
            break;
        }
    }
    auto run = runtime.start(flow);
    REQUIRE(run.wait() == rill::RunStatus::completed);

    if (keyed) {
        CHECK(difference(keyed_out.rows, reference_count(items, size, slide, true, agg)) == "");
    } else {
        CHECK(difference(plain_out.rows, reference_count(items, size, slide, false, agg)) == "");
    }
    if (shape == Shape::broadcast) {
        CHECK(difference(second_out.rows, reference_count(items, size, size, false, agg)) == "");
    }
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    const rill::StageMetrics w = m.sum("w");
    CHECK(w.in == items.size());
    CHECK(w.out == items.size());
    CHECK(w.in_windows == 0);
}

// ---- processing-time windows -------------------------------------------------------------------

/// Whether the window stage has taken every item pushed and settled each replica's accounts
/// (the items then carry the clock's time of their batch).
bool settled(const rill::Run& run, std::uint64_t pushed) {
    const rill::FlowMetrics m = run.metrics();
    std::uint64_t in = 0;
    for (const rill::StageMetrics& s : m.stages) {
        if (s.stage != "w") continue;
        if (s.in != s.out + s.in_windows + s.errored) return false;
        in += s.in;
    }
    return in == pushed;
}

enum class TimeKind { tumbling, sliding, session };

TEMPLATE_TEST_CASE("processing-time windows match the reference on a manual clock",
                   "[window][time]", SumOfValues, MaxOfValues) {
    const auto kind = GENERATE(TimeKind::tumbling, TimeKind::sliding, TimeKind::session);
    const bool keyed = GENERATE(false, true);
    CAPTURE(static_cast<int>(kind), keyed);
    constexpr Clock::duration size = 10ms;
    constexpr Clock::duration slide = 4ms;
    constexpr Clock::duration gap = 3ms;

    auto clock = std::make_shared<rill::ManualClock>();
    rill::Runtime runtime({.workers = 2, .clock = clock});
    rill::Flow flow;
    auto [inlet, input] = flow.inlet<Reading>("in");
    rill::Stream<Reading> stream = input;  // a lambda below uses it (Clang 14)
    const TestType agg = make_agg<TestType>();
    using V = rill::aggregation_result_t<TestType, Reading>;
    Collector<rill::Windowed<V, std::uint32_t>> keyed_out;
    Collector<rill::Windowed<V>> plain_out;
    const auto build = [&](auto spec) {
        if (keyed) {
            stream.key_by([](const Reading& r) { return r.key; })
                .window("w", spec, agg, {.replicas = 2})
                .sink("out", keyed_out.sink());
        } else {
            stream.window("w", spec, agg).sink("out", plain_out.sink());
        }
    };
    switch (kind) {
        case TimeKind::tumbling:
            build(rill::tumbling_window(size));
            break;
        case TimeKind::sliding:
            build(rill::sliding_window(size, slide));
            break;
        case TimeKind::session:
            build(rill::session_window(gap));
            break;
    }
    auto run = runtime.start(flow);

    // Bursts of items, each at one clock time; between bursts the clock moves 0 to 6 ms (often
    // across window and pane boundaries, sometimes not at all).
    std::mt19937_64 rng(99 + static_cast<unsigned>(kind));
    std::vector<Timed> sent;
    const std::uint32_t keys = keyed ? 50 : 1;
    for (int burst = 0; burst < 600; ++burst) {
        const std::size_t n = rng() % 80;
        for (std::size_t i = 0; i < n; ++i) {
            const Reading r{static_cast<std::uint32_t>(rng() % keys), rng() % 1000};
            sent.push_back({clock->now(), r});
            REQUIRE(inlet.push(r));
        }
        REQUIRE(eventually([&] { return settled(run, sent.size()); }));
        // A third of the steps are whole milliseconds, so that items land exactly on window
        // ends and session expiries.
        clock->advance(rng() % 3 == 0 ? std::chrono::microseconds(rng() % 6 * 1000)
                                      : std::chrono::microseconds(rng() % 6000));
    }
    std::map<std::uint32_t, std::vector<Row<Clock::time_point, V>>> expected;
    switch (kind) {
        case TimeKind::tumbling:
            expected = reference_tumbling(sent, size, agg);
            break;
        case TimeKind::sliding:
            expected = reference_sliding(sent, size, slide, agg);
            break;
        case TimeKind::session:
            expected = reference_session(sent, gap, agg);
            break;
    }
    std::size_t windows = 0;
    for (const auto& [key, rows] : expected)
        windows += rows.size();

    // Past the last window's end, the timers alone close every window: no item, no end of input.
    clock->advance(1s);
    const auto& out_count = keyed ? keyed_out.count : plain_out.count;
    CHECK(eventually([&] { return out_count.load() == windows; }));
    CHECK(eventually([&] { return run.metrics().sum("w").in_windows == 0; }));
    inlet.close();
    REQUIRE(run.wait() == rill::RunStatus::completed);

    if (keyed) {
        CHECK(difference(keyed_out.rows, expected) == "");
    } else {
        CHECK(difference(plain_out.rows, expected) == "");
    }
    const rill::StageMetrics w = run.metrics().sum("w");
    CHECK(w.in == sent.size());
    CHECK(w.out == sent.size());
    CHECK(run.metrics().balanced());
}

TEST_CASE("the end of input emits every open window once", "[window][finish]") {
    auto clock = std::make_shared<rill::ManualClock>();
    rill::Runtime runtime({.workers = 2, .clock = clock});
    rill::Flow flow;
    auto [inlet, input] = flow.inlet<Reading>("in");
    rill::Stream<Reading> stream = input;  // a lambda below uses it (Clang 14)
    Collector<rill::Windowed<std::uint64_t>> tumbling;
    Collector<rill::Windowed<std::uint64_t>> sliding;
    Collector<rill::Windowed<std::uint64_t>> session;
    const auto sum = make_agg<SumOfValues>();
    stream.window("tumbling", rill::tumbling_window(10ms), sum).sink("t", tumbling.sink());
    stream.window("sliding", rill::sliding_window(10ms, 5ms), sum).sink("s", sliding.sink());
    stream.window("session", rill::session_window(1s), sum).sink("g", session.sink());
    auto run = runtime.start(flow);
    for (std::uint64_t v = 1; v <= 3; ++v)
        REQUIRE(inlet.push(Reading{0, v}));
    inlet.close();
    REQUIRE(run.wait() == rill::RunStatus::completed);
    // The clock never moved past the windows (the items are at its start, t0, which every
    // window size here divides): the end of input emitted them, once each.
    const Clock::time_point t0 = clock->now();
    using W = Row<Clock::time_point, std::uint64_t>;
    CHECK(tumbling.rows[0] == std::vector<W>{{t0, t0 + 10ms, 6}});
    CHECK(sliding.rows[0] == std::vector<W>{{t0 - 5ms, t0 + 5ms, 6}, {t0, t0 + 10ms, 6}});
    CHECK(session.rows[0] == std::vector<W>{{t0, t0 + 1s, 6}});
    CHECK(run.metrics().balanced());
    for (const char* stage : {"tumbling", "sliding", "session"})
        CHECK(run.metrics().at(stage).in_windows == 0);
}

TEST_CASE("cancel counts what windows hold as dropped; a drain emits it", "[window][cancel]") {
    const bool drain = GENERATE(false, true);
    CAPTURE(drain);
    rill::Runtime runtime({.workers = 2});
    rill::Flow flow;
    auto [inlet, input] = flow.inlet<Reading>("in");
    rill::Stream<Reading> stream = input;  // a lambda below uses it (Clang 14)
    Collector<rill::Windowed<std::uint64_t, std::uint32_t, rill::ItemPosition>> out;
    stream.key_by([](const Reading& r) { return r.key; })
        .window("w", rill::count_window(1000, 10), make_agg<SumOfValues>(), {.replicas = 2})
        .sink("out", out.sink());
    auto run = runtime.start(flow);
    for (std::uint32_t i = 0; i < 5000; ++i)
        REQUIRE(inlet.push(Reading{i % 7, i}));
    REQUIRE(eventually([&] { return run.metrics().sum("w").in == 5000; }));
    REQUIRE(eventually([&] { return run.metrics().sum("w").in_windows > 0; }));
    if (drain) {
        CHECK(run.stop(10s).drained);
    } else {
        run.cancel();
    }
    const rill::RunStatus status = run.wait();
    const rill::FlowMetrics m = run.metrics();
    const rill::StageMetrics w = m.sum("w");
    CHECK(w.in == 5000);
    CHECK(w.in_windows == 0);
    CHECK(w.in == w.out + w.dropped_on_cancel);
    CHECK(m.balanced());
    if (drain) {
        CHECK(status == rill::RunStatus::stopped);
        CHECK(w.dropped_on_cancel == 0);
        // Every key's last partial window came out: 5000 items over 7 keys, a result per 10.
        std::size_t last_ends = 0;
        for (const auto& [key, rows] : out.rows)
            last_ends += rows.back().end;
        CHECK(last_ends == 5000);
    } else {
        CHECK(status == rill::RunStatus::cancelled);
        CHECK(w.dropped_on_cancel > 0);
    }
}

TEST_CASE("window specs are checked by name", "[window][errors]") {
    rill::Flow flow;
    auto s = flow.source("gen", rill::iota<std::uint64_t>(0, 10));
    const rill::agg::Sum<std::uint64_t> sum;
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(s.window("a", rill::count_window(0), sum),
                      Contains("'a'") && Contains("count_window size is 0"));
    CHECK_THROWS_WITH(s.window("b", rill::count_window(10, 11), sum),
                      Contains("'b'") && Contains("slide 11 is larger than its size 10"));
    CHECK_THROWS_WITH(s.window("c", rill::tumbling_window(0ms), sum),
                      Contains("'c'") && Contains("tumbling_window size 0ns"));
    CHECK_THROWS_WITH(s.window("d", rill::sliding_window(5ms, 6ms), sum),
                      Contains("'d'") && Contains("slide 6000000ns is larger"));
    CHECK_THROWS_WITH(s.window("e", rill::sliding_window(1s, 1ns), sum),
                      Contains("'e'") && Contains("1000000000 panes"));
    CHECK_THROWS_WITH(s.window("f", rill::session_window(-1ms), sum),
                      Contains("'f'") && Contains("session_window gap -1000000ns"));
    CHECK_THROWS_WITH(s.window("g", rill::CountWindow{.size = 5, .max_keys = 0}, sum),
                      Contains("'g'") && Contains("max_keys is 0"));
    CHECK_THROWS_WITH(s.window("h", rill::count_window(5), sum, {.replicas = 2}),
                      Contains("'h'") && Contains("2 replicas needs key_by"));
    const auto whole = rill::agg::whole_window<std::uint64_t>(
        [](std::span<const std::uint64_t> xs) { return xs.size(); });
    CHECK_THROWS_WITH(s.window("i", rill::count_window(10, 2), whole),
                      Contains("'i'") && Contains("whole-window function on a sliding count"));
    CHECK(flow.stage_count() == 1);  // nothing was added
}

TEST_CASE("a key beyond max_keys fails the stage, naming the limit", "[window][errors]") {
    rill::Runtime runtime({.workers = 1});
    rill::Flow flow;
    flow.source("gen", rill::iota<std::uint64_t>(0, 1000))
        .key_by([](std::uint64_t x) { return x % 100; })
        .window("w", rill::CountWindow{.size = 10, .max_keys = 64}, rill::agg::Count{})
        .sink("out", [](const auto&) {});
    auto run = runtime.start(flow);
    CHECK_THROWS_WITH(run.wait(), Catch::Matchers::Contains("'w'") &&
                                      Catch::Matchers::Contains("beyond its 64 keys"));
    CHECK(run.metrics().balanced());
}

}  // namespace
