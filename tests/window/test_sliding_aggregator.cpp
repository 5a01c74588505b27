// SlidingAggregator against the obvious reference (fold the items held, oldest first, after every
// step) over seeded random pushes and evicts, for every built-in aggregation and an
// order-sensitive one; top-k and whole-window functions against sorting; and the bounds it
// checks.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rill/window/aggregation.hpp"
#include "rill/window/sliding_aggregator.hpp"

namespace {

/// Associative, not commutative: the items' last digits in window order, as a string (only the
/// first and last 8 kept, so the accumulator stays small).
struct Digits {
    using accumulator = std::string;
    [[nodiscard]] std::string init() const { return {}; }
    void add(std::string& acc, const std::int64_t& x) const {
        acc = merge(acc, std::string(1, static_cast<char>('0' + (x % 10 + 10) % 10)));
    }
    [[nodiscard]] std::string merge(const std::string& a, const std::string& b) const {
        std::string s = a;
        s += b;
        if (s.size() > 16) s.erase(8, s.size() - 16);  // keeps the first 8 and the last 8
        return s;
    }
    [[nodiscard]] std::string result(const std::string& acc) const { return acc; }
};

template <class A>
struct Case;
template <class T>
struct Case<rill::agg::Sum<T>> {
    using item = T;
};
template <>
struct Case<rill::agg::Count> {
    using item = std::int64_t;
};
template <class T>
struct Case<rill::agg::Min<T>> {
    using item = T;
};
template <class T>
struct Case<rill::agg::Max<T>> {
    using item = T;
};
template <class T>
struct Case<rill::agg::Mean<T>> {
    using item = T;
};
template <class T, std::size_t K, class B>
struct Case<rill::agg::TopK<T, K, B>> {
    using item = T;
};
template <>
struct Case<Digits> {
    using item = std::int64_t;
};

template <class R>
struct is_optional : std::false_type {};
template <class R>
struct is_optional<std::optional<R>> : std::true_type {};

template <class R>
bool same(const R& got, const R& expected) {
    if constexpr (is_optional<R>::value) {
        return got.has_value() == expected.has_value() && (!got || same(*got, *expected));
    } else if constexpr (std::is_floating_point_v<R>) {
        // Two stacks merge in another grouping than a left fold: rounding may differ (the test's
        // values are multiples of 1/8, so sums are exact, but a user's need not be).
        if (std::isnan(expected)) return std::isnan(got);
        return std::abs(got - expected) <= 1e-9 * std::max(1.0, std::abs(expected));
    } else {
        return got == expected;
    }
}

}  // namespace

TEMPLATE_TEST_CASE("sliding aggregator: every step agrees with folding the window",
                   "[window][sliding]", rill::agg::Sum<std::int64_t>, rill::agg::Sum<double>,
                   rill::agg::Count, rill::agg::Min<int>, rill::agg::Max<double>,
                   rill::agg::Mean<std::int32_t>, rill::agg::Mean<double>,
                   (rill::agg::TopK<int, 3>), (rill::agg::TopK<double, 5, rill::agg::Smaller>),
                   Digits) {
    using T = typename Case<TestType>::item;
    const std::size_t capacity = GENERATE(1, 2, 7, 1000);
    const std::uint64_t seed = GENERATE(1, 2);
    CAPTURE(capacity, seed, rill::SlidingAggregator<T, TestType>::kInvertible);
    rill::SlidingAggregator<T, TestType> window(capacity);
    const TestType agg{};
    std::deque<T> reference;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> value(-1000, 1000);
    for (int step = 0; step < 20'000; ++step) {
        // Mostly full windows sliding by one, with runs that fill or drain them.
        const bool push = reference.size() < capacity && (reference.empty() || rng() % 8 != 0);
        if (push) {
            const T x =
                static_cast<T>(value(rng)) / static_cast<T>(std::is_floating_point_v<T> ? 8 : 1);
            window.push(x);
            reference.push_back(x);
        } else {
            window.evict();
            reference.pop_front();
        }
        if (reference.size() == capacity && rng() % 2 == 0) {
            window.evict();
            reference.pop_front();
        }
        typename TestType::accumulator folded = agg.init();
        for (const T& x : reference)
            agg.add(folded, x);
        INFO("step " << step << ", " << reference.size() << " items held");
        REQUIRE(window.size() == reference.size());
        REQUIRE(same(window.result(), agg.result(folded)));
    }
}

