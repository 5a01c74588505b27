#pragma once
// Event time: stream.event_time(name, timestamp_of, {.max_out_of_order = d, .idle_after = t})
// reads each item's timestamp (a Clock::time_point) and, after each batch in which the largest
// timestamp seen grew, sends the watermark `largest - max_out_of_order` downstream, in-band (see
// watermark.hpp): items may arrive up to max_out_of_order behind the newest without being late.
// If no item comes for idle_after (on the runtime's clock) it says the stream is idle, so that a
// merge or the fan-in of replicas stops waiting for it; its next item makes it active again.
// A flow with an event_time stage carries watermarks on every edge; one without pays nothing.

#include <string>
#include <string_view>

#include "rill/flow/stage_options.hpp"
#include "rill/time/clock.hpp"
#include "rill/time/detail/duration_text.hpp"

namespace rill {

struct EventTimeOptions {
    /// How far behind the newest timestamp an item may be and still be on time (>= 0).
    Clock::duration max_out_of_order{};
    /// Quiet time after which the stream counts as idle (> 0); max(): never.
    Clock::duration idle_after = Clock::duration::max();
};

namespace detail {

/// Throws std::invalid_argument naming the stage and the value.
inline void validate_event_time(std::string_view stage, const EventTimeOptions& o) {
    if (o.max_out_of_order < Clock::duration::zero()) {
        invalid_stage(stage, "event_time max_out_of_order " + duration_text(o.max_out_of_order) +
                                 " is negative; expected 0 or more");
    }
    if (o.idle_after <= Clock::duration::zero()) {
        invalid_stage(stage, "event_time idle_after " + duration_text(o.idle_after) +
                                 " is not positive; expected more than 0 (or "
                                 "Clock::duration::max() for never)");
    }
}

}  // namespace detail
}  // namespace rill
