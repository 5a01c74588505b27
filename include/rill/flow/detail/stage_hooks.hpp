#pragma once
// The optional members of a user's stage object that the runtime calls besides the per-item
// function (open and close are in stage_base.hpp):
//
//   Clock::time_point next_timer() const;    when the stage wants on_timer next (max(): never);
//                                            read after open, every batch and every on_timer
//   void on_timer(Clock::time_point now, Emitter<Out>& out);   or on_timer(now) in a sink
//   void finish(Emitter<Out>& out);          end of input, before the output closes: the place
//                                            to emit what the stage still holds (not on cancel)
//   void on_watermark(Watermark w, Emitter<Out>& out);   or on_watermark(w) in a sink: event
//                                            time reached w (rill/time/watermark.hpp), after
//                                            every item before it; the runtime passes the
//                                            watermark on downstream after the call
//
// A stage object that declares on_timer or finish with another signature is refused at compile
// time rather than never called.

#include <concepts>
#include <type_traits>

#include "rill/flow/emitter.hpp"
#include "rill/time/clock.hpp"
#include "rill/time/watermark.hpp"

namespace rill::detail {

template <class F>
concept timed_sink = requires(F& f, Clock::time_point now) {
    f.on_timer(now);
};
template <class F, class Out>
concept timed_stage = requires(F& f, Clock::time_point now, Emitter<Out>& out) {
    f.on_timer(now, out);
};
template <class F>
concept schedules_timers = requires(const F& f) {
    { f.next_timer() } -> std::convertible_to<Clock::time_point>;
};
template <class F>
concept declares_on_timer = requires {
    &F::on_timer;
};
template <class F>
concept declares_finish = requires {
    &F::finish;
};
template <class F>
concept declares_on_watermark = requires {
    &F::on_watermark;
};
template <class F, class Out>
inline constexpr bool watermark_hook = [] {
    if constexpr (std::is_void_v<Out>) {
        return requires(F & f, Watermark w) {
            f.on_watermark(w);
        };
    } else {
        return requires(F & f, Watermark w, Emitter<Out> & out) {
            f.on_watermark(w, out);
        };
    }
}();

template <class F, class Out>
consteval bool check_hooks() {
    if constexpr (std::is_void_v<Out>) {
        static_assert(
            !declares_on_timer<F> || timed_sink<F>,
            "rill: a sink's on_timer must be callable as on_timer(Clock::time_point now)");
        static_assert(!declares_finish<F>,
                      "rill: a sink has nothing to emit at end of input: use close() instead of "
                      "finish()");
        static_assert(!declares_on_watermark<F> || watermark_hook<F, Out>,
                      "rill: a sink's on_watermark must be callable as on_watermark(Watermark)");
    } else {
        static_assert(!declares_on_timer<F> || timed_stage<F, Out>,
                      "rill: a stage's on_timer must be callable as on_timer(Clock::time_point "
                      "now, Emitter<Out>& out), Out being the stage's output type");
        static_assert(
            !declares_finish<F> || requires(F & f, Emitter<Out> & out) { f.finish(out); },
            "rill: a stage's finish must be callable as finish(Emitter<Out>& out), Out "
            "being the stage's output type");
        static_assert(!declares_on_watermark<F> || watermark_hook<F, Out>,
                      "rill: a stage's on_watermark must be callable as on_watermark(Watermark, "
                      "Emitter<Out>& out), Out being the stage's output type");
    }
    return true;
}

/// Whether the runtime calls F's on_timer (and then F must say when, by next_timer()).
template <class F, class Out>
consteval bool has_on_timer() {
    static_assert(check_hooks<F, Out>());
    constexpr bool timed = [] {
        if constexpr (std::is_void_v<Out>) {
            return timed_sink<F>;
        } else {
            return timed_stage<F, Out>;
        }
    }();
    static_assert(!timed || schedules_timers<F>,
                  "rill: a stage with on_timer must say when it wants it: Clock::time_point "
                  "next_timer() const (Clock::time_point::max() for never)");
    return timed;
}

template <class F, class Out>
inline constexpr bool has_finish = [] {
    if constexpr (std::is_void_v<Out>) {
        return false;
    } else {
        return requires(F & f, Emitter<Out> & out) {
            f.finish(out);
        };
    }
}();

}  // namespace rill::detail