TEST_CASE("sliding aggregator: refuses a zero capacity, naming it", "[window][sliding]") {
    CHECK_THROWS_WITH((rill::SlidingAggregator<int, rill::agg::Sum<int>>(0)),
                      Catch::Contains("capacity is 0") && Catch::Contains("at least 1"));
}

TEST_CASE("sliding aggregator: clear empties it and it slides again", "[window][sliding]") {
    rill::SlidingAggregator<int, rill::agg::Max<int>> window(3);
    for (int x : {5, 1, 4})
        window.push(x);
    window.evict();
    CHECK(window.result() == 4);
    window.clear();
    CHECK(window.empty());
    CHECK_FALSE(window.result().has_value());
    for (int x : {2, 9, 3}) {
        window.push(x);
    }
    window.evict();
    window.evict();
    CHECK(window.result() == 3);
}

TEMPLATE_TEST_CASE("min and max agree with std::min_element and std::max_element",
                   "[window][sliding]", int, double, std::string) {
    // Scalars take the branch-free accumulator, strings the optional one.
    const auto make = [](int v) {
        if constexpr (std::is_same_v<TestType, std::string>) {
            return std::to_string(v);
        } else {
            return static_cast<TestType>(v);
        }
    };
    rill::SlidingAggregator<TestType, rill::agg::Min<TestType>> min(50);
    rill::SlidingAggregator<TestType, rill::agg::Max<TestType>> max(50);
    std::deque<TestType> reference;
    std::mt19937_64 rng(5);
    for (int step = 0; step < 5000; ++step) {
        if (reference.size() == 50) {
            min.evict();
            max.evict();
            reference.pop_front();
        }
        const TestType x = make(static_cast<int>(rng() % 2001) - 1000);
        min.push(x);
        max.push(x);
        reference.push_back(x);
        REQUIRE(min.result() == *std::min_element(reference.begin(), reference.end()));
        REQUIRE(max.result() == *std::max_element(reference.begin(), reference.end()));
    }
    CHECK_FALSE(rill::agg::Max<TestType>{}.result(rill::agg::Max<TestType>{}.init()).has_value());
}

namespace {
/// Compared by value only, so that equal values show which one a top-k kept.
struct Ranked {
    int value = 0;
    int seq = 0;
    friend bool operator<(const Ranked& a, const Ranked& b) { return a.value < b.value; }
};
}  // namespace

TEST_CASE("top_k keeps the k first by its order, the older first among equals",
          "[window][sliding]") {
    const rill::agg::TopK<Ranked, 4> top;
    std::mt19937_64 rng(5);
    for (int round = 0; round < 200; ++round) {
        std::vector<Ranked> items(rng() % 12);
        for (std::size_t i = 0; i < items.size(); ++i)
            items[i] = {static_cast<int>(rng() % 5), static_cast<int>(i)};
        // Folded in two halves and merged, and item by item: both the reference's.
        const std::size_t half = items.size() / 2;
        auto older = top.init();
        auto newer = top.init();
        auto all = top.init();
        for (std::size_t i = 0; i < items.size(); ++i) {
            top.add(i < half ? older : newer, items[i]);
            top.add(all, items[i]);
        }
        std::vector<Ranked> expected = items;
        std::stable_sort(expected.begin(), expected.end(),
                         [](const Ranked& a, const Ranked& b) { return b < a; });
        expected.resize(std::min<std::size_t>(expected.size(), 4));
        for (const auto& acc : {all, top.merge(older, newer)}) {
            REQUIRE(acc.size == expected.size());
            for (std::size_t i = 0; i < expected.size(); ++i) {
                CHECK(acc.items[i].value == expected[i].value);
                CHECK(acc.items[i].seq == expected[i].seq);
            }
        }
    }
}

TEST_CASE("a whole-window function sees the window's items in order", "[window][sliding]") {
    const auto joined = rill::agg::whole_window<int>([](std::span<const int> xs) {
        std::string s;
        for (int x : xs)
            s += std::to_string(x) + ",";
        return s;
    });
    auto a = joined.init();
    auto b = joined.init();
    for (int x : {1, 2, 3})
        joined.add(a, x);
    for (int x : {4, 5})
        joined.add(b, x);
    CHECK(joined.result(joined.merge(a, b)) == "1,2,3,4,5,");
    CHECK(joined.result(joined.init()).empty());
}
