#pragma once
#include <cstddef>
#include <cstdint>

namespace rill {

/// Options of an ObjectPool, checked by its constructor.
struct PoolOptions {
    std::size_t capacity = 0;          ///< objects, all constructed up front; 1 .. kMaxCapacity
    std::uint32_t thread_caches = 16;  ///< per-thread caches (0: every take/return uses the
                                       ///< shared free list); threads beyond this share them
    std::uint32_t cache_items = 16;    ///< objects one cache holds; 1 .. kMaxCacheItems

    static constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;
    static constexpr std::uint32_t kMaxThreadCaches = 1024;
    static constexpr std::uint32_t kMaxCacheItems = 64;

    /// Throws std::invalid_argument naming the field, its value and the accepted range.
    void validate() const;
};

}  // namespace rill
