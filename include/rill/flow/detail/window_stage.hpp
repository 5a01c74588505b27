#pragma once
// The stage of stream.window(...): runs a window operator (rill/window/detail/*_op.hpp) over each
// batch, its timer or watermarks and the end of input, and keeps the stage's accounting true
// while windows hold items: an item added to a window counts in `in_windows` until no window to
// come can contain it, then in `out`; an item too late for every window (event time) counts in
// `late`; on cancel what windows hold counts as dropped.

#include <cstdint>
#include <exception>
#include <span>
#include <utility>

#include "rill/flow/detail/stages.hpp"
#include "rill/window/detail/count_window_op.hpp"
#include "rill/window/detail/event_pane_op.hpp"
#include "rill/window/detail/event_session_op.hpp"
#include "rill/window/detail/session_window_op.hpp"
#include "rill/window/detail/time_window_ops.hpp"

namespace rill::detail {

/// The key of a window that is not keyed.
struct NoKeyFn {
    template <class T>
    NoKey operator()(const T&) const noexcept {
        return {};
    }
};

/// The operator for a window spec.
template <class Spec, class T, class A, class KeyFn>
struct window_op;
template <class T, class A, class KeyFn>
struct window_op<CountWindow, T, A, KeyFn> {
    using type = CountWindowOp<T, A, KeyFn>;
};
template <class T, class A, class KeyFn>
struct window_op<TumblingWindow, T, A, KeyFn> {
    using type = TumblingTimeOp<T, A, KeyFn>;
};
template <class T, class A, class KeyFn>
struct window_op<SlidingWindow, T, A, KeyFn> {
    using type = SlidingTimeOp<T, A, KeyFn>;
};
template <class T, class A, class KeyFn>
struct window_op<SessionWindow, T, A, KeyFn> {
    using type = SessionWindowOp<T, A, KeyFn>;
};

template <class Spec, class TsFn, class T, class A, class KeyFn>
struct window_op<EventTimeWindow<Spec, TsFn>, T, A, KeyFn> {
    using type = EventPaneOp<T, A, KeyFn, TsFn>;
};
template <class TsFn, class T, class A, class KeyFn>
struct window_op<EventTimeWindow<SessionWindow, TsFn>, T, A, KeyFn> {
    using type = EventSessionOp<T, A, KeyFn, TsFn>;
};

template <class In, class Op>
class WindowStage final
    : public ConsumingStage<WindowStage<In, Op>, In, typename Op::output_type, Op> {
    using Base = ConsumingStage<WindowStage, In, typename Op::output_type, Op>;

  public:
    using Base::Base;

    Tally process(std::span<In> items) noexcept {
        Tally tally;
        Clock::time_point now{};
        if constexpr (Op::kUsesClock) now = this->f_.now();  // once per batch
        std::size_t i = 0;
        this->each_item(i, items.size(), tally,
                        [&](std::size_t j) { this->f_.add(std::move(items[j]), now, this->out); });
        // Every item taken is held at first; settle() moves the released ones to `out`.
        tally.held = items.size() - tally.errored - tally.dropped;
        if (std::exception_ptr failure = this->f_.take_failure()) {
            this->run->fail(this->name, std::move(failure));
        }
        settle();
        return tally;
    }

    /// After on_timer and finish (which fails the run if it threw: what is still held then
    /// is dropped, as on cancel).
    void after_hook(bool finished) noexcept {
        if (finished && this->f_.held() != 0) {
            cancel_held();
            return;
        }
        settle();
    }
    void cancel_held() noexcept override {
        settle();
        bump(this->counters.dropped, this->f_.held());
        this->f_.discard();
        settle();
    }

  private:
    void settle() noexcept {
        const std::uint64_t released = this->f_.released();
        if (released != reported_) {
            bump(this->counters.out, released - reported_);
            reported_ = released;
        }
        const std::uint64_t late = this->f_.late();
        if (late != late_reported_) {
            bump(this->counters.late, late - late_reported_);
            late_reported_ = late;
        }
        // relaxed: a gauge for snapshots, single writer (see StageCounters).
        this->counters.in_windows.store(this->f_.held(), std::memory_order_relaxed);
    }

    std::uint64_t reported_ = 0;       // released items already counted out
    std::uint64_t late_reported_ = 0;  // late items already counted late
};

}  // namespace rill::detail
