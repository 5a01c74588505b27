// Zero allocations per item in steady state: producer -> SpscRing -> consumer of pooled 1 KiB
// buffers. Both routes are counted (support/counting_new.hpp): the global operator new and rill's
// own allocator. The counts are read after a warm-up and again after a million items; neither may
// move. A progress watchdog stops both threads (and closes the pool) if no item arrives for a
// stall limit, so that a lost item fails the test instead of hanging it.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>

#include "rill/pool/object_pool.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "support/counting_new.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

namespace {

struct Buffer {
    std::array<char, 1024> bytes{};
};

}  // namespace

TEST_CASE("pooled hand-off allocates nothing per item in steady state", "[pool][alloc]") {
    using rill::test::AllocationCount;
    // Both threads busy-wait: under sanitizers on a shared 2-core machine, keep it short.
    const std::uint64_t kWarmUp = 10'000, kMeasured = rill::test::stress_items(1'000'000);
    // Owned through a pointer: when the watchdog fired, a lost handle may keep an object in use
    // for good, and destroying the pool under it would abort; it is left alone then.
    auto owned_pool =
        std::make_unique<rill::ObjectPool<Buffer>>(rill::PoolOptions{.capacity = 128});
    rill::ObjectPool<Buffer>& pool = *owned_pool;
    rill::SpscRing<rill::Pooled<Buffer>> ring(64);
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<bool> stop{false};
    // relaxed: the watchdog's stop flag; the consumer is joined before anything is checked.
    const auto stopped = [&] { return stop.load(std::memory_order_relaxed); };
    std::uint64_t checksum = 0;
    AllocationCount before, during;
    bool stalled = false;
    {
        const rill::test::ProgressWatchdog dog("pooled hand-off", consumed, [&] {
            stop.store(true, std::memory_order_relaxed);  // relaxed: see stopped()
            pool.close();                                 // fails a waiting acquire()
        });
        std::thread consumer([&] {
            rill::Pooled<Buffer> b;
            for (std::uint64_t got = 0; got < kWarmUp + kMeasured && !stopped();) {
                if (!ring.try_pop(b)) continue;
                checksum += static_cast<unsigned char>(b->bytes[got % 1024]);
                b.reset();
                // release: the producer's acquire load below sees this thread's work so far.
                consumed.store(++got, std::memory_order_release);
            }
        });
        try {
            for (std::uint64_t i = 0; i < kWarmUp + kMeasured && !stopped(); ++i) {
                if (i == kWarmUp) {
                    // acquire: pairs with the consumer's release; both threads are past their
                    // first use.
                    while (consumed.load(std::memory_order_acquire) != kWarmUp && !stopped()) {
                    }
                    before = AllocationCount::now();
                }
                rill::Pooled<Buffer> b = pool.acquire(rill::WaitPolicy::spin_yield());
                b->bytes[i % 1024] = static_cast<char>((i & 0x7f) | 1);
                while (!ring.try_push(std::move(b)) && !stopped()) {
                }
            }
        } catch (const std::runtime_error&) {  // the watchdog closed the pool
        }
        // acquire: as above; the consumer's last return precedes the count below.
        while (consumed.load(std::memory_order_acquire) != kWarmUp + kMeasured && !stopped()) {
        }
        during = AllocationCount::now() - before;
        consumer.join();
        stalled = dog.stalled();
        INFO(dog.describe());
        CHECK_FALSE(stalled);
    }
    CHECK(consumed.load() == kWarmUp + kMeasured);
    if (stalled) {
        (void)owned_pool.release();  // see owned_pool
        return;  // failed above; the counts would include the watchdog's own message
    }
    INFO("allocations during " << kMeasured << " items: " << during);
    CHECK(before.global_new > 0);  // the counting operator new is the one in use
    CHECK(before.rill > 0);        // and rill's counter too (the ring and the pool allocate)
    CHECK(during.none());
    CHECK(checksum >= kWarmUp + kMeasured);  // every byte read was odd, so at least 1 each
    CHECK(pool.stats().in_use == 0);
}
