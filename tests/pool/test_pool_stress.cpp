// ObjectPool under concurrency: ownership stamps (no object held by two threads at once),
// cross-thread recycling through an SpscRing<Pooled<T>> with a checksum, thieves working on caches
// whose owners are mid-operation, objects left in the caches of idle or exited threads reaching a
// parked waiter, and short-lived threads whose caches (and ordinals) pass to the next ones while
// waiters steal from them. Each runs with both forms of the caches (asymmetric, where membarrier
// works, and locked); under TSan only the locked form exists.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "rill/detail/tsan.hpp"
#include "rill/pool/object_pool.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

namespace {

struct Stamped {
    std::atomic<std::uint32_t> owner{0};  // 0: nobody; else the holding thread's id
    std::uint64_t uses = 0;
};

struct Payload {
    std::uint64_t seq = 0;
    std::array<std::uint64_t, 127> words{};  // with seq: 1 KiB
};

/// A pool whose caches use the locked form when `locked`, else the default form.
template <class T>
rill::ObjectPool<T> make_pool(bool locked, rill::PoolOptions options) {
    rill::detail::force_locked_pool_caches(locked);
    struct Restore {
        ~Restore() { rill::detail::force_locked_pool_caches(false); }
    } restore;
    return rill::ObjectPool<T>(options);
}

/// Aborts with a message when `progress` has not moved for a stall limit: a pool that lost an
/// index or holds one twice makes threads wait for ever (or spin in a full free list) instead of
/// failing a check.
template <class T>
rill::test::ProgressWatchdog stall_aborts(const char* what,
                                          const std::atomic<std::uint64_t>& progress,
                                          rill::ObjectPool<T>& pool) {
    return rill::test::ProgressWatchdog(what, progress, [what, &pool] {
        std::fprintf(stderr, "%s: no progress: an index lost or held twice?\n", what);
        const rill::PoolStats s = pool.stats();
        std::fprintf(stderr, "%s: pool capacity %zu, in use %zu, cached %zu; aborting\n", what,
                     s.capacity, s.in_use, s.cached);
        std::abort();
    });
}

#if RILL_TSAN
#define POOL_CACHE_FORMS true  // TSan runs the locked form only
#else
#define POOL_CACHE_FORMS false, true
#endif

/// A form of the caches (locked or not) and how many caches there are.
struct CacheSetup {
    bool locked = false;
    std::uint32_t caches = 0;
};

/// Both forms with 16 caches; without caches both forms run the same code, so only one of them.
/// TSan builds have the locked form only.
std::vector<CacheSetup> cache_setups() {
    if (RILL_TSAN) return {{.locked = true, .caches = 0}, {.locked = true, .caches = 16}};
    return {{.locked = false, .caches = 0},
            {.locked = false, .caches = 16},
            {.locked = true, .caches = 16}};
}

}  // namespace

