#pragma once
// PoolCore: the lock-free bookkeeping of an ObjectPool, independent of the object type. It hands
// out and takes back object indices; ObjectPool<T> maps them to objects.
//
// Where a free index can be: in the shared free list (an MpmcRing, so ABA-safe by construction:
// indices, no links) or in one of the per-thread caches. Cache i belongs to the live thread whose
// thread_ordinal() is i (ordinals are unique among live threads and reused after a thread exits);
// threads without one use the shared list. The owner takes from and returns to its cache, and
// moves half a cache at a time to or from the shared list with one CAS.
//
// Owner and thieves. Any thread may steal from any cache (a thief), so that a free object never
// stays stranded in a cache while someone waits for one, even when the cache's thread is idle or
// has exited. Owner and thief exclude each other with two flags per cache, `busy` (the owner is
// inside an operation on its cache) and `steal` (a thief holds the cache), in one of two forms:
//
// Asymmetric (the default; needs membarrier(2)). The owner touches its cache without any locked
// instruction: it stores busy = 1, a compiler barrier, loads `steal`; if a thief is there it backs
// off to the shared list, else it works on the cache and stores busy = 0 (release). A thief claims
// `steal` with an exchange, then calls membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), then waits
// for busy == 0 (acquire) before it touches the cache. membarrier makes every thread of the
// process execute a full fence at some point of its execution during the call (a running thread
// in an IPI, a sleeping one at its context switch). This is Dekker's mutual exclusion with the
// owner's fence supplied by the thief: in the owner's program order that fence falls either
// before its busy = 1 store, and then its load of `steal` sees the thief's exchange (done before
// the call) and it backs off; or after it, and then the store is visible when membarrier returns
// and the thief waits for the owner's busy = 0, whose release publishes the owner's changes.
// Either way they never work on the cache at once, and each sees what the other did before it:
// the owner acquires `steal` == 0 from the thief's release store. Thieves are rare (the shared
// list was empty) and pay a system call; owners pay plain loads and stores.
//
// Locked (under ThreadSanitizer, which does not model membarrier, or when the kernel refuses to
// register for it). `busy` is a spin lock that owner and thieves take with an exchange; an owner
// that finds it taken uses the shared list instead, so only thieves ever wait for it.
//
// No object is stranded in a cache while someone waits for one. A take() that finds nothing
// counts itself in `hungry_` for as long as it waits (a taker that only finds the shared list
// empty also sets a hint bit there, which makes owners flush too but is not part of the argument).
// An owner that has just parked an index in its cache (busy = 0) loads `hungry_` (plain load, after
// a compiler barrier); if it is non-zero, it flushes its whole cache to the shared list and
// notifies `freed_`. Before a waiter parks it calls EventCount::prepare_wait and then looks at
// every cache as a thief, waiting for every steal flag, with one membarrier for all of them, and
// then at the shared list:
//  - Asymmetric: the owner's membarrier fence falls either after its load of `hungry_`, and then
//    everything the owner did before that load (its cache, the shared list, busy = 0) is visible
//    to the waiter's look; or before it, and then the load sees the waiter's increment of
//    `hungry_` (done before the call), and the owner flushes and notifies.
//  - Locked: on each cache's lock, if the owner's critical section came first the waiter's sees
//    the index; if the waiter's came first, its increment of `hungry_` happens-before the owner's
//    load, which therefore sees it.
// An owner that refills its empty cache from the shared list also moves indices into a cache,
// without that check: instead it loads `hungry_` inside its operation and takes a single index
// (which it hands out at once) while a waiter is counted. Otherwise a waiter could look at the
// cache before the refill and at the shared list after it, and park with the rest of the refill
// stranded here. The same two cases hold: either the load sees the waiter, or (asymmetric) the
// owner's fence falls after it, so its busy = 1 was visible and the waiter's look at this cache
// waits for the refill to end, or (locked) the refill's critical section came first.
// A waiter woken by that notify finds the indices in the shared list: EventCount's fences order
// the pushes before the notifier's load of the waiter count (see event_count.hpp). Takers that
// only spin or yield never park, so they need no such guarantee; they look at the caches that
// seem non-empty now and then, and owners flush for them too.

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

/// Where thread_ordinal() keeps the calling thread's ordinal: kUnassignedOrdinal until its first
/// call, kNoOrdinal when none was free or once the thread's thread_local objects are being
/// destroyed. Plain and trivially destructible, so it is readable in any of those phases.
inline constexpr std::uint32_t kNoOrdinal = ~std::uint32_t{0};
inline constexpr std::uint32_t kUnassignedOrdinal = kNoOrdinal - 1;
/// PoolCore's "no index" (indices are below PoolOptions::kMaxCapacity).
inline constexpr std::uint32_t kNoIndex = ~std::uint32_t{0};
extern constinit thread_local std::uint32_t t_thread_ordinal;
[[nodiscard]] std::uint32_t assign_thread_ordinal() noexcept;

