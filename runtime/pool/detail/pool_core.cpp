#include "rill/pool/detail/pool_core.hpp"

#include <algorithm>
#include <bit>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>  // std::this_thread::yield

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rill/detail/assert.hpp"
#include "rill/detail/backoff.hpp"
#include "rill/detail/cpu_relax.hpp"
#include "rill/detail/memory.hpp"
#include "rill/detail/tsan.hpp"

namespace rill {

void PoolOptions::validate() const {
    if (capacity == 0 || capacity > kMaxCapacity) {
        throw std::invalid_argument("PoolOptions.capacity " + std::to_string(capacity) +
                                    " is out of range: expected 1 to " +
                                    std::to_string(kMaxCapacity) + " objects");
    }
    if (thread_caches > kMaxThreadCaches) {
        throw std::invalid_argument("PoolOptions.thread_caches " + std::to_string(thread_caches) +
                                    " is out of range: expected 0 to " +
                                    std::to_string(kMaxThreadCaches));
    }
    if (cache_items == 0 || cache_items > kMaxCacheItems) {
        throw std::invalid_argument("PoolOptions.cache_items " + std::to_string(cache_items) +
                                    " is out of range: expected 1 to " +
                                    std::to_string(kMaxCacheItems));
    }
}

std::ostream& operator<<(std::ostream& out, const PoolStats& s) {
    return out << "capacity " << s.capacity << ", in use " << s.in_use << ", cached " << s.cached
               << ", high water " << s.high_water << ", failed acquires " << s.failed_acquires
               << ", waits " << s.waits;
}

namespace detail {
namespace {

// ---- Thread ordinals: unique among live threads, lowest free first, reused after exit. ----

constexpr std::uint32_t kOrdinalWords = PoolOptions::kMaxThreadCaches / 64;
static_assert(PoolOptions::kMaxThreadCaches % 64 == 0);
// Bit i set: ordinal i belongs to a live thread. Constant-initialized to zero.
std::atomic<std::uint64_t> g_ordinals[kOrdinalWords];

struct OrdinalLease {
    OrdinalLease() = default;
    OrdinalLease(const OrdinalLease&) = delete;
    OrdinalLease& operator=(const OrdinalLease&) = delete;
    ~OrdinalLease() {
        const std::uint32_t o = t_thread_ordinal;
        t_thread_ordinal = kNoOrdinal;  // from here on this thread uses no cache
        if (o >= PoolOptions::kMaxThreadCaches) return;
        // release: pairs with the acquire CAS in assign_thread_ordinal(): the next thread given
        // this ordinal owns the caches this thread owned, and sees what it left in them.
        g_ordinals[o / 64].fetch_and(~(std::uint64_t{1} << (o % 64)), std::memory_order_release);
    }
};

// ---- The heavy half of the asymmetric fence. ----

std::atomic<bool> g_force_locked{false};

bool membarrier_registered() noexcept {
#if RILL_TSAN
    return false;  // ThreadSanitizer does not model membarrier: use the locked form
#else
    static const bool ok =
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return ok;
#endif
}

/// Every running thread of the process executes a full memory barrier before this returns;
/// threads not running have passed one in their last context switch.
void heavy_fence() noexcept {
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        fatal(
            "ObjectPool: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after the "
            "process registered for it");
    }
}

constexpr std::uint64_t kClockEvery = 256;  // spins between deadline checks, as in Waiter
constexpr std::uint64_t kStealEvery = 64;   // spins between looks at other threads' caches

}  // namespace

constinit thread_local std::uint32_t t_thread_ordinal = kUnassignedOrdinal;

std::uint32_t assign_thread_ordinal() noexcept {
    if (t_thread_ordinal != kUnassignedOrdinal) return t_thread_ordinal;
    // Its destructor gives the ordinal back when the thread exits.
    static thread_local OrdinalLease lease;
    (void)lease;
    for (std::uint32_t w = 0; w < kOrdinalWords; ++w) {
        // relaxed: a first guess; the CAS below decides.
        std::uint64_t bits = g_ordinals[w].load(std::memory_order_relaxed);
        while (bits != ~std::uint64_t{0}) {
            const auto b = static_cast<std::uint32_t>(std::countr_one(bits));
            // acquire: pairs with the release fetch_and of the ordinal's previous holder. Failure
            // relaxed: it only reloads `bits`.
            if (g_ordinals[w].compare_exchange_weak(bits, bits | (std::uint64_t{1} << b),
                                                    std::memory_order_acquire,
                                                    std::memory_order_relaxed)) {
                t_thread_ordinal = w * 64 + b;
                return t_thread_ordinal;
            }
        }
    }
    t_thread_ordinal = kNoOrdinal;  // more live threads than caches could ever serve
    return kNoOrdinal;
}

void force_locked_pool_caches(bool on) noexcept {
    // relaxed: read by constructors of pools that the caller then shares by its own means.
    g_force_locked.store(on, std::memory_order_relaxed);
}

PoolCore::PoolCore(const PoolOptions& options)
    : capacity_((options.validate(), options.capacity)),
      cache_count_(options.thread_caches),
      cache_items_(options.cache_items),
      // relaxed: as in force_locked_pool_caches().
      asymmetric_(!g_force_locked.load(std::memory_order_relaxed) && membarrier_registered()),
      free_(std::max<std::size_t>(2, std::bit_ceil(options.capacity))) {
    if (cache_count_ > 0) {
        void* mem = allocate_aligned(sizeof(Cache) * cache_count_, alignof(Cache));
        caches_ = static_cast<Cache*>(mem);
        std::uninitialized_default_construct_n(caches_, cache_count_);
    }
    for (std::uint32_t i = 0; i < capacity_; ++i) {
        const bool pushed = free_.try_push(i);
        RILL_ASSERT(pushed, "PoolCore: the free list holds every index");
        (void)pushed;
    }
}

PoolCore::~PoolCore() {
    if (caches_ != nullptr) {
        std::destroy_n(caches_, cache_count_);
        free_aligned(caches_, sizeof(Cache) * cache_count_, alignof(Cache));
    }
}

// ---- Thieves (the argument is in pool_core.hpp). ----

bool PoolCore::thief_claim(Cache& c, bool wait) const noexcept {
    std::atomic<std::uint32_t>& flag = asymmetric_ ? c.steal : c.busy;
    for (Backoff backoff;; backoff.pause()) {
        // acquire: pairs with the release in thief_release() (and, locked, owner_exit()): the
        // previous holder's changes are seen.
        if (flag.exchange(1, std::memory_order_acquire) == 0) return true;
        if (!wait) return false;
        // relaxed: wait for the flag to look free before trying the exchange again.
        while (flag.load(std::memory_order_relaxed) != 0)
            backoff.pause();
    }
}

void PoolCore::thief_settle(Cache& c) const noexcept {
    if (!asymmetric_) return;  // the claim took the owner's lock itself
    // Called after the membarrier that followed the claim. The owner either saw `steal` and
    // backed off, or is inside and leaves within a few instructions (unless it is preempted).
    // acquire: pairs with the release stores of busy = 0 in owner_exit() and owner_enter().
    for (Backoff backoff; c.busy.load(std::memory_order_acquire) != 0;)
        backoff.pause();
}

void PoolCore::thief_release(Cache& c) const noexcept {
    // release: publishes the thief's changes; pairs with the acquire load of `steal` in
    // owner_enter() and the acquire exchange in thief_claim() (locked: of `busy`, with
    // owner_enter()'s exchange).
    (asymmetric_ ? c.steal : c.busy).store(0, std::memory_order_release);
}

std::size_t PoolCore::out_of_list() const noexcept {
    // size_approx races with takers and returners and may briefly exceed the pool's capacity.
    const std::size_t free_now = free_.size_approx();
    return free_now >= capacity_ ? 0 : capacity_ - free_now;
}

void PoolCore::note_taken_from_list() noexcept {
    const std::size_t out = out_of_list();
    // relaxed: a statistic; the CAS loop only keeps the maximum.
    std::size_t seen = high_water_.load(std::memory_order_relaxed);
    while (out > seen &&
           // relaxed: as above.
           !high_water_.compare_exchange_weak(seen, out, std::memory_order_relaxed)) {
    }
}

void PoolCore::push_shared(const std::uint32_t* items, std::size_t n) noexcept {
    // The list holds at least capacity_ indices, so it always has room; a push fails only for the
    // moment a consumer that claimed the slot's previous index is still reading it.
    Backoff backoff;
    for (std::size_t pushed = 0; pushed < n;) {
        const std::size_t k = free_.try_push_n(items + pushed, n - pushed);
        pushed += k;
        if (k > 0) {
            backoff.reset();
            continue;
        }
        RILL_ASSERT(!backoff.yielding() || free_.size_approx() < capacity_,
                    "PoolCore: free list full (an index returned twice?)");
        backoff.pause();
    }
}

bool PoolCore::steal(std::uint32_t& index, bool every) noexcept {
    if (cache_count_ == 0) return false;
    // Claim first, then one membarrier for all the caches claimed, then work on them.
    std::uint64_t held[kOrdinalWords] = {};
    bool any = false;
    for (std::uint32_t i = 0; i < cache_count_; ++i) {
        Cache& c = caches_[i];
        // relaxed: a hint, read without holding the cache. A cache that looks empty here is
        // looked at again later or flushed by its owner for hungry takers; before parking
        // (`every`) no hint is used. Claims go in index order, so waiting claims cannot deadlock.
        if (!every && c.count.load(std::memory_order_relaxed) == 0) continue;
        if (!thief_claim(c, every)) continue;
        held[i / 64] |= std::uint64_t{1} << (i % 64);
        any = true;
    }
    if (!any) return false;
    if (asymmetric_) heavy_fence();
    bool found = false;
    std::size_t pushed = 0;
    for (std::uint32_t i = 0; i < cache_count_; ++i) {
        if ((held[i / 64] & (std::uint64_t{1} << (i % 64))) == 0) continue;
        Cache& c = caches_[i];
        thief_settle(c);
        // relaxed: this thread holds the cache; thief_settle() or the claim ordered the load.
        std::uint32_t n = c.count.load(std::memory_order_relaxed);
        if (n > 0) {
            // Keep one and hand the rest to everyone through the shared list: whoever steals is
            // short of objects, and so may be others.
            if (!found) {
                index = c.items[--n];
                found = true;
            }
            push_shared(c.items, n);
            pushed += n;
            c.count.store(0, std::memory_order_relaxed);  // relaxed: as above
        }
        thief_release(c);
    }
    if (pushed > 0) freed_.notify_all();
    return found;
}

bool PoolCore::look(std::uint32_t& index, Look how) noexcept {
    const auto pop_shared = [&] {
        if (!free_.try_pop(index)) return false;
        note_taken_from_list();
        return true;
    };
    switch (how) {
        case Look::shared:
            return pop_shared();
        case Look::hint:
            if (pop_shared()) return true;
            // Ask owners to flush on their next return, so that the next look finds the shared
            // list filled instead of paying for another steal. relaxed, both: a hint.
            if ((hungry_.load(std::memory_order_relaxed) & kWanted) == 0)
                hungry_.fetch_or(kWanted, std::memory_order_relaxed);
            return steal(index, /*every=*/false);
        case Look::every:
            // The caches first: their membarrier (or locks) is what orders this look after the
            // owners' returns (see pool_core.hpp); then the shared list, after it.
            return steal(index, /*every=*/true) || pop_shared();
    }
    return false;
}

bool PoolCore::take_without_waiting(std::uint32_t& index) noexcept {
    if (Cache* c = own_cache(); c != nullptr && owner_enter(*c)) {
        // relaxed: only the cache's holder writes count, and this thread holds it.
        std::uint32_t n = c->count.load(std::memory_order_relaxed);
        if (n == 0) {
            // Refill half a cache with one CAS on the shared list; only one object while other
            // takers wait for some. Not only a hint: the no-stranding argument needs it (see the
            // refill paragraph in pool_core.hpp). relaxed: ordered as the load in after_parking()
            // is, by a parking waiter's membarrier or this cache's lock.
            const std::uint32_t want = (hungry_.load(std::memory_order_relaxed) & ~kWanted) != 0
                                           ? 1
                                           : std::max<std::uint32_t>(1, cache_items_ / 2);
            n = static_cast<std::uint32_t>(free_.try_pop_n(c->items, want));
            if (n > 0) note_taken_from_list();
        }
        const bool found = n > 0;
        if (found) {
            index = c->items[--n];
            c->count.store(n, std::memory_order_relaxed);  // relaxed: published by owner_exit()
        }
        owner_exit(*c);
        if (found) return true;
    }
    return look(index, Look::hint);
}

std::uint32_t PoolCore::try_take_slow() noexcept {
    std::uint32_t index = kNoIndex;
    // seq_cst: pairs with the store in close(); a closed pool hands out nothing.
    if (!closed_.load() && take_without_waiting(index)) return index;
    // relaxed: a statistic.
    failed_.fetch_add(1, std::memory_order_relaxed);
    return kNoIndex;
}

std::uint32_t PoolCore::take_slow(WaitPolicy policy,
                                  std::chrono::steady_clock::time_point deadline) {
    std::uint32_t index = kNoIndex;
    // seq_cst: as in take(); not counted in inside_take_ either.
    if (!closed_.load() && take_without_waiting(index)) return index;

    // Counted before the wait touches the pool, and uncounted after its last touch, so the
    // destructor (close(), then wait_until_no_waiters()) never frees memory under a waiter.
    // seq_cst on inside_take_ and closed_: a store-buffering pair with close() and
    // wait_until_no_waiters(); either the destructor sees this call, or this call sees closed_.
    inside_take_.fetch_add(1);
    struct Leave {
        std::atomic<std::uint32_t>& inside;
        ~Leave() { inside.fetch_sub(1); }
    } leave{inside_take_};

    bool took = false;
    if (!closed_.load()) took = wait_for_index(index, policy, deadline);
    if (closed_.load()) {
        if (took) put(index);  // a waiter racing with close() fails too; put() works after close
        throw std::runtime_error("ObjectPool: closed while acquire() waited for an object");
    }
    return took ? index : kNoIndex;
}

bool PoolCore::wait_for_index(std::uint32_t& index, const WaitPolicy& policy,
                              std::chrono::steady_clock::time_point deadline) {
    // relaxed: to owners this count is a hint to flush their caches, except for a waiter about to
    // park, whose look(Look::every) orders it (membarrier or cache locks, after this increment)
    // before what it reads; see pool_core.hpp.
    hungry_.fetch_add(1, std::memory_order_relaxed);
    struct Sated {
        std::atomic<std::uint32_t>& hungry;
        // relaxed: an owner that still sees this taker only flushes its cache once more.
        ~Sated() { hungry.fetch_sub(1, std::memory_order_relaxed); }
    } sated{hungry_};
    // relaxed: a statistic (acquire() calls whose first look found nothing).
    waits_.fetch_add(1, std::memory_order_relaxed);

    // WaitPolicy's phases, as Waiter runs them, with looks that get dearer from phase to phase:
    // spinning reads the shared list (owners flush into it for hungry takers) and, now and then,
    // the caches that look non-empty; yielding reads those every time; parking is preceded by a
    // look at every cache, which is what keeps the no-stranding promise.
    using Clock = std::chrono::steady_clock;
    using Mode = WaitPolicy::Mode;
    bool took = false;
    const auto ready = [&](Look how) {
        took = look(index, how);
        return took || closed_.load();  // seq_cst: see take()
    };
    const auto past = [&] {
        return deadline != Clock::time_point::max() && Clock::now() >= deadline;
    };
    const auto timed_out = [&] {
        ready(Look::hint);  // as Waiter: one last look at the deadline
        return took;
    };

    const bool spin_forever = policy.mode == Mode::busy_spin;
    const std::uint32_t spins = policy.mode == Mode::park ? 0 : policy.spin;
    for (std::uint64_t i = 1; spin_forever || i <= spins; ++i) {
        cpu_relax();
        if (ready(i % kStealEvery == 0 ? Look::hint : Look::shared)) return took;
        if (i % kClockEvery == 0 && past()) return timed_out();
    }
    const bool yield_forever = policy.mode == Mode::spin_yield;
    const std::uint32_t yields = policy.mode == Mode::spin_park ? policy.yield : 0;
    for (std::uint64_t i = 0; yield_forever || i < yields; ++i) {
        std::this_thread::yield();
        if (ready(Look::hint)) return took;
        if (past()) return timed_out();
    }
    for (;;) {
        const EventCount::Key key = freed_.prepare_wait();
        if (ready(Look::every)) {
            freed_.cancel_wait();
            return took;
        }
        if (!freed_.wait_until(key, deadline)) return timed_out();
        if (ready(Look::hint)) return took;
    }
}

void PoolCore::put_slow(std::uint32_t index) noexcept {
    Cache* c = own_cache();
    if (c == nullptr || !owner_enter(*c)) {
        push_shared(&index, 1);
        freed_.notify_all();  // a fence and a load when nobody waits
        return;
    }
    // relaxed: only the cache's holder writes count, and this thread holds it.
    std::uint32_t n = c->count.load(std::memory_order_relaxed);
    if (n == cache_items_) {
        // Full: hand the older half back with one CAS.
        const std::uint32_t keep = cache_items_ / 2;
        push_shared(c->items, n - keep);
        std::copy(c->items + (n - keep), c->items + n, c->items);
        n = keep;
    }
    c->items[n++] = index;
    c->count.store(n, std::memory_order_relaxed);  // relaxed: published by owner_exit()
    owner_exit(*c);
    after_parking(*c);
}

void PoolCore::flush_for_hungry(Cache& c) noexcept {
    // A taker is short of objects: hand it the whole cache.
    if (owner_enter(c)) {
        // relaxed: only the cache's holder writes count, and this thread holds it.
        const std::uint32_t n = c.count.load(std::memory_order_relaxed);
        push_shared(c.items, n);
        c.count.store(0, std::memory_order_relaxed);  // relaxed: as above
        owner_exit(c);
    }  // else a thief holds the cache; it moves what it does not keep to the shared list
    // This flush answers a want (a taker that found the shared list empty asks again if it
    // finds it empty again); waiting takers stay counted. relaxed, both: a hint.
    if ((hungry_.load(std::memory_order_relaxed) & kWanted) != 0)
        hungry_.fetch_and(~kWanted, std::memory_order_relaxed);
    freed_.notify_all();
}

void PoolCore::close() noexcept {
    closed_.store(true);  // seq_cst: see take()
    freed_.notify_all();
}

void PoolCore::wait_until_no_waiters() const noexcept {
    while (inside_take_.load() != 0)
        std::this_thread::yield();  // seq_cst: see take()
}

PoolStats PoolCore::stats() noexcept {
    PoolStats s;
    s.capacity = capacity_;
    for (std::uint32_t i = 0; i < cache_count_; ++i)
        (void)thief_claim(caches_[i], /*wait=*/true);  // in index order, as in steal()
    if (asymmetric_ && cache_count_ > 0) heavy_fence();
    for (std::uint32_t i = 0; i < cache_count_; ++i) {
        thief_settle(caches_[i]);
        // relaxed: this thread holds the cache; thief_settle() or the claim ordered the load.
        s.cached += caches_[i].count.load(std::memory_order_relaxed);
        thief_release(caches_[i]);
    }
    const std::size_t out = out_of_list();
    s.in_use = out > s.cached ? out - s.cached : 0;
    // relaxed, all three: statistics, each a value it had during the call.
    s.high_water = high_water_.load(std::memory_order_relaxed);
    s.failed_acquires = failed_.load(std::memory_order_relaxed);  // relaxed: a statistic
    s.waits = waits_.load(std::memory_order_relaxed);             // relaxed: a statistic
    return s;
}

}  // namespace detail
}  // namespace rill