TEST_CASE("pool ownership stamps: an object is never held by two threads", "[pool][stress]") {
    const CacheSetup setup = GENERATE(from_range(cache_setups()));
    const bool locked = setup.locked;
    const std::uint32_t caches = setup.caches;
    const int threads = GENERATE(2, 4);
    // Each thread holds up to 3 objects, so 3 per thread is the least that cannot deadlock; at
    // exactly that, a waiting thread's object may sit in another thread's cache and be stolen.
    const std::size_t capacity = GENERATE_COPY(values({std::size_t(3 * threads), std::size_t(64)}));
    // 10^8 take/return cycles over the 8 configurations of each form in an optimised build
    // (the 4 without caches run once, since both forms are the same code there).
    const std::uint64_t cycles = rill::test::stress_items(100'000'000, 200) / 8;
    CAPTURE(locked, caches, threads, capacity, cycles);
    rill::ObjectPool<Stamped> pool = make_pool<Stamped>(
        locked, {.capacity = capacity, .thread_caches = caches, .cache_items = 8});
    std::atomic<std::uint64_t> double_owned{0}, lost_stamp{0}, empty{0}, progress{0};
    const auto dog = stall_aborts("pool ownership stamps", progress, pool);
    std::vector<std::thread> workers;
    for (int t = 1; t <= threads; ++t) {
        workers.emplace_back([&, t] {
            const auto me = static_cast<std::uint32_t>(t);
            const std::uint64_t mine = cycles / static_cast<std::uint64_t>(threads);
            // Hold up to 3 objects at once so that objects move between caches and threads.
            rill::Pooled<Stamped> held[3];
            for (std::uint64_t i = 0; i < mine; ++i) {
                // relaxed: a progress count for the watchdog, every 1024 cycles.
                if (i % 1024 == 0) progress.fetch_add(1, std::memory_order_relaxed);
                rill::Pooled<Stamped>& h = held[i % 3];
                if (h) {
                    if (h->owner.exchange(0) != me) lost_stamp.fetch_add(1);
                    h.reset();
                }
                h = pool.acquire(rill::WaitPolicy::spin_yield(64));
                if (!h) {
                    empty.fetch_add(1);
                    continue;
                }
                if (h->owner.exchange(me) != 0) double_owned.fetch_add(1);
                ++h->uses;
            }
            for (auto& h : held) {
                if (h && h->owner.exchange(0) != me) lost_stamp.fetch_add(1);
            }
        });
    }
    for (auto& w : workers)
        w.join();
    CHECK(double_owned == 0);
    CHECK(lost_stamp == 0);
    CHECK(empty == 0);
    const rill::PoolStats s = pool.stats();
    CHECK(s.in_use == 0);
    CHECK(s.high_water <= capacity);
}

TEST_CASE("pooled payloads recycle across threads through an SpscRing", "[pool][stress]") {
    const CacheSetup setup = GENERATE(from_range(cache_setups()));
    const bool locked = setup.locked;
    const std::uint32_t caches = setup.caches;
    const std::uint64_t items = rill::test::stress_items(10'000'000, 100);
    constexpr std::size_t kCapacity = 256;
    CAPTURE(locked, caches, items);
    rill::ObjectPool<Payload> pool =
        make_pool<Payload>(locked, {.capacity = kCapacity, .thread_caches = caches});
    std::atomic<std::uint64_t> consumed{0};
    const auto dog = stall_aborts("pooled payloads recycle", consumed, pool);
    rill::SpscRing<rill::Pooled<Payload>> ring(64);
    std::uint64_t consumer_sum = 0, bad_payloads = 0;

    std::thread consumer([&] {
        rill::Pooled<Payload> p;
        for (std::uint64_t got = 0; got < items;) {
            if (!ring.try_pop(p)) {
                std::this_thread::yield();
                continue;
            }
            consumed.store(++got, std::memory_order_relaxed);  // relaxed: for the watchdog
            consumer_sum += p->seq;
            if (p->words[p->seq % p->words.size()] != p->seq) ++bad_payloads;
            p.reset();  // back to the pool from this thread
        }
    });
    std::uint64_t producer_sum = 0;
    for (std::uint64_t seq = 1; seq <= items; ++seq) {
        rill::Pooled<Payload> p = pool.acquire(rill::WaitPolicy::spin_park(256, 4));
        p->seq = seq;
        p->words[seq % p->words.size()] = seq;
        producer_sum += seq;
        while (!ring.try_push(std::move(p)))
            std::this_thread::yield();
    }
    consumer.join();
    CHECK(consumer_sum == producer_sum);
    CHECK(bad_payloads == 0);
    const rill::PoolStats s = pool.stats();
    CHECK(s.in_use == 0);
    CHECK(s.capacity == kCapacity);
    CHECK(s.cached <= kCapacity);
    CHECK(s.high_water <= kCapacity);
    // Every object is free: the pool hands out all of them again, each once, and then no more.
    std::vector<rill::Pooled<Payload>> all;
    std::set<const Payload*> distinct;
    for (std::size_t i = 0; i < kCapacity; ++i) {
        rill::Pooled<Payload> p = pool.try_acquire();
        if (!p) break;
        distinct.insert(p.get());
        all.push_back(std::move(p));
    }
    CHECK(all.size() == kCapacity);
    CHECK(distinct.size() == all.size());
    CHECK_FALSE(pool.try_acquire());
    CHECK(pool.stats().in_use == kCapacity);
}