/// A small number that identifies the calling thread: unique among live threads, taken lowest
/// first and reused after a thread exits. kNoOrdinal when PoolOptions::kMaxThreadCaches threads
/// already hold one, and from the moment the thread's thread_local objects are being destroyed.
[[nodiscard]] inline std::uint32_t thread_ordinal() noexcept {
    const std::uint32_t o = t_thread_ordinal;
    if (o == kUnassignedOrdinal) [[unlikely]]
        return assign_thread_ordinal();
    return o;
}

/// For tests: pools constructed while `on` is true use the locked form even where membarrier
/// works, so that one optimised build can exercise both.
void force_locked_pool_caches(bool on) noexcept;

class PoolCore {
  public:
    /// Validates the options; every index 0 .. capacity-1 starts in the shared free list.
    explicit PoolCore(const PoolOptions& options);
    ~PoolCore();
    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// A free index from this thread's cache, the shared list or another thread's cache; kNoIndex
    /// when there is none (or the pool is closed). Never waits, so it may also come back empty
    /// for the instant another thread holds the object's cache or is still writing its index.
    /// Returns the index, or kNoIndex.
    [[nodiscard]] std::uint32_t try_take() noexcept {
        // seq_cst: pairs with the store in close(); a closed pool hands out nothing.
        if (!closed_.load()) [[likely]] {
            if (const std::uint32_t index = take_cached(); index != kNoIndex) [[likely]]
                return index;
        }
        return try_take_slow();
    }

    /// As try_take, waiting by `policy` until an index is returned. kNoIndex at `deadline`; throws
    /// std::invalid_argument for a bad policy, and std::runtime_error when the pool is closed
    /// before or while waiting. A call that finds an index at once touches only this thread's
    /// cache and the shared list; a call that has to wait is counted for wait_until_no_waiters().
    /// Returns the index, or kNoIndex at the deadline.
    [[nodiscard]] std::uint32_t take(const WaitPolicy& policy,
                                     std::chrono::steady_clock::time_point deadline) {
        // Bad input fails every call, not only one that has to wait; validate() says why.
        if (policy.mode > WaitPolicy::Mode::park || policy.spin > WaitPolicy::kMaxSpin ||
            policy.yield > WaitPolicy::kMaxYield) [[unlikely]] {
            policy.validate();
        }
        // seq_cst: as in try_take(). Like the call itself, this first look must not race with
        // the pool's destruction; only a call that waits can be woken and failed by it.
        if (!closed_.load()) [[likely]] {
            if (const std::uint32_t index = take_cached(); index != kNoIndex) [[likely]]
                return index;
        }
        // By value: a policy passed in registers needs no stores on the fast path above.
        return take_slow(policy, deadline);
    }

    /// Returns an index (to this thread's cache when it can) and wakes a waiter if there is one.
    /// The call may still touch the pool after the index is visible to others: the pool must be
    /// destroyed only after every returning thread has synchronized with the destroying one.
    void put(std::uint32_t index) noexcept {
        if (!put_cached(index)) [[unlikely]]
            put_slow(index);
    }

    /// Fails every later take() and every one that waits; a take() that finds an index without
    /// waiting while close() runs may still return it. Later try_take() calls return kNoIndex;
    /// put() still works.
    void close() noexcept;
    /// Blocks until no thread is waiting inside take(); call after close() before freeing.
    void wait_until_no_waiters() const noexcept;

    /// Counts objects out of the free list and in caches; holds each cache briefly as a thief.
    [[nodiscard]] PoolStats stats() noexcept;

    /// True when owners use their caches without locked instructions (membarrier available and
    /// not under ThreadSanitizer); false for the locked form.
    [[nodiscard]] bool asymmetric() const noexcept { return asymmetric_; }

  private:
    struct alignas(kFalseSharingRange) Cache {
        std::atomic<std::uint32_t> busy{0};   // asymmetric: owner inside; locked: the lock
        std::atomic<std::uint32_t> steal{0};  // asymmetric: a thief holds the cache
        // Written only by the cache's holder (owner inside, or thief); read without holding it
        // only as a hint (which caches look worth stealing from).
        std::atomic<std::uint32_t> count{0};
        std::uint32_t items[PoolOptions::kMaxCacheItems];  // only the holder touches these
    };
    enum class Look : std::uint8_t {
        shared,  // the shared list only
        hint,    // the shared list, then caches that look non-empty (skipping held ones)
        every,   // every cache, waiting for holders, then the shared list: before parking
    };

    Cache* own_cache() const noexcept {
        const std::uint32_t o = thread_ordinal();  // kNoOrdinal is never below cache_count_
        return o < cache_count_ ? &caches_[o] : nullptr;
    }

