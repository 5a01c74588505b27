// ObjectPool under concurrency: ownership stamps (no object held by two threads at once) and
// cross-thread recycling through an SpscRing<Pooled<T>> with a checksum.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "rill/pool/object_pool.hpp"
#include "rill/ring/spsc_ring.hpp"
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

}  // namespace

TEST_CASE("pool ownership stamps: an object is never held by two threads", "[pool][stress]") {
    const std::uint32_t caches = GENERATE(0u, 16u);
    const int threads = GENERATE(2, 4);
    // Each thread holds up to 3 objects, so 3 per thread is the least that cannot deadlock; at
    // exactly that, a waiting thread's object may sit in another thread's cache and be stolen.
    const std::size_t capacity = GENERATE_COPY(values({std::size_t(3 * threads), std::size_t(64)}));
    // 10^8 take/return cycles in all over the 8 configurations in an optimised build.
    const std::uint64_t cycles = rill::test::stress_items(100'000'000, 200) / 8;
    CAPTURE(caches, threads, capacity, cycles);
    rill::ObjectPool<Stamped> pool(
        {.capacity = capacity, .thread_caches = caches, .cache_items = 8});
    std::atomic<std::uint64_t> double_owned{0}, lost_stamp{0}, empty{0};
    std::vector<std::thread> workers;
    for (int t = 1; t <= threads; ++t) {
        workers.emplace_back([&, t] {
            const auto me = static_cast<std::uint32_t>(t);
            const std::uint64_t mine = cycles / static_cast<std::uint64_t>(threads);
            // Hold up to 3 objects at once so that objects move between caches and threads.
            rill::Pooled<Stamped> held[3];
            for (std::uint64_t i = 0; i < mine; ++i) {
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
    const std::uint32_t caches = GENERATE(0u, 16u);
    const std::uint64_t items = rill::test::stress_items(10'000'000, 100);
    constexpr std::size_t kCapacity = 256;
    CAPTURE(caches, items);
    rill::ObjectPool<Payload> pool({.capacity = kCapacity, .thread_caches = caches});
    rill::SpscRing<rill::Pooled<Payload>> ring(64);
    std::uint64_t consumer_sum = 0, bad_payloads = 0;

    std::thread consumer([&] {
        rill::Pooled<Payload> p;
        for (std::uint64_t got = 0; got < items;) {
            if (!ring.try_pop(p)) {
                std::this_thread::yield();
                continue;
            }
            ++got;
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
    CHECK(s.cached + (s.capacity - s.in_use - s.cached) == kCapacity);  // every object is free
    CHECK(s.high_water <= kCapacity);
}
