#pragma once
// The stage of stream.event_time(...) (rill/time/event_time.hpp): passes items on unchanged and
// makes the stream's watermarks from their timestamps, once per batch; a timer says when the
// stream has gone idle.

#include <algorithm>
#include <functional>
#include <span>
#include <type_traits>
#include <utility>

#include "rill/detail/deadline.hpp"
#include "rill/flow/detail/stages.hpp"
#include "rill/time/event_time.hpp"
#include "rill/time/watermark.hpp"

namespace rill::detail {

/// The stage object: the user's timestamp function, the options, and where event time stands.
template <class T, class TsFn>
struct WatermarkGenerator {
    TsFn timestamp_of;
    EventTimeOptions options;
    const Clock* clock = nullptr;
    Clock::time_point newest = Clock::time_point::min();  // largest timestamp seen
    Clock::time_point sent = Clock::time_point::min();    // the last watermark's time
    Clock::time_point last_batch{};                       // clock time of the last items
    bool idle = false;

    [[nodiscard]] bool tracks_idleness() const noexcept {
        return options.idle_after != Clock::duration::max();
    }
    void open(StageContext& context) {
        clock = &context.clock();
        last_batch = clock->now();
    }

    /// After a batch: the watermark, if the newest timestamp moved it.
    void after_batch(Clock::time_point batch_newest, Emitter<T>& out) {
        if (tracks_idleness()) {
            last_batch = clock->now();
            idle = false;
        }
        newest = std::max(newest, batch_newest);
        if (newest < Clock::time_point::min() + options.max_out_of_order) return;  // none yet
        const Clock::time_point w = newest - options.max_out_of_order;
        if (w <= sent) return;
        sent = w;
        out.emit_watermark(Watermark{w, false});
    }

    [[nodiscard]] Clock::time_point next_timer() const {
        if (!tracks_idleness() || idle) return Clock::time_point::max();
        return deadline_after(last_batch, options.idle_after);
    }
    void on_timer(Clock::time_point now, Emitter<T>& out) {
        if (idle || now < deadline_after(last_batch, options.idle_after)) return;
        idle = true;
        out.emit_watermark(Watermark{sent, true});
    }
};

template <class T, class TsFn>
class EventTimeStage final
    : public ConsumingStage<EventTimeStage<T, TsFn>, T, T, WatermarkGenerator<T, TsFn>> {
    using Base = ConsumingStage<EventTimeStage, T, T, WatermarkGenerator<T, TsFn>>;

  public:
    using Base::Base;

    Tally process(std::span<T> items) noexcept {
        Tally tally;
        Clock::time_point newest = Clock::time_point::min();
        std::size_t i = 0;
        this->each_item(i, items.size(), tally, [&](std::size_t j) {
            const Clock::time_point t = std::invoke(this->f_.timestamp_of, std::as_const(items[j]));
            newest = std::max(newest, t);
            this->out.emit(std::move(items[j]));
        });
        try {
            this->f_.after_batch(newest, this->out);
        } catch (...) {
            this->hook_failed();  // the clock does not throw; a throwing emit would be a bug
        }
        return tally;
    }
};

}  // namespace rill::detail
