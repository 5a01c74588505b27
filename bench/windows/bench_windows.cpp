// Window benchmarks.
//
// sliding/<agg>/w:<w>/<case>: the sum and the max of the last w items, a result per item (slide
// 1), w in {10, 1000, 100000}, on one thread. Cases:
//   rill flow       source -> window(count_window(w, 1)) -> sink, chained on one worker: the
//                   whole stage, accounting and emitter included
//   rill kernel     rill::SlidingAggregator alone (what the stage runs per key)
//   deque           hand-written: std::deque with a running sum, or the monotonic deque for max
//   rescan          the seed's approach: keep the last w items, fold them all on every slide
// Every case checks the sum of its results against the deque's: a case that computed something
// else reports a mismatch instead of a speed.
//
// keyed/tumbling/replicas:<n>: count and sum per key over 10^4 keys in tumbling processing-time
// windows of 1 ms, after key_by, on 1 or 2 replicas; the sink checks that the windows' counts
// and sums add up to the items'.
// keyed/tumbling-event/replicas:<n>: the same on event time: item i is stamped 25 ns * i less up
// to 1 ms (out of order by up to 1 ms, max_out_of_order 1 ms, so none is late), windows of 1 ms
// fired by the watermarks; the sink checks the sums and the stage that no item was late.
//
//   bench_windows [--reps=N] [--quick] [google benchmark flags]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "common/affinity.hpp"
#include "common/bench_main.hpp"
#include "rill/rill.hpp"

namespace rill::bench {
namespace {

constexpr std::uint64_t kItems = 1 << 20;       // results per iteration of a sliding case
constexpr std::uint64_t kRescanWork = 1 << 26;  // items folded per iteration of a rescan case

/// The stream: pseudo-random values, the same in every case.
std::uint64_t value_at(std::uint64_t i) noexcept {
    return detail::mix64(i) % 1'000'000;
}

template <class A>
constexpr const char* agg_name() {
    if constexpr (std::is_same_v<A, agg::Sum<std::uint64_t>>) {
        return "sum";
    } else {
        return "max";
    }
}
/// A result as a number for the checksum (max of a non-empty window always has a value).
std::uint64_t number(std::uint64_t x) noexcept {
    return x;
}
std::uint64_t number(const std::optional<std::uint64_t>& x) noexcept {
    return x.value_or(0);
}

/// The checksum of the results for items [first, first + n): the deque's, computed once.
template <class A>
std::uint64_t expected_checksum(std::size_t w, std::uint64_t first, std::uint64_t n);

/// The hand-written peer: a std::deque of the window's items with a running sum, or the
/// monotonic deque (candidates for the max, decreasing) for max.
template <class A>
class DequeWindow {
  public:
    explicit DequeWindow(std::size_t w) : w_(w) {}
    std::uint64_t push(std::uint64_t i, std::uint64_t x) {
        if constexpr (std::is_same_v<A, agg::Sum<std::uint64_t>>) {
            items_.push_back(x);
            sum_ += x;
            if (items_.size() > w_) {
                sum_ -= items_.front();
                items_.pop_front();
            }
            return sum_;
        } else {
            while (!candidates_.empty() && candidates_.back().second <= x)
                candidates_.pop_back();
            candidates_.emplace_back(i, x);
            if (candidates_.front().first + w_ <= i) candidates_.pop_front();
            return candidates_.front().second;
        }
    }

