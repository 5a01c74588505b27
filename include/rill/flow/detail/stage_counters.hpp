#pragma once
// Per-stage counters: written by the stage's worker only, read by snapshots from any thread.

#include <atomic>
#include <cstdint>

#include "rill/detail/cache_line.hpp"

namespace rill::detail {

/// Adds n to a counter that only the calling thread writes. A load and a store, no RMW.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    // relaxed load: single writer. release store: pairs with the acquire loads of a snapshot
    // (RunState::metrics), which reads the outcome counters before `in`, so that a snapshot that
    // sees an item's outcome also sees it counted in.
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

struct alignas(kCacheLine) StageCounters {
    std::atomic<std::uint64_t> in{0};
    std::atomic<std::uint64_t> out{0};  ///< inputs handled successfully
    std::atomic<std::uint64_t> filtered{0};
    std::atomic<std::uint64_t> errored{0};
    std::atomic<std::uint64_t> dropped{0};  ///< dropped because the run was cancelled
    std::atomic<std::uint64_t> late{0};     ///< too late for every window (event time)
    std::atomic<std::uint64_t> emitted{0};  ///< items handed downstream
    std::atomic<std::uint64_t> queue_max{0};
    std::atomic<std::uint64_t> taken{0};       ///< peeked from the input ring, not yet released
    std::atomic<std::uint64_t> in_windows{0};  ///< items open windows hold (a gauge)
};

}  // namespace rill::detail
