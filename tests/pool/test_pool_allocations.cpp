// Zero allocations per item in steady state: producer -> SpscRing -> consumer of pooled 1 KiB
// buffers, with a global operator new that counts. The count is read after a warm-up and again
// after a million items; it must not move.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <thread>

#include "rill/pool/object_pool.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "support/counting_new.hpp"
#include "support/stress_config.hpp"

namespace {

struct Buffer {
    std::array<char, 1024> bytes{};
};

}  // namespace

TEST_CASE("pooled hand-off allocates nothing per item in steady state", "[pool][alloc]") {
    // Both threads busy-wait: under sanitizers on a shared 2-core machine, keep it short.
    const std::uint64_t kWarmUp = 10'000, kMeasured = rill::test::stress_items(1'000'000);
    rill::ObjectPool<Buffer> pool({.capacity = 128});
    rill::SpscRing<rill::Pooled<Buffer>> ring(64);
    std::atomic<std::uint64_t> consumed{0};
    std::uint64_t checksum = 0;
    std::thread consumer([&] {
        rill::Pooled<Buffer> b;
        for (std::uint64_t got = 0; got < kWarmUp + kMeasured;) {
            if (!ring.try_pop(b)) continue;
            checksum += static_cast<unsigned char>(b->bytes[got % 1024]);
            b.reset();
            // release: the producer's acquire load below sees this thread's work so far.
            consumed.store(++got, std::memory_order_release);
        }
    });
    std::uint64_t before = 0;
    for (std::uint64_t i = 0; i < kWarmUp + kMeasured; ++i) {
        if (i == kWarmUp) {
            // acquire: pairs with the consumer's release; both threads are past their first use.
            while (consumed.load(std::memory_order_acquire) != kWarmUp) {
            }
            before = g_allocations.load();
        }
        rill::Pooled<Buffer> b = pool.acquire(rill::WaitPolicy::spin_yield());
        b->bytes[i % 1024] = static_cast<char>((i & 0x7f) | 1);
        while (!ring.try_push(std::move(b))) {
        }
    }
    // acquire: as above; the consumer's last return precedes the count below.
    while (consumed.load(std::memory_order_acquire) != kWarmUp + kMeasured) {
    }
    const std::uint64_t during = g_allocations.load() - before;
    consumer.join();
    INFO("allocations during " << kMeasured << " items: " << during);
    CHECK(during == 0);
    CHECK(checksum >= kWarmUp + kMeasured);  // every byte read was odd, so at least 1 each
    CHECK(pool.stats().in_use == 0);
}