TEST_CASE("thieves empty caches whose owners are taking and returning at the same time",
          "[pool][stress]") {
    // Three threads in a ring: each takes objects and passes them to the next, which returns
    // them into its own cache. They take 8, 1 and 4 per round, so thread 1 is always short and
    // thread 2 always has a surplus: thread 1 steals from thread 2's cache while thread 2 is
    // returning into it (caches hold more than the pool, so owners never overflow into the shared
    // list by themselves). A fourth thread reads stats(), which holds every cache as a thief.
    // Stamps: taker 0 -> its id, in transit id -> kTransit, receiver kTransit -> 0.
    const bool locked = GENERATE(POOL_CACHE_FORMS);
    constexpr std::uint32_t kThreads = 3, kTransit = 99;
    constexpr std::size_t kCapacity = 32;
    constexpr std::size_t kPerRound[kThreads] = {8, 1, 4};
    const std::uint64_t rounds = rill::test::stress_items(15'000, 7);
    CAPTURE(locked, rounds);
    rill::ObjectPool<Stamped> pool =
        make_pool<Stamped>(locked, {.capacity = kCapacity, .thread_caches = 16, .cache_items = 64});
    // Ring k carries objects from thread k to thread k+1; room for the whole pool.
    std::vector<std::unique_ptr<rill::SpscRing<rill::Pooled<Stamped>>>> rings;
    for (std::uint32_t k = 0; k < kThreads; ++k)
        rings.push_back(std::make_unique<rill::SpscRing<rill::Pooled<Stamped>>>(64));
    std::atomic<std::uint64_t> double_owned{0}, bad_stamp{0}, taken{0}, bad_stats{0};
    std::atomic<std::int64_t> in_transit{0};
    std::atomic<std::uint32_t> finished{0};
    std::atomic<bool> stop{false};
    const auto dog = stall_aborts("thieves empty caches", taken, pool);
    std::thread reader([&] {
        // relaxed: a stop flag; the workers are joined before anything is checked.
        while (!stop.load(std::memory_order_relaxed)) {
            const rill::PoolStats s = pool.stats();
            if (s.cached > kCapacity || s.in_use > kCapacity) bad_stats.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::microseconds(100));  // a metrics poller
        }
    });
    std::vector<std::thread> workers;
    for (std::uint32_t t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            const std::uint32_t me = t + 1;
            auto& out = *rings[t];
            auto& in = *rings[(t + kThreads - 1) % kThreads];
            const auto receive = [&] {
                rill::Pooled<Stamped> h;
                while (in.try_pop(h)) {
                    if (h->owner.exchange(0) != kTransit) bad_stamp.fetch_add(1);
                    h.reset();  // into this thread's cache, or to a hungry taker
                    in_transit.fetch_sub(1);
                }
            };
            for (std::uint64_t i = 0; i < rounds; ++i) {
                for (std::size_t j = 0; j < kPerRound[t]; ++j) {
                    // Alternate the non-waiting path and a short wait (which may park).
                    rill::Pooled<Stamped> h = (i & 1) != 0
                                                  ? pool.try_acquire()
                                                  : pool.acquire(rill::WaitPolicy::spin_park(64, 1),
                                                                 std::chrono::steady_clock::now() +
                                                                     std::chrono::milliseconds(1));
                    if (!h) break;  // the others hold everything for now
                    taken.fetch_add(1);
                    if (h->owner.exchange(me) != 0) double_owned.fetch_add(1);
                    ++h->uses;
                    if (h->owner.exchange(kTransit) != me) bad_stamp.fetch_add(1);
                    in_transit.fetch_add(1);
                    const bool pushed = out.try_push(std::move(h));
                    if (!pushed) bad_stamp.fetch_add(1);  // the ring has room for the pool
                }
                receive();
            }
            finished.fetch_add(1);
            while (finished.load() != kThreads || in_transit.load() != 0)
                receive();
        });
    }
    for (auto& w : workers)
        w.join();
    stop = true;
    reader.join();
    CHECK(double_owned == 0);
    CHECK(bad_stamp == 0);
    CHECK(bad_stats == 0);
    CHECK(taken > rounds);  // most takes succeed
    const rill::PoolStats s = pool.stats();
    CHECK(s.in_use == 0);
    CHECK(s.high_water <= kCapacity);
}

