#pragma once
#include <cstddef>
#include <cstdint>

namespace rill {

/// Options of an ObjectPool, checked by its constructor.
struct PoolOptions {
    std::size_t capacity = 0;          ///< objects, all constructed up front; 1 .. kMaxCapacity
    std::uint32_t thread_caches = 16;  ///< per-thread caches (0: every take/return uses the
                                       ///< shared free list); cache i serves the live thread
                                       ///< whose detail::thread_ordinal() is i, and threads
                                       ///< beyond them use the shared free list
    std::uint32_t cache_items = 64;    ///< objects one cache holds; 1 .. kMaxCacheItems. A
                                       ///< thread moves half a cache at a time to or from the
                                       ///< shared free list (one CAS), so larger is faster;
                                       ///< caches hold at most thread_caches * cache_items
                                       ///< free objects, which others steal when they lack some

    static constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;
    static constexpr std::uint32_t kMaxThreadCaches = 1024;
    static constexpr std::uint32_t kMaxCacheItems = 64;

    /// Throws std::invalid_argument naming the field, its value and the accepted range.
    void validate() const;
};

}  // namespace rill