    /// The owner's side (argument at the top of this file). False: a thief holds the cache, so
    /// the caller uses the shared list instead.
    bool owner_enter(Cache& c) const noexcept {
        if (!asymmetric_) {
            // acquire: pairs with the release in owner_exit() and thief_release(): the previous
            // holder's changes to the cache are seen.
            return c.busy.exchange(1, std::memory_order_acquire) == 0;
        }
        // relaxed: a thief needs to see it only after its membarrier, which supplies the fence.
        c.busy.store(1, std::memory_order_relaxed);
        // The light half of the asymmetric fence: keeps the compiler from moving the load of
        // `steal` above the store of `busy`; a thief's membarrier supplies the CPU's fence.
        std::atomic_signal_fence(std::memory_order_seq_cst);
        // acquire: pairs with the release store in thief_release(): a thief's changes are seen.
        if (c.steal.load(std::memory_order_acquire) == 0) [[likely]]
            return true;
        // release: pairs with the acquire load in thief_settle(), as owner_exit()'s store does
        // (a relaxed store here would not carry the release of that earlier one).
        c.busy.store(0, std::memory_order_release);
        return false;
    }
    static void owner_exit(Cache& c) noexcept {
        // release: publishes the owner's changes; pairs with the acquire load in thief_settle()
        // (asymmetric) or the acquire exchange of the cache's next holder (locked).
        c.busy.store(0, std::memory_order_release);
    }

    /// This thread's cache only, without refilling it: kNoIndex when it has nothing (or is
    /// held).
    std::uint32_t take_cached() noexcept {
        Cache* c = own_cache();
        if (c == nullptr || !owner_enter(*c)) return kNoIndex;
        // relaxed: only the cache's holder writes count, and this thread holds it.
        std::uint32_t n = c->count.load(std::memory_order_relaxed);
        std::uint32_t index = kNoIndex;
        if (n > 0) [[likely]] {
            index = c->items[--n];
            c->count.store(n, std::memory_order_relaxed);  // relaxed: published by owner_exit()
        }
        owner_exit(*c);
        return index;
    }

    /// This thread's cache only, unless it is full (or held): false and nothing done then.
    bool put_cached(std::uint32_t index) noexcept {
        Cache* c = own_cache();
        if (c == nullptr || !owner_enter(*c)) return false;
        // relaxed: only the cache's holder writes count, and this thread holds it.
        const std::uint32_t n = c->count.load(std::memory_order_relaxed);
        if (n == cache_items_) [[unlikely]] {
            owner_exit(*c);
            return false;
        }
        c->items[n] = index;
        c->count.store(n + 1, std::memory_order_relaxed);  // relaxed: published by owner_exit()
        owner_exit(*c);
        after_parking(*c);
        return true;
    }

    /// After an index was parked in cache c: the no-stranding check (see the top of the file).
    void after_parking(Cache& c) noexcept {
        // The argument needs the load of hungry_ to follow the stores to the cache in the program
        // the CPU runs (a thief's membarrier supplies the CPU fence): no compiler reordering.
        std::atomic_signal_fence(std::memory_order_seq_cst);
        // relaxed: ordered by a parking waiter's membarrier or cache lock (see the top of the
        // file). A waiter this load misses finds the index; one it sees gets the whole cache.
        if (hungry_.load(std::memory_order_relaxed) != 0) [[unlikely]]
            flush_for_hungry(c);
    }

    std::uint32_t try_take_slow() noexcept;
    std::uint32_t take_slow(WaitPolicy policy, std::chrono::steady_clock::time_point deadline);
    void put_slow(std::uint32_t index) noexcept;
    void flush_for_hungry(Cache& c) noexcept;
    bool thief_claim(Cache& c, bool wait) const noexcept;
    void thief_release(Cache& c) const noexcept;
    void thief_settle(Cache& c) const noexcept;  // asymmetric: waits for the owner to leave
    bool look(std::uint32_t& index, Look how) noexcept;
    bool steal(std::uint32_t& index, bool every) noexcept;
    // Own cache first (refilled), then the shared list and other caches.
    bool take_without_waiting(std::uint32_t& index) noexcept;
    bool wait_for_index(std::uint32_t& index, const WaitPolicy& policy,
                        std::chrono::steady_clock::time_point deadline);
    void push_shared(const std::uint32_t* items, std::size_t n) noexcept;
    std::size_t out_of_list() const noexcept;  // objects in use or cached
    void note_taken_from_list() noexcept;      // updates the high-water mark

    // Read on every take and return, written only by the constructor and close().
    std::size_t capacity_;
    std::uint32_t cache_count_;
    std::uint32_t cache_items_;
    bool asymmetric_;
    std::atomic<bool> closed_{false};
    Cache* caches_ = nullptr;
    MpmcRing<std::uint32_t> free_;
    // Read by every owner on every return; written only by takers that find nothing. Low bits:
    // takers waiting in take(); kWanted: a taker found the shared list empty (a hint, cleared by
    // the next owner that flushes). Non-zero: owners flush their caches on return.
    static constexpr std::uint32_t kWanted = std::uint32_t{1} << 31;
    alignas(kFalseSharingRange) std::atomic<std::uint32_t> hungry_{0};
    alignas(kFalseSharingRange) EventCount freed_;  // waiters for a free index
    std::atomic<std::uint32_t> inside_take_{0};
    std::atomic<std::size_t> high_water_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> waits_{0};
};

}  // namespace rill::detail
