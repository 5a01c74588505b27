#pragma once
// Aggregations for windows: how a window's items fold into one value, incrementally.
//
//   struct A {
//       using accumulator = Acc;
//       Acc init() const;                        // the empty aggregate: merge's identity
//       void add(Acc& acc, const T& item) const;  // fold one item in
//       Acc merge(const Acc& older, const Acc& newer) const;  // associative
//       R result(const Acc& acc) const;           // what the window emits
//       void remove(Acc& acc, const T& item) const;  // optional: makes it invertible
//   };
//
// merge must agree with add: merge(a, add(init(), x)) == add(a, x), and be associative (not
// necessarily commutative: `older` holds earlier items). An invertible aggregation (remove undoes
// add) slides in O(1) per item by subtracting what leaves; any other slides in O(1) amortized by
// two stacks of partial aggregates (sliding_aggregator.hpp). Sums over floating point are not
// invertible here: subtracting what leaves would let rounding drift without bound.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace rill {

template <class A, class T>
concept Aggregation = std::copy_constructible<A> &&
    requires(const A& a, typename A::accumulator acc, const T& item) {
    { a.init() } -> std::convertible_to<typename A::accumulator>;
    a.add(acc, item);
    { a.merge(acc, acc) } -> std::convertible_to<typename A::accumulator>;
    a.result(acc);
};

template <class A, class T>
concept InvertibleAggregation = Aggregation<A, T> &&
    requires(const A& a, typename A::accumulator acc, const T& item) {
    a.remove(acc, item);
};

/// What an aggregation A emits for items of type T.
template <class A, class T>
using aggregation_result_t = std::remove_cvref_t<decltype(std::declval<const A&>().result(
    std::declval<const typename A::accumulator&>()))>;

namespace agg {

/// Sum of the items, in T. Invertible for integers (wrapping as T does), not for floating point.
template <class T>
struct Sum {
    using accumulator = T;
    [[nodiscard]] T init() const { return T{}; }
    void add(T& acc, const T& x) const { acc += x; }
    [[nodiscard]] T merge(const T& a, const T& b) const { return a + b; }
    [[nodiscard]] T result(const T& acc) const { return acc; }
    void remove(T& acc, const T& x) const requires std::integral<T> { acc -= x; }
};

/// How many items; invertible.
struct Count {
    using accumulator = std::uint64_t;
    [[nodiscard]] std::uint64_t init() const { return 0; }
    template <class T>
    void add(std::uint64_t& acc, const T&) const {
        ++acc;
    }
    [[nodiscard]] std::uint64_t merge(std::uint64_t a, std::uint64_t b) const { return a + b; }
    [[nodiscard]] std::uint64_t result(std::uint64_t acc) const { return acc; }
    template <class T>
    void remove(std::uint64_t& acc, const T&) const {
        --acc;
    }
};

/// Smaller: x before y when x < y; Larger: when y < x. Both need only operator<. worst<T>() is
/// what any arithmetic value comes before or equals (the identity of Min and Max).
struct Smaller {
    template <class T>
    bool operator()(const T& x, const T& y) const {
        return x < y;
    }
    template <class T>
    static constexpr T worst() noexcept {
        if constexpr (std::numeric_limits<T>::has_infinity) {
            return std::numeric_limits<T>::infinity();
        } else {
            return std::numeric_limits<T>::max();
        }
    }
};
struct Larger {
    template <class T>
    bool operator()(const T& x, const T& y) const {
        return y < x;
    }
    template <class T>
    static constexpr T worst() noexcept {
        if constexpr (std::numeric_limits<T>::has_infinity) {
            return -std::numeric_limits<T>::infinity();
        } else {
            return std::numeric_limits<T>::lowest();
        }
    }
};

/// The item that comes first by Before (std::nullopt for an empty window; the older of equals);
/// not invertible. Min and Max below. For arithmetic T the accumulator is the value itself
/// (starting from Before::worst) and a flag, so that merging is a branch-free select: which side
/// wins is as unpredictable as the data, and a mispredicted branch per merge would cost more
/// than the merge. A floating-point NaN never wins there.
template <class T, class Before>
struct Extreme {
    static constexpr bool kScalar = std::is_arithmetic_v<T>;
    struct Scalar {
        T value = Before::template worst<T>();
        bool any = false;
    };
    using accumulator = std::conditional_t<kScalar, Scalar, std::optional<T>>;