  private:
    std::size_t w_;
    std::deque<std::uint64_t> items_;
    std::uint64_t sum_ = 0;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> candidates_;  // (position, value)
};

template <class A>
std::uint64_t expected_checksum(std::size_t w, std::uint64_t first, std::uint64_t n) {
    DequeWindow<A> d(w);
    std::uint64_t check = 0;
    for (std::uint64_t i = 0; i < first + n; ++i) {
        const std::uint64_t r = d.push(i, value_at(i));
        if (i >= first) check += r;
    }
    return check;
}

void verify(std::uint64_t got, std::uint64_t expected) {
    if (got != expected) {
        mismatch("checksum " + std::to_string(got) + ", expected " + std::to_string(expected));
    }
}

/// The cases run items [w, w + n) after a first fill of w items, so every window is full.
template <class A>
void deque_case(benchmark::State& state, std::size_t w) {
    const ScopedPin pin(0);
    const std::uint64_t expected = expected_checksum<A>(w, w, kItems);
    for (auto _ : state) {
        state.PauseTiming();
        DequeWindow<A> d(w);
        for (std::uint64_t i = 0; i < w; ++i)
            benchmark::DoNotOptimize(d.push(i, value_at(i)));
        state.ResumeTiming();
        std::uint64_t check = 0;
        for (std::uint64_t i = w; i < w + kItems; ++i)
            check += d.push(i, value_at(i));
        verify(check, expected);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}

template <class A>
void kernel_case(benchmark::State& state, std::size_t w) {
    const ScopedPin pin(0);
    const std::uint64_t expected = expected_checksum<A>(w, w, kItems);
    SlidingAggregator<std::uint64_t, A> window(w);
    for (auto _ : state) {
        state.PauseTiming();
        window.clear();
        for (std::uint64_t i = 0; i < w; ++i)
            window.push(value_at(i));
        state.ResumeTiming();
        std::uint64_t check = 0;
        for (std::uint64_t i = w; i < w + kItems; ++i) {
            window.evict();
            window.push(value_at(i));
            check += number(window.result());
        }
        verify(check, expected);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}

template <class A>
void rescan_case(benchmark::State& state, std::size_t w) {
    // Fewer items where each costs w: the checksum is the deque's over as many.
    const std::uint64_t n = std::max<std::uint64_t>(kRescanWork / w, 64);
    const std::uint64_t expected = expected_checksum<A>(w, w, n);
    const ScopedPin pin(0);
    std::vector<std::uint64_t> ring(w);
    for (auto _ : state) {
        state.PauseTiming();
        for (std::uint64_t i = 0; i < w; ++i)
            ring[i] = value_at(i);
        state.ResumeTiming();
        std::uint64_t check = 0;
        for (std::uint64_t i = w; i < w + n; ++i) {
            ring[i % w] = value_at(i);
            std::uint64_t r = 0;
            for (const std::uint64_t x : ring) {
                if constexpr (std::is_same_v<A, agg::Sum<std::uint64_t>>) {
                    r += x;
                } else {
                    r = std::max(r, x);
                }
            }
            check += r;
        }
        verify(check, expected);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

Runtime& one_worker() {
    static Runtime rt{RuntimeOptions{.workers = 1}};
    return rt;
}

/// The whole stage over w + kItems items, each a result (slide 1): the first w (partial windows
/// while it fills) count as items but not in the checksum, which the other cases never make.
template <class A>
void flow_case(benchmark::State& state, std::size_t w) {
    const std::uint64_t expected = expected_checksum<A>(w, w, kItems);
    for (auto _ : state) {
        std::uint64_t check = 0;
        Flow flow;
        flow.source("source", iota<std::uint64_t>(0, w + kItems))
            .map("value", [](std::uint64_t i) noexcept { return value_at(i); })
            .window("window", count_window(w, 1), A{})
            .sink("sink", [&check, w](const auto& r) noexcept {
                if (r.end > w) check += number(r.value);
            });
        auto run = one_worker().start(flow);
        run.wait();
        verify(check, expected);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * (w + kItems)));
}

// ---- keyed tumbling ----

constexpr std::uint32_t kKeys = 10'000;
constexpr std::uint64_t kKeyedItems = 1 << 21;

struct Reading {
    std::uint32_t key;
    std::uint64_t value;
};
struct StampedReading {
    std::uint32_t key;
    std::uint64_t value;
    Clock::time_point time;
};

/// Count and sum in one pass.
struct CountSum {
    struct accumulator {
        std::uint64_t count = 0;
        std::uint64_t sum = 0;
    };
    [[nodiscard]] accumulator init() const { return {}; }
    template <class R>
    void add(accumulator& a, const R& r) const {
        ++a.count;
        a.sum += r.value;
    }
    [[nodiscard]] accumulator merge(const accumulator& a, const accumulator& b) const {
        return {a.count + b.count, a.sum + b.sum};
    }
    [[nodiscard]] accumulator result(const accumulator& a) const { return a; }
};

Runtime& two_workers() {
    static Runtime rt{RuntimeOptions{.workers = 2}};
    return rt;
}

constexpr auto kOutOfOrder = std::chrono::milliseconds(1);

/// Adds the keyed tumbling window to `flow`: on processing time, or on event time out of order
/// by up to kOutOfOrder. Returns the window's stream.
auto keyed_windows(Flow& flow, std::size_t replicas, std::true_type /*event time*/) {
    const auto time_of = [](const StampedReading& r) noexcept { return r.time; };
    return flow.source("source", iota<std::uint64_t>(0, kKeyedItems), {.worker = 0})
        .map("reading",
             [](std::uint64_t i) noexcept {
                 const std::uint64_t h = detail::mix64(~i);
                 const auto back = Clock::duration(static_cast<Clock::duration::rep>(
                     (h >> 20) %
                     static_cast<std::uint64_t>(kOutOfOrder / std::chrono::nanoseconds(1))));
                 return StampedReading{static_cast<std::uint32_t>(h % kKeys), value_at(i),
                                       Clock::time_point{} + std::chrono::hours(1) +
                                           i * std::chrono::nanoseconds(25) - back};
             })
        .event_time("time", time_of, {.max_out_of_order = kOutOfOrder})
        .key_by([](const StampedReading& r) { return r.key; })
        .window("window", by_event_time(tumbling_window(std::chrono::milliseconds(1)), time_of),
                CountSum{}, {.worker = replicas == 1 ? 1u : 0u, .replicas = replicas});
}
auto keyed_windows(Flow& flow, std::size_t replicas, std::false_type /*event time*/) {
    return flow.source("source", iota<std::uint64_t>(0, kKeyedItems), {.worker = 0})
        .map("reading",
             [](std::uint64_t i) noexcept {
                 return Reading{static_cast<std::uint32_t>(detail::mix64(~i) % kKeys), value_at(i)};
             })
        .key_by([](const Reading& r) { return r.key; })
        .window("window", tumbling_window(std::chrono::milliseconds(1)), CountSum{},
                {.worker = replicas == 1 ? 1u : 0u, .replicas = replicas});
}

/// The windows' counts and sums must add up to the items', and none may be late.
template <bool kEventTime>
void keyed_case(benchmark::State& state, std::size_t replicas) {
    std::uint64_t expected_sum = 0;
    for (std::uint64_t i = 0; i < kKeyedItems; ++i)
        expected_sum += value_at(i);
    for (auto _ : state) {
        std::uint64_t count = 0;
        std::uint64_t sum = 0;
        Flow flow;
        keyed_windows(flow, replicas, std::bool_constant<kEventTime>{})
            .sink("sink",
                  [&](const auto& r) noexcept {
                      count += r.value.count;
                      sum += r.value.sum;
                  },
                  {.worker = 1});
        auto run = two_workers().start(flow);
        run.wait();
        const std::uint64_t late = run.metrics().sum("window").late;
        if (count != kKeyedItems || sum != expected_sum || late != 0) {
            mismatch("windows counted " + std::to_string(count) + " items summing to " +
                     std::to_string(sum) + " (" + std::to_string(late) + " late), expected " +
                     std::to_string(kKeyedItems) + " and " + std::to_string(expected_sum));
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kKeyedItems));
}

template <class A>
void add_sliding(const Settings& s, std::size_t w) {
    const std::string prefix =
        std::string("sliding/") + agg_name<A>() + "/w:" + std::to_string(w) + "/";
    add(prefix + "rill flow", s, [w](benchmark::State& st) { flow_case<A>(st, w); });
    add(prefix + "rill kernel", s, [w](benchmark::State& st) { kernel_case<A>(st, w); });
    add(prefix + "deque", s, [w](benchmark::State& st) { deque_case<A>(st, w); });
    add(prefix + "rescan", s, [w](benchmark::State& st) { rescan_case<A>(st, w); });
}

void print_summary(const std::map<std::string, Stat>& stats, const Settings& s) {
    print_table("Window benchmark summary", stats, s);
    const auto median = [&](const std::string& name) {
        const auto it = stats.find(name);
        return it == stats.end() ? 0.0 : it->second.median;
    };
    std::printf("\nTargets (ratios of medians from this run):\n");
    for (const char* agg : {"sum", "max"}) {
        const std::string p = std::string("sliding/") + agg + "/w:";
        const double w10 = median(p + "10/rill flow");
        const double w100k = median(p + "100000/rill flow");
        const double rescan = median(p + "1000/rescan");
        const double at1000 = median(p + "1000/rill flow");
        const double deque = median(p + "1000/deque");
        if (w10 > 0 && w100k > 0) {
            std::printf("- %s, rill flow, w = 100000 vs w = 10: %.2f (target >= 0.8) %s\n", agg,
                        w100k / w10, verdict(w100k >= 0.8 * w10));
        }
        if (at1000 > 0 && rescan > 0) {
            std::printf("- %s, rill flow vs rescan at w = 1000: %.1fx (target >= 50x) %s\n", agg,
                        at1000 / rescan, verdict(at1000 >= 50 * rescan));
        }
        if (at1000 > 0 && deque > 0) {
            std::printf("- %s, rill flow vs std::deque at w = 1000: %.2fx (no target)\n", agg,
                        at1000 / deque);
        }
    }
    for (const char* w : {"10", "1000", "100000"}) {
        const double sum = median(std::string("sliding/sum/w:") + w + "/rill flow");
        const double max = median(std::string("sliding/max/w:") + w + "/rill flow");
        if (sum > 0 && max > 0) {
            std::printf("- w = %s, rill flow, max vs sum: %.2f (target >= 0.5) %s\n", w, max / sum,
                        verdict(max >= 0.5 * sum));
        }
    }
    for (const char* kind : {"tumbling", "tumbling-event"}) {
        const std::string p = std::string("keyed/") + kind + "/replicas:";
        const double one = median(p + "1");
        const double two = median(p + "2");
        if (one > 0 && two > 0) {
            std::printf(
                "- keyed %s, 2 replicas vs 1: %.2fx, %.1f vs %.1f ns/item (no target; 2 CPUs "
                "shared by the source, the replicas and the sink)\n",
                kind, two / one, 1e9 / two, 1e9 / one);
        }
    }
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) {
    using namespace rill::bench;
    return bench_main(
        "bench_windows", argc, argv,
        [](const Settings& s) {
            for (const std::size_t w : {10, 1000, 100000}) {
                add_sliding<rill::agg::Sum<std::uint64_t>>(s, w);
                add_sliding<rill::agg::Max<std::uint64_t>>(s, w);
            }
            for (const std::size_t r : {1, 2}) {
                add("keyed/tumbling/replicas:" + std::to_string(r), s,
                    [r](benchmark::State& st) { keyed_case<false>(st, r); });
                add("keyed/tumbling-event/replicas:" + std::to_string(r), s,
                    [r](benchmark::State& st) { keyed_case<true>(st, r); });
            }
        },
        print_summary);
}
