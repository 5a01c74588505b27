#pragma once
// Watermark: a stream's promise about event time. A watermark of time t says that no item with
// an event time before t comes after it on that stream (items that do are late). Watermarks are
// made by an event_time stage from its items' timestamps and travel in-band: in order with the
// items along every edge (chained calls, rings, routers), and a stage with several inputs (the
// fan-in of replicas, a merge) passes on the minimum over its inputs that are neither finished
// nor idle, never going back.
//
// `idle` marks a stream that has had no items for its event_time stage's idle_after: a fan-in
// leaves such an input out of its minimum until it sends again, so a quiet input does not hold
// event time back for the others.

#include "rill/time/clock.hpp"

namespace rill {

struct Watermark {
    Clock::time_point time{};
    bool idle = false;
    friend bool operator==(const Watermark&, const Watermark&) = default;
};

}  // namespace rill
