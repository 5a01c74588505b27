#pragma once
// Compile-time checks that a stage's callable fits the stream it is added to, with errors that
// name both types: the compiler prints the template arguments of the *_mismatch structs below.

#include <type_traits>
#include <utility>

#include "rill/flow/emitter.hpp"

namespace rill::detail {

/// Stands for the parameter type of a generic callable, which cannot be named.
struct generic_parameter {};

template <class... A>
struct first_of {
    using type = generic_parameter;
};
template <class A, class... Rest>
struct first_of<A, Rest...> {
    using type = A;
};
template <class... A>
struct second_of {
    using type = generic_parameter;
};
template <class A, class B, class... Rest>
struct second_of<A, B, Rest...> {
    using type = B;
};

template <class Sig>
struct signature {
    using first = generic_parameter;
    using second = generic_parameter;
};
#define RILL_SIGNATURE(QUALIFIERS)                     \
    template <class R, class C, class... A>            \
    struct signature<R (C::*)(A...) QUALIFIERS> {      \
        using first = typename first_of<A...>::type;   \
        using second = typename second_of<A...>::type; \
    };
RILL_SIGNATURE()
RILL_SIGNATURE(const)
RILL_SIGNATURE(noexcept)
RILL_SIGNATURE(const noexcept)
RILL_SIGNATURE(&)
RILL_SIGNATURE(const&)
#undef RILL_SIGNATURE
template <class R, class... A>
struct signature<R (*)(A...)> {
    using first = typename first_of<A...>::type;
    using second = typename second_of<A...>::type;
};
template <class R, class... A>
struct signature<R (*)(A...) noexcept> : signature<R (*)(A...)> {};

template <class F, class = void>
struct callable_signature : signature<void> {};
template <class F>
struct callable_signature<F, std::void_t<decltype(&F::operator())>>
    : signature<decltype(&F::operator())> {};
template <class F>
requires std::is_pointer_v<F>
struct callable_signature<F, void> : signature<F> {
};

template <class F>
using first_parameter_t = typename callable_signature<std::remove_cvref_t<F>>::first;
template <class F>
using second_parameter_t = typename callable_signature<std::remove_cvref_t<F>>::second;

/// The Out of a flat_map or per_batch callable whose second parameter is Emitter<Out>&.
template <class P>
struct emitter_item {
    using type = void;
};
template <class T>
struct emitter_item<Emitter<T>&> {
    using type = T;
};
template <class F>
using emitted_item_t = typename emitter_item<second_parameter_t<F>>::type;

template <class T>
inline constexpr bool dependent_false = false;

template <class StreamItem, class StageParameter>
struct stage_input_mismatch {
    static_assert(dependent_false<StreamItem>,
                  "rill: the stage's callable cannot take the items of the stream it is added to; "
                  "see stage_input_mismatch<stream item type, stage parameter type> above");
};

/// A generic callable (a lambda taking `auto`) whose call with the stream's items does not compile:
/// the member below makes that call, so the compiler's own error says why.
template <class StreamItem, class Callable, class... More>
struct generic_stage_cannot_take {
    using the_call =
        decltype(std::declval<Callable&>()(std::declval<StreamItem>(), std::declval<More>()...));
    static_assert(dependent_false<StreamItem>,
                  "rill: the stage's generic callable cannot take the items of the stream it is "
                  "added to; the error above, from calling it with a stream item, says why");
};

/// Reports a callable F that cannot take `StreamItem` (plus `More`, e.g. the Emitter): by the
/// two types when F's parameter type is known, by the failing call itself when F is generic.
template <class StreamItem, class F, class... More>
constexpr void stage_cannot_take() {
    if constexpr (std::is_same_v<first_parameter_t<F>, generic_parameter>) {
        [[maybe_unused]] generic_stage_cannot_take<StreamItem, F, More...> error;
    } else {
        [[maybe_unused]] stage_input_mismatch<std::remove_cvref_t<StreamItem>, first_parameter_t<F>>
            error;
    }
}

template <class StreamItem, class Callable>
struct flat_map_output_unknown {
    static_assert(
        dependent_false<StreamItem>,
        "rill: cannot tell what this flat_map or per_batch stage emits; write "
        "flat_map<Out>(...) or per_batch<Out>(...), or take rill::Emitter<Out>& explicitly");
};

template <class Item>
struct item_not_nothrow_movable {
    static_assert(dependent_false<Item>,
                  "rill: stream items travel through rings and must be nothrow move-constructible "
                  "and destructible; see item_not_nothrow_movable<item type> above");
};

template <class Item>
constexpr bool check_item() {
    if constexpr (!(std::is_nothrow_move_constructible_v<Item> &&
                    std::is_nothrow_destructible_v<Item>)) {
        [[maybe_unused]] item_not_nothrow_movable<Item> error;
        return false;
    }
    return true;
}

}  // namespace rill::detail
