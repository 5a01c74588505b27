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
// invertible here: subtracting what leaves would let rounding drift without bound. An add that
// throws (the item then fails by the stage's error policy) should leave `acc` as it was, as the
// built-in ones do: windows add in place.

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

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

/// The k items that come first by Before (Larger: the k largest; Smaller: the k smallest), best
/// first, the older first among equals (older: earlier in the order a whole-window function
/// sees). The accumulator is a fixed array, so nothing is
/// allocated (T must be default-constructible and copyable); add and merge cost O(k); not
/// invertible. The result is the accumulator: view() is the span of the items kept.
template <class T, std::size_t K, class Before = Larger>
struct TopK {
    static_assert(K >= 1, "rill::agg::TopK: k must be at least 1");
    struct accumulator {
        std::array<T, K> items{};
        std::size_t size = 0;
        [[nodiscard]] std::span<const T> view() const noexcept { return {items.data(), size}; }
        friend bool operator==(const accumulator& a, const accumulator& b) {
            return std::ranges::equal(a.view(), b.view());
        }
    };
    [[nodiscard]] accumulator init() const { return {}; }
    void add(accumulator& acc, const T& x) const {
        // After every item x does not come before: equals stay oldest first.
        std::size_t i = acc.size;
        while (i > 0 && Before{}(x, acc.items[i - 1]))
            --i;
        if (i == K) return;
        const std::size_t last = acc.size < K ? acc.size : K - 1;
        for (std::size_t j = last; j > i; --j)
            acc.items[j] = acc.items[j - 1];
        acc.items[i] = x;
        if (acc.size < K) ++acc.size;
    }
    [[nodiscard]] accumulator merge(const accumulator& older, const accumulator& newer) const {
        accumulator out;
        std::size_t i = 0;
        std::size_t j = 0;
        while (out.size < K && (i < older.size || j < newer.size)) {
            const bool take_newer =
                i == older.size || (j < newer.size && Before{}(newer.items[j], older.items[i]));
            out.items[out.size++] = take_newer ? newer.items[j++] : older.items[i++];
        }
        return out;
    }
    [[nodiscard]] const accumulator& result(const accumulator& acc) const { return acc; }
};

/// A whole-window function: f(std::span<const T>) sees the window's items and returns the
/// window's result (a median, a percentile, a sort). The items come in the order they arrived
/// (on time windows by pane, then arrival; a session's in the order its parts merged). It keeps
/// every item of every open window (a std::vector per window and key: memory, copies, and
/// allocations as windows grow), and sliding windows copy items again for every window they are
/// in: prefer an incremental aggregation where one fits. Refused on a sliding count window (the
/// two-stacks aggregator would copy a window per item).
template <class T, class F>
struct WholeWindow {
    F f;
    using accumulator = std::vector<T>;
    [[nodiscard]] accumulator init() const { return {}; }
    void add(accumulator& acc, const T& x) const { acc.push_back(x); }
    [[nodiscard]] accumulator merge(const accumulator& older, const accumulator& newer) const {
        accumulator out;
        out.reserve(older.size() + newer.size());
        out.insert(out.end(), older.begin(), older.end());
        out.insert(out.end(), newer.begin(), newer.end());
        return out;
    }
    [[nodiscard]] auto result(const accumulator& acc) const {
        return std::invoke(f, std::span<const T>(acc));
    }
};
/// whole_window<T>(f): see WholeWindow.
template <class T, class F>
[[nodiscard]] WholeWindow<T, F> whole_window(F f) {
    static_assert(std::is_invocable_v<const F&, std::span<const T>>,
                  "rill::agg::whole_window<T>(f): f must take std::span<const T>");
    return {std::move(f)};
}

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

namespace detail {
/// Whether A keeps whole windows (agg::WholeWindow, also under agg::on).
template <class A>
inline constexpr bool keeps_whole_windows = false;
template <class T, class F>
inline constexpr bool keeps_whole_windows<agg::WholeWindow<T, F>> = true;
template <class P, class A>
inline constexpr bool keeps_whole_windows<agg::On<P, A>> = keeps_whole_windows<A>;
}  // namespace detail
}  // namespace rill
