#pragma once
// ServiceOptions: how many calls a request/response service (rill/service/service.hpp) lets in at
// once and how its callers wait; checked when Flow::service() adds the service.

#include <cstddef>
#include <string_view>

#include "rill/wait/wait_policy.hpp"

namespace rill {

/// The most calls a service may have outstanding (ServiceOptions::max_in_flight).
inline constexpr std::size_t kMaxServiceInFlight = std::size_t{1} << 20;

struct ServiceOptions {
    /// Calls outstanding at once (1 to kMaxServiceInFlight). Each has a preallocated slot: one
    /// cache line plus the response. The inlet in front of the segment holds as many requests.
    std::size_t max_in_flight = 1024;
    /// How a caller waits for a free slot and for its response: spin, yield, then park (the
    /// response wait parks on the slot itself, a futex, woken by the stage that answers).
    /// The default spins briefly and parks without yielding: callers usually share cores with
    /// pinned workers, and a caller that spins or yields keeps the very worker that would
    /// answer it off its core. Measured on a 2-core VM (2 workers, a 2-stage segment), round
    /// trip p50 with 1 / 4 calling threads: spin_park(128, 0) 8 / 31 us, park() 6 / 22-61 us,
    /// spin_park(256, 4) 120 / 140 us. With cores to spare, spin longer (busy_spin: lowest).
    WaitPolicy wait = WaitPolicy::spin_park(128, 0);
};

namespace detail {

/// Throws std::invalid_argument naming the service, the field and its value.
void validate_service_options(std::string_view service, const ServiceOptions& options);

}  // namespace detail
}  // namespace rill
