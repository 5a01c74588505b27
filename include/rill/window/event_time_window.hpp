#pragma once
// Windows on event time: the time items carry, not the time they arrive.
//
//   stream.event_time("stamp", &Trade::time, {.max_out_of_order = 5ms})
//       .key_by(&Trade::symbol)
//       .window("volume", rill::by_event_time(rill::tumbling_window(1s), &Trade::time,
//                                             {.allowed_lateness = 100ms}),
//               rill::agg::on(&Trade::size, rill::agg::Sum<std::uint64_t>{}));
//
// by_event_time(window, timestamp_of, {...}) puts a tumbling, sliding or session window on the
// timestamps timestamp_of(const T&) reads (the same the event_time stage upstream reads). A
// window [start, end) fires when the watermark reaches `end` (no item before `end` is to come);
// a session fires when the watermark reaches its last item's time + gap.
//
// Lateness: an item whose window has fired is late. Within `allowed_lateness` of the window's
// end (on the watermark) it still joins the window, which fires again with the item in it (one
// more result per late item, key and window). Beyond it, the item is counted in the stage's
// `late` and goes to the stream late_items() returns, if the flow has one. A window's state (and
// its items, counted in `in_windows`) is kept until the watermark passes end + allowed_lateness.
// At the end of input every window that has not fired fires once.
//
// Bounds: `max_keys` (in the window spec) limits the keys of one window, and `max_open` the
// panes (tumbling, sliding: windows are made of panes of gcd(size, slide)) or sessions a stage
// keeps at once; past either the stage fails naming the limit, rather than growing without
// bound when timestamps run far ahead of the watermark or lateness is long.

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rill/flow/stage_options.hpp"
#include "rill/time/clock.hpp"
#include "rill/time/detail/duration_text.hpp"
#include "rill/window/window_spec.hpp"

namespace rill {

inline constexpr std::size_t kDefaultOpenWindows = std::size_t{1} << 16;

struct EventTimeWindowOptions {
    /// How long after a window fires late items still join it (>= 0, on the watermark).
    Clock::duration allowed_lateness{};
    /// Panes (tumbling, sliding) or sessions kept at once, for all keys (>= 1).
    std::size_t max_open = kDefaultOpenWindows;
};

/// A window spec on event time: see the header comment.
template <class Spec, class TsFn>
struct EventTimeWindow {
    Spec window;
    TsFn timestamp_of;
    EventTimeWindowOptions options{};
};

template <class Spec, class TsFn>
[[nodiscard]] constexpr EventTimeWindow<Spec, TsFn> by_event_time(
    Spec window, TsFn timestamp_of, EventTimeWindowOptions options = {}) {
    static_assert(std::is_same_v<Spec, TumblingWindow> || std::is_same_v<Spec, SlidingWindow> ||
                      std::is_same_v<Spec, SessionWindow>,
                  "rill: by_event_time takes a tumbling_window, sliding_window or session_window "
                  "(a count window has no time)");
    return {window, std::move(timestamp_of), options};
}

namespace detail {

template <class Spec>
inline constexpr bool is_event_time_window = false;
template <class Spec, class TsFn>
inline constexpr bool is_event_time_window<EventTimeWindow<Spec, TsFn>> = true;

template <class Spec, class TsFn>
void validate_window(std::string_view stage, const EventTimeWindow<Spec, TsFn>& w) {
    validate_window(stage, w.window);
    if (w.options.allowed_lateness < Clock::duration::zero()) {
        invalid_stage(stage, "event-time window allowed_lateness " +
                                 duration_text(w.options.allowed_lateness) +
                                 " is negative; expected 0 or more");
    }
    if (w.options.max_open == 0) {
        invalid_stage(stage, "event-time window max_open is 0; expected at least 1");
    }
}

}  // namespace detail
}  // namespace rill
