#include "rill/detail/pool_core.hpp"

#include <algorithm>
#include <bit>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>  // std::this_thread::yield

#include "rill/detail/assert.hpp"
#include "rill/detail/backoff.hpp"
#include "rill/detail/memory.hpp"
#include "rill/wait/waiter.hpp"

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

std::uint32_t thread_ordinal() noexcept {
    static std::atomic<std::uint32_t> next{0};
    // relaxed: only uniqueness matters.
    thread_local const std::uint32_t ordinal = next.fetch_add(1, std::memory_order_relaxed);
    return ordinal;
}

PoolCore::PoolCore(const PoolOptions& options)
    : capacity_((options.validate(), options.capacity)),
      cache_count_(options.thread_caches),
      cache_items_(options.cache_items),
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

PoolCore::Cache* PoolCore::own_cache() const noexcept {
    return cache_count_ == 0 ? nullptr : &caches_[thread_ordinal() % cache_count_];
}

bool PoolCore::try_lock(Cache& c) noexcept {
    // acquire: pairs with the release in unlock(): the previous holder's changes are seen.
    return !c.locked.exchange(true, std::memory_order_acquire);
}

void PoolCore::lock(Cache& c) noexcept {
    // Critical sections are a few loads and stores; only a preempted holder makes this wait.
    for (Backoff backoff; !try_lock(c);)
        backoff.pause();
}

void PoolCore::unlock(Cache& c) noexcept {
    // release: publishes the cache's contents to the next holder's acquire.
    c.locked.store(false, std::memory_order_release);
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

bool PoolCore::take_shared(std::uint32_t& index, bool wait_for_locks) noexcept {
    if (free_.try_pop(index)) {
        note_taken_from_list();
        return true;
    }
    for (std::uint32_t i = 0; i < cache_count_; ++i) {
        Cache& c = caches_[i];
        if (wait_for_locks) {
            lock(c);
        } else if (!try_lock(c)) {
            continue;
        }
        const bool found = c.count > 0;
        if (found) index = c.items[--c.count];
        unlock(c);
        if (found) return true;
    }
    return false;
}

bool PoolCore::take_without_waiting(std::uint32_t& index) noexcept {
    if (Cache* c = own_cache(); c != nullptr && try_lock(*c)) {
        if (c->count == 0) {
            // Refill half a cache with one CAS on the shared list.
            c->count = static_cast<std::uint32_t>(
                free_.try_pop_n(c->items, std::max<std::uint32_t>(1, cache_items_ / 2)));
            if (c->count > 0) note_taken_from_list();
        }
        const bool found = c->count > 0;
        if (found) index = c->items[--c->count];
        unlock(*c);
        if (found) return true;
    }
    return take_shared(index, /*wait_for_locks=*/false);
}

bool PoolCore::try_take(std::uint32_t& index) noexcept {
    // seq_cst: pairs with the store in close(); a closed pool hands out nothing.
    if (!closed_.load() && take_without_waiting(index)) return true;
    // relaxed: a statistic.
    failed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool PoolCore::take(std::uint32_t& index, const WaitPolicy& policy,
                    std::chrono::steady_clock::time_point deadline) {
    policy.validate();  // bad input fails every call, not only one that has to wait
    // Counted before anything else touches the pool, and uncounted after the last touch, so the
    // destructor (close(), then wait_until_no_waiters()) never frees memory under this call.
    // seq_cst on inside_take_ and closed_: a store-buffering pair with close() and
    // wait_until_no_waiters(); either the destructor sees this call, or this call sees closed_.
    inside_take_.fetch_add(1);
    struct Leave {
        std::atomic<std::uint32_t>& inside;
        ~Leave() { inside.fetch_sub(1); }
    } leave{inside_take_};

    bool took = !closed_.load() && take_without_waiting(index);
    if (!took && !closed_.load()) {
        Waiter waiter(policy);
        waiter.wait(
            freed_,
            [&] {
                took = take_shared(index, /*wait_for_locks=*/true);
                return took || closed_.load();
            },
            deadline);
        const WaitStats& w = waiter.stats();
        // Counts the calls whose first look found nothing.
        if (w.spins + w.yields + w.parks + w.timeouts > 0) {
            // relaxed: a statistic.
            waits_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (closed_.load()) {
        if (took) put(index);  // a waiter racing with close() fails too; put() works after close
        throw std::runtime_error("ObjectPool: closed while acquire() waited for an object");
    }
    return took;
}

void PoolCore::put(std::uint32_t index) noexcept {
    Cache* c = own_cache();
    if (c != nullptr && try_lock(*c)) {
        if (c->count == cache_items_) {
            // Full: hand the older half back with one CAS.
            const std::uint32_t keep = cache_items_ / 2;
            push_shared(c->items, c->count - keep);
            std::copy(c->items + (c->count - keep), c->items + c->count, c->items);
            c->count = keep;
        }
        c->items[c->count++] = index;
        unlock(*c);
        // relaxed: ordered by the cache flag (see the argument in the header). A waiter that
        // locked this cache before us is counted; one that locks it after us finds the index.
        if (freed_.waiters_approx() == 0) return;
        lock(*c);
        push_shared(c->items, c->count);
        c->count = 0;
        unlock(*c);
    } else {
        push_shared(&index, 1);
    }
    freed_.notify_all();  // a fence and a load when nobody waits
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
    for (std::uint32_t i = 0; i < cache_count_; ++i) {
        lock(caches_[i]);
        s.cached += caches_[i].count;
        unlock(caches_[i]);
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
