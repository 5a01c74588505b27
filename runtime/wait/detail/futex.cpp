#include "rill/wait/detail/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace rill::detail {

bool futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept {
    auto* address = reinterpret_cast<std::uint32_t*>(&word);
    long rc = 0;
    if (deadline == std::chrono::steady_clock::time_point::max()) {
        rc = syscall(SYS_futex, address, FUTEX_WAIT_BITSET_PRIVATE, expected, nullptr, nullptr,
                     FUTEX_BITSET_MATCH_ANY);
    } else {
        // steady_clock is CLOCK_MONOTONIC on Linux, the clock FUTEX_WAIT_BITSET measures its
        // absolute deadline against. A deadline before the clock's epoch is simply past: clamp
        // it, since futex rejects a negative time with EINVAL rather than timing out.
        const auto since_epoch =
            std::max(deadline.time_since_epoch(), std::chrono::steady_clock::duration::zero());
        const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
        const timespec ts{
            .tv_sec = static_cast<time_t>(secs.count()),
            .tv_nsec = static_cast<long>(std::chrono::nanoseconds(since_epoch - secs).count())};
        rc = syscall(SYS_futex, address, FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr,
                     FUTEX_BITSET_MATCH_ANY);
    }
    return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(std::atomic<std::uint32_t>& word, int n) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, n, nullptr,
            nullptr, 0);
}

}  // namespace rill::detail
