// The event-time window operators driven directly (no runtime), against reference models written
// from the documented semantics (event_time_window.hpp), over 4,000 random runs each: sizes of
// 1 to 40 ns with any slide (many not dividing the size), negative timestamps, allowed lateness
// 0 to 120 ns, watermarks that creep or jump, items far ahead of the watermark or behind it;
// results, late counts and held items must agree. Then the exception paths: an item whose
// aggregation throws, or that a limit refuses, leaves no trace.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "rill/flow/detail/emitter_binding.hpp"
#include "rill/window/detail/event_pane_op.hpp"
#include "rill/window/detail/event_session_op.hpp"

using rill::Clock;

namespace {

struct Item {
    std::int64_t t;  // ns
    std::uint32_t key;
    std::uint64_t value;
};
Clock::time_point at(std::int64_t ns) {
    return Clock::time_point{} + Clock::duration(ns);
}
struct TimeOf {
    Clock::time_point operator()(const Item& x) const { return at(x.t); }
};
struct KeyOf {
    std::uint32_t operator()(const Item& x) const { return x.key; }
};
/// The sum of the values; throws for the value 999.
struct Sum {
    using accumulator = std::uint64_t;
    [[nodiscard]] std::uint64_t init() const { return 0; }
    void add(std::uint64_t& acc, const Item& x) const {
        if (x.value == 999) throw std::runtime_error("999");
        acc += x.value;
    }
    [[nodiscard]] std::uint64_t merge(std::uint64_t a, std::uint64_t b) const { return a + b; }
    [[nodiscard]] std::uint64_t result(std::uint64_t acc) const { return acc; }
};

using Row = std::tuple<std::uint32_t, std::int64_t, std::int64_t, std::uint64_t>;  // key, [s, e)
using Out = rill::Windowed<std::uint64_t, std::uint32_t, Clock::time_point>;

struct Rows : rill::detail::Consumer<Out> {
    std::vector<Row> rows{};
    void consume(std::span<Out> out) noexcept override {
        for (const Out& w : out)
            rows.emplace_back(w.key, w.start.time_since_epoch().count(),
                              w.end.time_since_epoch().count(), w.value);
    }
};

/// An operator with an emitter chained to a Rows, as a window stage runs it.
template <class Op>
struct Driven {
    Op op;
    rill::Emitter<Out> out;
    Rows sink;
    template <class... Args>
    explicit Driven(Args&&... args) : op(std::forward<Args>(args)...) {
        rill::detail::EmitterBinding<Out>::chain(out, sink, 64);
    }
    bool add(Item x) {
        bool taken = true;
        try {
            op.add(std::move(x), {}, out);
        } catch (const std::exception&) {
            taken = false;
        }
        rill::detail::EmitterBinding<Out>::end_batch(out);
        return taken;
    }
    void watermark(std::int64_t w) {
        op.on_watermark(rill::Watermark{at(w)}, out);
        rill::detail::EmitterBinding<Out>::end_batch(out);
    }
    void finish() {
        op.finish(out);
        rill::detail::EmitterBinding<Out>::end_batch(out);
    }
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - (a % b < 0 ? 1 : 0);
}

/// Tumbling and sliding windows, the obvious way: keep every item that joined, fold on demand.
struct PaneReference {
    std::int64_t size, slide, lateness;
    std::int64_t watermark = INT64_MIN;
    std::vector<Item> joined{};
    std::vector<Row> rows{};
    std::uint64_t late = 0;

