#pragma once
// PoolCore: the lock-free bookkeeping of an ObjectPool, independent of the object type. It hands
// out and takes back object indices; ObjectPool<T> maps them to objects.
//
// Where a free index can be: in the shared free list (an MpmcRing, so ABA-safe by construction:
// indices, no links) or in one of the per-thread caches. Each cache is a small stack guarded by
// a flag that its thread takes with one uncontended exchange; a thread that finds the flag taken
// (a second thread mapped to the same cache, or a stealer) uses the shared list instead, and
// try_take() only steals from caches whose flag it gets at once, so it never waits for a lock.
// Only a waiting take() locks every cache in turn; holders never block while holding a flag.
//
// No object is stranded in a cache while someone waits for one. A waiter announces itself
// (EventCount::prepare_wait: waiters++ then a full fence), then looks at the shared list and
// locks every cache in turn. A thread that parks an index in its cache releases the cache's flag
// and then reads the waiter count. On any one cache's flag the two critical sections are
// ordered: if the parker's came first, the waiter's lock acquires it and the waiter sees the
// index; if the waiter's came first, its increment happens-before the parker's read, which
// therefore sees the waiter and flushes its cache to the shared list and notifies. Indices pushed
// to the shared list are announced with EventCount::notify, whose fence pairs with the waiter's.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "rill/detail/cache_line.hpp"
#include "rill/pool/pool_options.hpp"
#include "rill/pool/pool_stats.hpp"
#include "rill/ring/mpmc_ring.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"

namespace rill::detail {

class PoolCore {
  public:
    /// Validates the options; every index 0 .. capacity-1 starts in the shared free list.
    explicit PoolCore(const PoolOptions& options);
    ~PoolCore();
    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// A free index from this thread's cache, the shared list or another thread's cache; false
    /// when there is none (or the pool is closed). Never waits, so it may also come back empty
    /// for the instant another thread holds the object's cache or is still writing its index.
    [[nodiscard]] bool try_take(std::uint32_t& index) noexcept;

    /// As try_take, waiting by `policy` until an index is returned. False at `deadline`; throws
    /// std::runtime_error when the pool is closed before or while waiting.
    [[nodiscard]] bool take(std::uint32_t& index, const WaitPolicy& policy,
                            std::chrono::steady_clock::time_point deadline);

    /// Returns an index (to this thread's cache when it can) and wakes a waiter if there is one.
    /// The call may still touch the pool after the index is visible to others: the pool must be
    /// destroyed only after every returning thread has synchronized with the destroying one.
    void put(std::uint32_t index) noexcept;

    /// Fails every current and later take(); try_take() returns false. put() still works.
    void close() noexcept;
    /// Blocks until no thread is inside take(); call after close() before freeing the pool.
    void wait_until_no_waiters() const noexcept;

    /// Counts objects out of the free list and in caches; locks each cache briefly.
    [[nodiscard]] PoolStats stats() noexcept;

  private:
    struct alignas(kFalseSharingRange) Cache {
        std::atomic<bool> locked{false};
        std::uint32_t count = 0;
        std::uint32_t items[PoolOptions::kMaxCacheItems];
    };

    Cache* own_cache() const noexcept;
    static bool try_lock(Cache& c) noexcept;
    static void lock(Cache& c) noexcept;
    static void unlock(Cache& c) noexcept;
    bool take_shared(std::uint32_t& index, bool wait_for_locks) noexcept;  // list, then steal
    bool take_without_waiting(std::uint32_t& index) noexcept;              // own cache first
    void push_shared(const std::uint32_t* items, std::size_t n) noexcept;
    std::size_t out_of_list() const noexcept;  // objects in use or cached
    void note_taken_from_list() noexcept;      // updates the high-water mark

    std::size_t capacity_;
    std::uint32_t cache_count_;
    std::uint32_t cache_items_;
    MpmcRing<std::uint32_t> free_;
    Cache* caches_ = nullptr;
    EventCount freed_;  // waiters for a free index
    std::atomic<bool> closed_{false};
    std::atomic<std::uint32_t> inside_take_{0};
    std::atomic<std::size_t> high_water_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> waits_{0};
};

/// A small number that identifies the calling thread; stable for the thread's lifetime.
[[nodiscard]] std::uint32_t thread_ordinal() noexcept;

}  // namespace rill::detail
