#pragma once
// Sources: what Flow::source() accepts.
//  * a callable returning std::optional<T>: called until it returns std::nullopt;
//  * a polling source: an object with `using value_type = T;` and
//    `SourceStatus poll(rill::Emitter<T>& out, std::size_t max)` that emits at most `max` items;
//  * an input range, iterated once per run: an lvalue is referenced (keep it alive while the
//    flow runs), an rvalue is owned by the flow and copied into each run;
//  * rill::iota(first, last).

#include <concepts>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "rill/flow/emitter.hpp"

namespace rill {

enum class SourceStatus : std::uint8_t {
    more,  ///< may have more right away
    idle,  ///< nothing now; poll again after the stage's poll_interval or a StageContext::wake()
    done,  ///< exhausted
};

template <class S>
concept PollingSource = requires(S& s, Emitter<typename S::value_type>& out, std::size_t max) {
    { s.poll(out, max) } -> std::same_as<SourceStatus>;
};

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace detail

template <class F>
concept OptionalSource =
    std::invocable<F&> && detail::is_optional<std::remove_cvref_t<std::invoke_result_t<F&>>>::value;

/// Integers first, first+1, ..., last-1.
template <std::integral T>
class Iota {
  public:
    using value_type = T;
    constexpr Iota(T first, T last) noexcept : next_(first), last_(first < last ? last : first) {}

    SourceStatus poll(Emitter<T>& out, std::size_t max) noexcept {
        // In the unsigned type: last_ - next_ may not fit in T (iota<int>(INT_MIN, INT_MAX)).
        using U = std::make_unsigned_t<T>;
        const U left = static_cast<U>(static_cast<U>(last_) - static_cast<U>(next_));
        const std::size_t n = left > max ? max : static_cast<std::size_t>(left);
        T next = next_;  // never passes last_, so ++ stays in T
        out.emit_n(n, [&next]() noexcept { return next++; });
        next_ = next;
        return next_ == last_ ? SourceStatus::done : SourceStatus::more;
    }

  private:
    T next_;
    T last_;
};

template <std::integral T>
[[nodiscard]] constexpr Iota<T> iota(T first, T last) noexcept {
    return Iota<T>(first, last);
}

/// A range as a polling source. Iteration starts at the first poll, on the range this object
/// holds, so copies made when the flow starts iterate their own copy.
template <std::ranges::input_range R>
class RangeSource {
  public:
    using value_type = std::ranges::range_value_t<R>;
    explicit RangeSource(R range) : range_(std::move(range)) {}
    RangeSource(const RangeSource& other) : range_(other.range_) {}
    RangeSource& operator=(const RangeSource&) = delete;

    /// An element whose reading (or conversion to value_type) throws is stepped over before the
    /// exception leaves: the stage counts it errored, and under ErrorPolicy::skip the next poll
    /// goes on with the element after it. An iterator whose increment throws cannot go on: the
    /// source then ends after that error.
    SourceStatus poll(Emitter<value_type>& out, std::size_t max) {
        if (ended_) return SourceStatus::done;
        if (!it_) it_.emplace(std::ranges::begin(range_));
        auto& it = *it_;
        const auto end = std::ranges::end(range_);
        for (std::size_t i = 0; i < max && it != end; ++i) {
            std::exception_ptr failed;
            try {
                out.emit(value_type(*it));
            } catch (...) {
                failed = std::current_exception();
            }
            try {
                ++it;
            } catch (...) {
                ended_ = true;
                throw;
            }
            if (failed) std::rethrow_exception(failed);
        }
        return it == end ? SourceStatus::done : SourceStatus::more;
    }

  private:
    R range_;
    std::optional<std::ranges::iterator_t<R>> it_;
    bool ended_ = false;
};

/// Refers to a range that outlives the flow. (std::ranges::ref_view would do, but Clang 14
/// cannot instantiate libstdc++ 12's.)
template <class R>
class RangeRef {
  public:
    explicit RangeRef(R& range) noexcept : range_(&range) {}
    [[nodiscard]] auto begin() const { return std::ranges::begin(*range_); }
    [[nodiscard]] auto end() const { return std::ranges::end(*range_); }

  private:
    R* range_;
};

template <std::ranges::input_range R>
using range_holder_t =
    std::conditional_t<std::is_lvalue_reference_v<R>, RangeRef<std::remove_reference_t<R>>,
                       std::remove_cvref_t<R>>;

template <std::ranges::input_range R>
[[nodiscard]] RangeSource<range_holder_t<R>> from_range(R&& range) {
    return RangeSource<range_holder_t<R>>(range_holder_t<R>(std::forward<R>(range)));
}

}  // namespace rill