    [[nodiscard]] std::vector<std::int64_t> ends(std::int64_t t) const {  // of t's windows
        std::vector<std::int64_t> e;
        for (std::int64_t end = (floor_div(t, slide) + 1) * slide; end - size <= t; end += slide)
            e.push_back(end);
        return e;
    }
    void emit(std::int64_t end, std::uint32_t key) {
        std::uint64_t sum = 0;
        bool any = false;
        for (const Item& x : joined) {
            if (x.key == key && x.t >= end - size && x.t < end) {
                sum += x.value;
                any = true;
            }
        }
        if (any) rows.emplace_back(key, end - size, end, sum);
    }
    void add(const Item& x) {
        const auto e = ends(x.t);
        const bool kept = std::any_of(e.begin(), e.end(), [&](std::int64_t end) {
            return watermark == INT64_MIN || end + lateness > watermark;
        });
        if (!kept) {
            ++late;
            return;
        }
        joined.push_back(x);
        for (const std::int64_t end : e) {  // fired and kept: fires again for the key
            if (watermark != INT64_MIN && end <= watermark && end + lateness > watermark) {
                emit(end, x.key);
            }
        }
    }
    void fire(std::int64_t after, std::int64_t through) {  // windows ending in (after, through]
        std::map<std::pair<std::int64_t, std::uint32_t>, bool> due;
        for (const Item& x : joined) {
            for (const std::int64_t end : ends(x.t)) {
                if ((after == INT64_MIN || end > after) && end <= through) due[{end, x.key}] = true;
            }
        }
        for (const auto& [window, unused] : due)
            emit(window.first, window.second);
    }
    void on_watermark(std::int64_t w) {
        if (w <= watermark) return;
        fire(watermark, w);
        watermark = w;
    }
    void finish() { fire(watermark, INT64_MAX); }
};

/// Sessions, the obvious way: every key's sessions in a list, merged by brute force.
struct SessionReference {
    std::int64_t gap, lateness;
    std::int64_t watermark = INT64_MIN;
    struct Session {
        std::int64_t start, end;
        std::uint64_t sum;
        bool fired;
    };
    std::map<std::uint32_t, std::vector<Session>> keys{};
    std::vector<Row> rows{};
    std::uint64_t late = 0;

    void add(const Item& x) {
        std::vector<Session>& sessions = keys[x.key];
        Session merged{x.t, x.t + gap, x.value, false};
        std::vector<Session> rest;
        for (const Session& s : sessions) {
            if (s.start < x.t + gap && x.t < s.end) {
                merged.start = std::min(merged.start, s.start);
                merged.end = std::max(merged.end, s.end);
                merged.sum += s.sum;
            } else {
                rest.push_back(s);
            }
        }
        if (watermark != INT64_MIN && merged.end + lateness <= watermark) {
            ++late;
            return;
        }
        merged.fired = watermark != INT64_MIN && merged.end <= watermark;
        if (merged.fired) rows.emplace_back(x.key, merged.start, merged.end, merged.sum);
        rest.push_back(merged);
        sessions = rest;
    }
    void on_watermark(std::int64_t w) {
        if (w <= watermark) return;
        watermark = w;
        for (auto& [key, sessions] : keys) {
            std::vector<Session> kept;
            for (Session& s : sessions) {
                if (!s.fired && s.end <= watermark) {
                    s.fired = true;
                    rows.emplace_back(key, s.start, s.end, s.sum);
                }
                if (!s.fired || s.end + lateness > watermark) kept.push_back(s);
            }
            sessions = kept;
        }
    }
    void finish() {
        for (const auto& [key, sessions] : keys) {
            for (const Session& s : sessions) {
                if (!s.fired) rows.emplace_back(key, s.start, s.end, s.sum);
            }
        }
    }
};

/// 150 items over 4 keys around a watermark that creeps and sometimes jumps, the same for both.
template <class Op, class Reference>
void run_random(Driven<Op>& op, Reference& reference, std::mt19937_64& rng) {
    std::int64_t w = -50 + static_cast<std::int64_t>(rng() % 20);
    for (int i = 0; i < 150; ++i) {
        if (rng() % 4 == 0) {
            w += static_cast<std::int64_t>(rng() % 10 == 0 ? rng() % 500 : rng() % 8);
            op.watermark(w);
            reference.on_watermark(w);
        }
        const auto offset = static_cast<std::int64_t>(rng() % 20 == 0 ? rng() % 400 : rng() % 60) -
                            (rng() % 20 == 0 ? 0 : 40);
        const Item x{w + offset, static_cast<std::uint32_t>(rng() % 4), 1 + rng() % 100};
        REQUIRE(op.add(x));
        reference.add(x);
    }
    op.finish();
    reference.finish();
    std::sort(op.sink.rows.begin(), op.sink.rows.end());
    std::sort(reference.rows.begin(), reference.rows.end());
    REQUIRE(op.sink.rows == reference.rows);
    REQUIRE(op.op.late() == reference.late);
    REQUIRE(op.op.held() == 0);
    REQUIRE(op.op.released() + op.op.late() == 150);
}

using PaneOp = rill::detail::EventPaneOp<Item, Sum, KeyOf, TimeOf>;
using SessionOp = rill::detail::EventSessionOp<Item, Sum, KeyOf, TimeOf>;

auto no_late_stream() {
    return std::make_shared<rill::detail::LateOutput<Item>>("w", 1'000'000);
}

}  // namespace