    [[nodiscard]] accumulator init() const { return {}; }
    void add(accumulator& acc, const T& x) const {
        if constexpr (kScalar) {
            acc.value = Before{}(x, acc.value) ? x : acc.value;
            acc.any = true;
        } else {
            if (!acc || Before{}(x, *acc)) acc = x;
        }
    }
    [[nodiscard]] accumulator merge(const accumulator& a, const accumulator& b) const {
        if constexpr (kScalar) {
            return {Before{}(b.value, a.value) ? b.value : a.value, a.any || b.any};
        } else {
            if (!a) return b;
            if (!b) return a;
            return Before{}(*b, *a) ? b : a;
        }
    }
    [[nodiscard]] std::optional<T> result(const accumulator& acc) const {
        if constexpr (kScalar) {
            return acc.any ? std::optional<T>(acc.value) : std::nullopt;
        } else {
            return acc;
        }
    }
};

/// The smallest item.
template <class T>
struct Min : Extreme<T, Smaller> {};
/// The largest item.
template <class T>
struct Max : Extreme<T, Larger> {};

/// The arithmetic mean as a double (NaN for an empty window). Sums integers exactly in 64 bits
/// (invertible); floating point in double (not invertible).
template <class T>
struct Mean {
    using sum_type =
        std::conditional_t<std::is_floating_point_v<T>, double,
                           std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>>;
    struct accumulator {
        sum_type sum{};
        std::uint64_t count = 0;
    };
    [[nodiscard]] accumulator init() const { return {}; }
    void add(accumulator& acc, const T& x) const {
        acc.sum += static_cast<sum_type>(x);
        ++acc.count;
    }
    [[nodiscard]] accumulator merge(const accumulator& a, const accumulator& b) const {
        return {static_cast<sum_type>(a.sum + b.sum), a.count + b.count};
    }
    [[nodiscard]] double result(const accumulator& acc) const {
        return acc.count == 0 ? std::numeric_limits<double>::quiet_NaN()
                              : static_cast<double>(acc.sum) / static_cast<double>(acc.count);
    }
    void remove(accumulator& acc, const T& x) const requires std::integral<T> {
        acc.sum -= static_cast<sum_type>(x);
        --acc.count;
    }
};

/// A over a part of the item: on(&Trade::price, Max<double>{}) aggregates the prices of a
/// stream of trades. Invertible when A is. `project` is anything std::invoke takes (a member
/// pointer, a lambda) and returns what A aggregates.
template <class Projection, class A>
struct On {
    Projection project;
    A agg;
    using accumulator = typename A::accumulator;
    [[nodiscard]] accumulator init() const { return agg.init(); }
    template <class T>
    void add(accumulator& acc, const T& item) const {
        agg.add(acc, std::invoke(project, item));
    }
    [[nodiscard]] accumulator merge(const accumulator& a, const accumulator& b) const {
        return agg.merge(a, b);
    }
    [[nodiscard]] auto result(const accumulator& acc) const { return agg.result(acc); }
    template <class T>
    void remove(accumulator& acc, const T& item) const requires
        requires(const A& a, accumulator& c, const T& x) {
        a.remove(c, std::invoke(project, x));
    }
    { agg.remove(acc, std::invoke(project, item)); }
};
template <class Projection, class A>
[[nodiscard]] On<Projection, A> on(Projection project, A aggregation) {
    return {std::move(project), std::move(aggregation)};
}

}  // namespace agg
}  // namespace rill
