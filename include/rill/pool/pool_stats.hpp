#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>

namespace rill {

/// A snapshot of an ObjectPool. Exact when no thread is using the pool; while threads take and
/// return objects, each field is a value it had during the call.
struct PoolStats {
    std::size_t capacity = 0;
    std::size_t in_use = 0;             ///< objects held through Pooled handles
    std::size_t cached = 0;             ///< free objects parked in per-thread caches
    std::size_t high_water = 0;         ///< most objects ever out of the shared free list at once
    std::uint64_t failed_acquires = 0;  ///< try_acquire() calls that found the pool empty
    std::uint64_t waits = 0;            ///< acquire() calls that had to wait
};

std::ostream& operator<<(std::ostream& out, const PoolStats& s);

}  // namespace rill
