#pragma once
// The clock of a service's deadlines, and the saturating arithmetic that turns a call's timeout
// into a deadline and into the figure its error message states.

#include <chrono>

namespace rill::detail {

using ServiceClock = std::chrono::steady_clock;

/// `now + timeout`, saturated at time_point::max(); now for a timeout <= 0.
template <class Rep, class Period>
[[nodiscard]] ServiceClock::time_point deadline_after(
    ServiceClock::time_point now, std::chrono::duration<Rep, Period> timeout) noexcept {
    if (timeout <= std::chrono::duration<Rep, Period>::zero()) return now;
    const auto room = std::chrono::duration<double>(ServiceClock::time_point::max() - now);
    if (std::chrono::duration<double>(timeout) >= room) return ServiceClock::time_point::max();
    return now + std::chrono::ceil<ServiceClock::duration>(timeout);
}

/// The timeout as a message states it (saturated).
template <class Rep, class Period>
[[nodiscard]] std::chrono::nanoseconds timeout_for_message(
    std::chrono::duration<Rep, Period> timeout) noexcept {
    if (timeout <= std::chrono::duration<Rep, Period>::zero()) return {};
    if (std::chrono::duration<double>(timeout) >=
        std::chrono::duration<double>(std::chrono::nanoseconds::max())) {
        return std::chrono::nanoseconds::max();
    }
    return std::chrono::ceil<std::chrono::nanoseconds>(timeout);
}

}  // namespace rill::detail
