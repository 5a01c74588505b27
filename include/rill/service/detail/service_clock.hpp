#pragma once
// The clock of a service's deadlines, and the figure a call's error message states for its
// timeout (deadlines themselves come from detail/deadline.hpp).

#include <chrono>

#include "rill/detail/deadline.hpp"

namespace rill::detail {

using ServiceClock = SteadyClock;

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
