#pragma once
// What the window tests share: random readings, the aggregations they run, references written
// the obvious way (a fold over each window's items) and a comparison that names the first
// difference.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "rill/rill.hpp"

namespace window_test {

using namespace std::chrono_literals;
using rill::Clock;

struct Reading {
    std::uint32_t key = 0;
    std::uint64_t value = 0;
};

std::vector<Reading> random_readings(std::size_t n, std::uint32_t keys, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Reading> items(n);
    for (Reading& r : items)
        r = {static_cast<std::uint32_t>(rng() % keys), rng() % 1'000'000};
    return items;
}

// The aggregations every test runs: invertible (subtract on evict) and not (two stacks).
using SumOfValues = rill::agg::On<std::uint64_t Reading::*, rill::agg::Sum<std::uint64_t>>;
using MaxOfValues = rill::agg::On<std::uint64_t Reading::*, rill::agg::Max<std::uint64_t>>;
template <class A>
A make_agg() {
    return {&Reading::value, {}};
}

template <class A, class It>
auto fold(const A& a, It first, It last) {
    auto acc = a.init();
    for (; first != last; ++first)
        a.add(acc, *first);
    return a.result(acc);
}

template <class Bound, class V>
struct Row {
    Bound start;
    Bound end;
    V value;
    friend bool operator==(const Row&, const Row&) = default;
};
/// Each key's windows in the order they were emitted (one key, 0, when not keyed).
template <class Bound, class V>
using Rows = std::map<std::uint32_t, std::vector<Row<Bound, V>>>;

template <class T>
std::string text(const T& x) {
    if constexpr (std::is_same_v<T, Clock::time_point>) {
        return std::to_string(x.time_since_epoch().count()) + "ns";
    } else if constexpr (requires { x.view(); }) {  // agg::TopK
        std::string s = "{";
        for (const auto& v : x.view())
            s += std::to_string(v) + " ";
        return s + "}";
    } else if constexpr (requires { x.has_value(); }) {
        return x ? std::to_string(*x) : "none";
    } else {
        return std::to_string(x);
    }
}

/// The first difference between two results, "" when they are the same.
template <class Bound, class V>
std::string difference(const Rows<Bound, V>& got, const Rows<Bound, V>& expected) {
    const auto row_text = [](const Row<Bound, V>& r) {
        return "[" + text(r.start) + ", " + text(r.end) + ") = " + text(r.value);
    };
    for (const auto& [key, want] : expected) {
        const auto it = got.find(key);
        const std::size_t have = it == got.end() ? 0 : it->second.size();
        for (std::size_t i = 0; i < want.size(); ++i) {
            if (i >= have) {
                return "key " + std::to_string(key) + ": " + std::to_string(have) + " windows of " +
                       std::to_string(want.size()) + "; first missing " + row_text(want[i]);
            }
            if (!(it->second[i] == want[i])) {
                return "key " + std::to_string(key) + " window " + std::to_string(i) + ": got " +
                       row_text(it->second[i]) + ", expected " + row_text(want[i]);
            }
        }
        if (have > want.size()) {
            return "key " + std::to_string(key) + ": extra " + row_text(it->second[want.size()]);
        }
    }
    for (const auto& [key, rows] : got) {
        if (!expected.contains(key)) return "unexpected key " + std::to_string(key);
    }
    return "";
}

template <class K>
std::uint32_t key_number(const K& key) {
    if constexpr (std::is_same_v<K, rill::NoKey>) {
        return 0;
    } else {
        return key;
    }
}

/// Collects a window stage's results from its (single) sink, thread-safely.
template <class W>
struct Collector {
    using Bound = decltype(W::start);
    using V = decltype(W::value);
    std::mutex mutex;
    Rows<Bound, V> rows;
    std::atomic<std::size_t> count{0};

    auto sink() {
        return [this](W w) {
            std::lock_guard lock(mutex);
            rows[key_number(w.key)].push_back({w.start, w.end, w.value});
            count.fetch_add(1);
        };
    }
};

struct Timed {
    Clock::time_point t;
    Reading r;
};

/// The items of each key, in arrival order.
std::map<std::uint32_t, std::vector<Timed>> by_key(const std::vector<Timed>& items) {
    std::map<std::uint32_t, std::vector<Timed>> per_key;
    for (const Timed& x : items)
        per_key[x.r.key].push_back(x);
    return per_key;
}

template <class A>
auto reference_tumbling(const std::vector<Timed>& items, Clock::duration size, const A& a) {
    using V = rill::aggregation_result_t<A, Reading>;
    std::map<std::uint32_t, std::map<std::int64_t, std::vector<Reading>>> groups;
    for (const Timed& x : items)
        groups[x.r.key][x.t.time_since_epoch() / size].push_back(x.r);
    Rows<Clock::time_point, V> rows;
    for (const auto& [key, windows] : groups) {
        for (const auto& [k, seq] : windows)
            rows[key].push_back({Clock::time_point{} + k * size,
                                 Clock::time_point{} + (k + 1) * size,
                                 fold(a, seq.begin(), seq.end())});
    }
    return rows;
}

template <class A>
auto reference_sliding(const std::vector<Timed>& items, Clock::duration size, Clock::duration slide,
                       const A& a) {
    using V = rill::aggregation_result_t<A, Reading>;
    Rows<Clock::time_point, V> rows;
    for (const auto& [key, seq] : by_key(items)) {
        std::set<std::int64_t> ends;  // in slides: every window end that covers an item
        for (const Timed& x : seq) {
            const std::int64_t t = x.t.time_since_epoch().count();
            for (std::int64_t e = t / slide.count() + 1; e * slide.count() - size.count() <= t; ++e)
                ends.insert(e);
        }
        for (const std::int64_t e : ends) {
            const Clock::time_point end = Clock::time_point{} + e * slide;
            const Clock::time_point start = end - size;
            std::vector<Reading> in;
            for (const Timed& x : seq) {
                if (x.t >= start && x.t < end) in.push_back(x.r);
            }
            rows[key].push_back({start, end, fold(a, in.begin(), in.end())});
        }
    }
    return rows;
}

template <class A>
auto reference_session(const std::vector<Timed>& items, Clock::duration gap, const A& a) {
    using V = rill::aggregation_result_t<A, Reading>;
    Rows<Clock::time_point, V> rows;
    for (const auto& [key, seq] : by_key(items)) {
        std::size_t first = 0;
        for (std::size_t i = 1; i <= seq.size(); ++i) {
            if (i < seq.size() && seq[i].t - seq[i - 1].t < gap) continue;
            std::vector<Reading> in;
            for (std::size_t j = first; j < i; ++j)
                in.push_back(seq[j].r);
            rows[key].push_back({seq[first].t, seq[i - 1].t + gap, fold(a, in.begin(), in.end())});
            first = i;
        }
    }
    return rows;
}

template <class Cond>
bool eventually(Cond&& cond) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::yield();
    }
    return true;
}

}  // namespace window_test