TEST_CASE("objects left in the caches of idle or exited threads reach a parked waiter",
          "[pool][stress]") {
    // The waiter holds all but one object and parks for the last, which a short-lived thread
    // takes and returns into its own cache, then either exits at once or stays alive and idle
    // until the waiter has it. Exited threads' ordinals, and so their caches, are reused.
    const bool locked = GENERATE(POOL_CACHE_FORMS);
    const rill::WaitPolicy policy =
        GENERATE(rill::WaitPolicy::park(), rill::WaitPolicy::spin_park(64, 1));
    constexpr std::size_t kCapacity = 4;
    const std::uint64_t rounds = rill::test::stress_items(2'000, 10);
    CAPTURE(locked, rill::to_string(policy), rounds);
    rill::ObjectPool<Stamped> pool =
        make_pool<Stamped>(locked, {.capacity = kCapacity, .thread_caches = 16, .cache_items = 8});
    std::atomic<std::uint64_t> rounds_done{0};
    const auto dog = stall_aborts("objects left in caches", rounds_done, pool);
    std::uint64_t timeouts = 0, double_owned = 0;
    for (std::uint64_t r = 0; r < rounds; ++r) {
        rounds_done.store(r, std::memory_order_relaxed);  // relaxed: for the watchdog
        rill::Pooled<Stamped> mine[kCapacity - 1];
        for (auto& h : mine)
            h = pool.acquire(policy);
        std::atomic<bool> taken{false}, release_worker{false};
        const bool stay_idle = (r & 1) != 0;
        std::thread worker([&] {
            {
                rill::Pooled<Stamped> h = pool.acquire(policy);
                if (h->owner.exchange(2) != 0) ++double_owned;  // read after join()
                taken = true;
                if (r % 4 < 2) std::this_thread::yield();  // vary who comes first
                h->owner.exchange(0);
            }  // returned into this thread's cache unless the waiter is already hungry
            // acquire: pairs with the release store below; nothing else is shared.
            while (stay_idle && !release_worker.load(std::memory_order_acquire))
                std::this_thread::yield();
        });
        while (!taken)  // the worker has the last object: the waiter has to wait for it
            std::this_thread::yield();
        rill::Pooled<Stamped> last =
            pool.acquire(policy, std::chrono::steady_clock::now() + std::chrono::seconds(20));
        release_worker.store(true, std::memory_order_release);  // release: see above
        worker.join();
        if (!last) {
            ++timeouts;
            break;
        }
        if (last->owner.exchange(1) != 0) ++double_owned;
        last->owner.exchange(0);
    }
    CHECK(timeouts == 0);
    CHECK(double_owned == 0);
    CHECK(pool.stats().in_use == 0);
}

TEST_CASE("threads that come and go leave objects in caches that waiters still reach",
          "[pool][stress]") {
    // Short-lived threads, two at a time, each take a few objects and return them into their own
    // caches, then exit; their ordinals (and so their caches) go to the next ones while thieves
    // may hold those caches. Meanwhile two long-lived threads wait for objects with parking
    // policies. Fewer caches than threads, so some threads use the shared list only. The pool
    // holds what every thread may hold at once (2 + 2 + 3 + 3), so waiting cannot deadlock; the
    // waiters still wait whenever the free objects sit in caches. At the end, with every thread
    // gone, one parked waiter must get every object back.
    const bool locked = GENERATE(POOL_CACHE_FORMS);
    constexpr std::size_t kCapacity = 10;
    constexpr std::uint32_t kShortLived = 2;
    const std::uint64_t waves = rill::test::stress_items(20'000, 20);
    CAPTURE(locked, waves);
    rill::ObjectPool<Stamped> pool =
        make_pool<Stamped>(locked, {.capacity = kCapacity, .thread_caches = 3, .cache_items = 8});
    std::atomic<std::uint64_t> double_owned{0}, lost_stamp{0}, timeouts{0}, taken{0}, progress{0};
    const auto dog = stall_aborts("threads that come and go", progress, pool);
    std::atomic<bool> stop{false};
    const auto use = [&](rill::Pooled<Stamped>& h, std::uint32_t me) {
        if (h->owner.exchange(me) != 0) double_owned.fetch_add(1);
        ++h->uses;
        taken.fetch_add(1);
        progress.fetch_add(1, std::memory_order_relaxed);  // relaxed: for the watchdog
        if (h->owner.exchange(0) != me) lost_stamp.fetch_add(1);
    };
    std::vector<std::thread> waiters;
    for (std::uint32_t w = 0; w < 2; ++w) {
        waiters.emplace_back([&, w] {
            const std::uint32_t me = 100 + w;
            const rill::WaitPolicy policy =
                w == 0 ? rill::WaitPolicy::park() : rill::WaitPolicy::spin_park(64, 1);
            // relaxed: a stop flag; the threads are joined before anything is checked.
            while (!stop.load(std::memory_order_relaxed)) {
                rill::Pooled<Stamped> a = pool.acquire(
                    policy, std::chrono::steady_clock::now() + std::chrono::seconds(20));
                rill::Pooled<Stamped> b = pool.acquire(
                    policy, std::chrono::steady_clock::now() + std::chrono::seconds(20));
                if (!a || !b) timeouts.fetch_add(1);
                if (a) use(a, me);
                if (b) use(b, me);
            }
        });
    }
    for (std::uint64_t wave = 0; wave < waves; ++wave) {
        std::vector<std::thread> short_lived;
        for (std::uint32_t t = 0; t < kShortLived; ++t) {
            short_lived.emplace_back([&, t] {
                const std::uint32_t me = 1 + t;
                rill::Pooled<Stamped> held[3];
                const std::size_t n = 1 + (wave + t) % 3;
                for (std::size_t i = 0; i < n; ++i) {
                    held[i] = (wave & 1) != 0 ? pool.try_acquire()
                                              : pool.acquire(rill::WaitPolicy::spin_park(64, 1),
                                                             std::chrono::steady_clock::now() +
                                                                 std::chrono::seconds(20));
                    if (held[i] && held[i]->owner.exchange(me) != 0) double_owned.fetch_add(1);
                }
                for (std::size_t i = 0; i < n; ++i) {
                    if (held[i] && held[i]->owner.exchange(0) != me) lost_stamp.fetch_add(1);
                }
            });  // returned into this thread's cache (or to a hungry taker), then it exits
        }
        for (auto& t : short_lived)
            t.join();
        progress.fetch_add(1, std::memory_order_relaxed);  // relaxed: for the watchdog
    }
    stop = true;
    for (auto& w : waiters)
        w.join();
    CHECK(double_owned == 0);
    CHECK(lost_stamp == 0);
    CHECK(timeouts == 0);
    CHECK(taken > 0);
    CHECK(pool.stats().in_use == 0);
    // Every thread that used the pool is gone; what they left in their caches must reach a
    // waiter that parks at once.
    std::vector<rill::Pooled<Stamped>> all;
    for (std::size_t i = 0; i < kCapacity; ++i) {
        all.push_back(pool.acquire(rill::WaitPolicy::park(),
                                   std::chrono::steady_clock::now() + std::chrono::seconds(20)));
        CHECK(all.back());
    }
    CHECK(pool.stats().in_use == kCapacity);
}