TEST_CASE("event-time tumbling and sliding windows agree with the reference on random streams",
          "[window][event_time]") {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 4000; ++trial) {
        const auto size = static_cast<std::int64_t>(1 + rng() % 40);
        const std::int64_t slide =
            rng() % 3 == 0
                ? size
                : static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(size));
        const auto lateness = static_cast<std::int64_t>(rng() % 3 == 0 ? 0 : rng() % 120);
        CAPTURE(trial, size, slide, lateness);
        Driven<PaneOp> op(
            rill::by_event_time(rill::sliding_window(Clock::duration(size), Clock::duration(slide)),
                                TimeOf{}, {.allowed_lateness = Clock::duration(lateness)}),
            Sum{}, KeyOf{}, no_late_stream());
        PaneReference reference{size, slide, lateness};
        run_random(op, reference, rng);
    }
}

TEST_CASE("event-time session windows agree with the reference on random streams",
          "[window][event_time]") {
    std::mt19937_64 rng(8);
    for (int trial = 0; trial < 4000; ++trial) {
        const auto gap = static_cast<std::int64_t>(1 + rng() % 10);
        const auto lateness = static_cast<std::int64_t>(rng() % 3 == 0 ? 0 : rng() % 20);
        CAPTURE(trial, gap, lateness);
        Driven<SessionOp> op(
            rill::by_event_time(rill::session_window(Clock::duration(gap)), TimeOf{},
                                {.allowed_lateness = Clock::duration(lateness)}),
            Sum{}, KeyOf{}, no_late_stream());
        SessionReference reference{gap, lateness};
        run_random(op, reference, rng);
    }
}

TEST_CASE("an item refused by its aggregation or a limit leaves no trace in event-time windows",
          "[window][event_time]") {
    using Catch::Matchers::Contains;
    SECTION("a session it would have merged stays as it was") {
        Driven<SessionOp> op(
            rill::by_event_time(rill::session_window(Clock::duration(10)), TimeOf{},
                                {.allowed_lateness = Clock::duration(100)}),
            Sum{}, KeyOf{}, no_late_stream());
        REQUIRE(op.add({0, 1, 1}));
        op.watermark(10);  // [0, 10) fires
        REQUIRE(op.add({15, 1, 2}));
        op.watermark(12);
        CHECK_FALSE(op.add({8, 1, 999}));  // would bridge [0, 10) and [15, 25)
        op.watermark(200);
        op.finish();
        CHECK(op.sink.rows == std::vector<Row>{{1, 0, 10, 1}, {1, 15, 25, 2}});
        CHECK(op.op.held() == 0);
        CHECK(op.op.released() == 2);
    }
    SECTION("a new key's first item: no empty session, no slot of max_open taken") {
        Driven<SessionOp> op(rill::by_event_time(rill::session_window(Clock::duration(10)),
                                                 TimeOf{}, {.max_open = 1}),
                             Sum{}, KeyOf{}, no_late_stream());
        CHECK_FALSE(op.add({0, 1, 999}));
        CHECK(op.add({5, 2, 5}));
        CHECK_THROWS_WITH(op.op.add(Item{6, 3, 1}, {}, op.out), Contains("more than 1 sessions"));
        op.finish();
        CHECK(op.sink.rows == std::vector<Row>{{2, 5, 15, 5}});
    }
    SECTION("tumbling: no result for a key whose only item was refused") {
        Driven<PaneOp> op(rill::by_event_time(rill::tumbling_window(Clock::duration(10)), TimeOf{}),
                          Sum{}, KeyOf{}, no_late_stream());
        CHECK(op.add({1, 1, 5}));
        CHECK_FALSE(op.add({2, 2, 999}));
        op.finish();
        CHECK(op.sink.rows == std::vector<Row>{{1, 0, 10, 5}});
    }
    SECTION("sliding: max_keys counts the keys of a window when the item comes") {
        Driven<PaneOp> op(rill::by_event_time(rill::SlidingWindow{.size = Clock::duration(10),
                                                                  .slide = Clock::duration(5),
                                                                  .max_keys = 2},
                                              TimeOf{}),
                          Sum{}, KeyOf{}, no_late_stream());
        CHECK(op.add({0, 1, 1}));
        CHECK(op.add({1, 2, 1}));
        CHECK_FALSE(op.add({6, 3, 1}));  // a third key in [0, 10)
        op.watermark(10);
        op.finish();
        std::sort(op.sink.rows.begin(), op.sink.rows.end());
        CHECK(op.sink.rows ==
              std::vector<Row>{{1, -5, 5, 1}, {1, 0, 10, 1}, {2, -5, 5, 1}, {2, 0, 10, 1}});
    }
}
