#pragma once
// Deadlines from durations, saturated: every API call that takes a timeout turns it into a
// time_point here, so that hours::max() means "no deadline" and a timeout <= 0 means "now",
// instead of a signed overflow that lands in the past (or the far future).

#include <chrono>

namespace rill::detail {

using SteadyClock = std::chrono::steady_clock;

/// `now + timeout`: time_point::max() when that would not fit, `now` for a timeout <= 0.
template <class Rep, class Period>
[[nodiscard]] SteadyClock::time_point deadline_after(
    SteadyClock::time_point now, std::chrono::duration<Rep, Period> timeout) noexcept {
    if (!(timeout > std::chrono::duration<Rep, Period>::zero())) return now;  // also NaN
    if (now == SteadyClock::time_point::max()) return now;
    // Compared in double: converting a huge timeout to the clock's nanoseconds would overflow.
    const auto room = std::chrono::duration<double>(SteadyClock::time_point::max() - now);
    if (std::chrono::duration<double>(timeout) >= room) return SteadyClock::time_point::max();
    const auto step = std::chrono::ceil<SteadyClock::duration>(timeout);
    return step >= SteadyClock::time_point::max() - now ? SteadyClock::time_point::max()
                                                        : now + step;
}

template <class Rep, class Period>
[[nodiscard]] SteadyClock::time_point deadline_after(
    std::chrono::duration<Rep, Period> timeout) noexcept {
    return deadline_after(SteadyClock::now(), timeout);
}

}  // namespace rill::detail
