// Zero allocations per item in steady state through the runtime: a source takes 1 KiB buffers
// from an ObjectPool (reporting idle while the pool is empty) and fills them, a map on another
// worker (or two ordered replicas of it) reads and touches every byte, a sink checks them and
// drops them back into the pool.
// Both routes are counted (support/counting_new.hpp): the global operator new and rill's own
// allocator (ring slots, emitter buffers, ...); after a warm-up neither count may move over a
// million items. A progress watchdog ends the wait if the sink gets nothing for a stall limit.
// Its own executable, since it replaces operator new.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "rill/rill.hpp"
#include "support/counting_new.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

namespace {

using namespace std::chrono_literals;

struct Buffer {
    std::array<std::byte, 1024> bytes{};
    std::uint64_t seq = 0;
    std::uint64_t sum = 0;
};
using Item = rill::Pooled<Buffer>;

/// What the sink finds in buffer `seq` after the map: every byte was set to seq & 0xff.
constexpr std::uint64_t expected_sum(std::uint64_t seq) {
    return 1024 * (seq & 0xff);
}

/// Endless: fills a pooled buffer per item; idle while the pool is empty.
struct PoolSource {
    using value_type = Item;
    rill::ObjectPool<Buffer>* pool;
    std::uint64_t next = 0;

    rill::SourceStatus poll(rill::Emitter<Item>& out, std::size_t max) {
        for (std::size_t i = 0; i < max; ++i) {
            Item b = pool->try_acquire();
            if (!b) return i == 0 ? rill::SourceStatus::idle : rill::SourceStatus::more;
            std::memset(b->bytes.data(), static_cast<int>(next & 0xff), b->bytes.size());
            b->seq = next++;
            b->sum = 0;
            out.emit(std::move(b));
        }
        return rill::SourceStatus::more;
    }
};

/// Reads every byte into the sum, then changes one.
Item touch(Item b) {
    std::uint64_t sum = 0;
    for (std::byte x : b->bytes)
        sum += static_cast<std::uint64_t>(x);
    b->sum = sum;
    b->bytes[b->seq % b->bytes.size()] ^= std::byte{0xff};
    return b;
}

struct SinkState {
    std::atomic<std::uint64_t> delivered{0};
    std::uint64_t checksum = 0;
    std::uint64_t bad_sum = 0;
    std::uint64_t out_of_order = 0;
};

}  // namespace

TEST_CASE("a pooled flow allocates nothing per item in steady state", "[runtime][alloc]") {
    // The sink runs on the source's worker (buffers go home on the thread that takes them) or on
    // the map's (they cross threads both ways).
    const unsigned sink_worker = GENERATE(0u, 1u);
    // Or the map as two ordered replicas, one per worker: routers, frames and the fan-in too.
    const bool replicated = GENERATE(false, true);
    CAPTURE(sink_worker, replicated);
    const std::uint64_t warm_up = 20'000;
    const std::uint64_t measured = rill::test::stress_items(1'000'000);

    // The pool outlives the runtime, whose workers return buffers to it.
    rill::ObjectPool<Buffer> pool({.capacity = 128});
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true});
    SinkState sink;
    rill::Flow flow({.capacity = 64, .batch = 32, .chain = false});
    flow.source("fill", PoolSource{&pool},
                {.worker = 0u, .poll_interval = std::chrono::microseconds(20)})
        .map("touch", touch,
             replicated ? rill::StageOptions{.worker = 0u, .replicas = 2, .ordered = true}
                        : rill::StageOptions{.worker = 1u})
        .sink("drop",
              [&sink](Item b) {
                  const std::uint64_t n = sink.delivered.load(std::memory_order_relaxed);
                  if (b->seq != n) ++sink.out_of_order;
                  if (b->sum != expected_sum(b->seq)) ++sink.bad_sum;
                  sink.checksum += b->sum;
                  // release: the main thread's acquire load sees the work up to this item.
                  sink.delivered.store(n + 1, std::memory_order_release);
              },  // b goes back to the pool here
              {.worker = sink_worker});

    rill::Run run = runtime.start(flow);
    using rill::test::AllocationCount;
    std::uint64_t from = 0, to = 0;
    AllocationCount before, during;
    {
        std::atomic<bool> stalled{false};
        const rill::test::ProgressWatchdog dog("pooled flow", sink.delivered, [&] {
            stalled.store(true);  // ends the waits below
        });
        // acquire: pairs with the sink's release.
        const auto wait_for_items = [&](std::uint64_t n) {
            while (sink.delivered.load(std::memory_order_acquire) < n && !stalled.load())
                std::this_thread::sleep_for(1ms);
            return sink.delivered.load(std::memory_order_acquire);
        };
        from = wait_for_items(warm_up);
        before = AllocationCount::now();
        to = wait_for_items(from + measured);
        during = AllocationCount::now() - before;
        INFO(dog.describe());
        CHECK_FALSE(dog.stalled());
    }

    run.cancel();
    REQUIRE(run.wait() == rill::RunStatus::cancelled);
    INFO("allocations while the sink got items " << from << " to " << to << ": " << during);
    REQUIRE(to - from >= measured);
    // The counting operator new is the one in use (start() allocates), and rill's counter counts
    // (rings, the pool, emitter buffers).
    CHECK(before.global_new > 0);
    CHECK(before.rill > 0);
    CHECK(during.none());

    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    CHECK(m.balanced());
    CHECK(m.at("drop").out == sink.delivered.load());
    CHECK(sink.out_of_order == 0);
    CHECK(sink.bad_sum == 0);
    std::uint64_t expected = 0;
    for (std::uint64_t i = 0; i < sink.delivered.load(); ++i)
        expected += expected_sum(i);
    CHECK(sink.checksum == expected);
    CHECK(pool.stats().in_use == 0);  // dropped items went back to the pool too
}
