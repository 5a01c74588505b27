// Every ring type under concurrent producers and consumers: nothing lost, nothing duplicated,
// FIFO per producer, for every capacity and batch size. A ring that loses an item fails here
// within a stall limit (10 s in release), with the ledger naming the missing items.

#include <catch2/catch.hpp>

#include <cstdint>

#include "ring/ring_types.hpp"
#include "ring/stress_harness.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

using rill::test::RingTraits;

TEMPLATE_TEST_CASE("ring stress: checksum, per-item ledger and FIFO per producer", "[ring][stress]",
                   rill::SpscRing<std::uint64_t>, rill::MpmcRing<std::uint64_t>) {
    const int producers = GENERATE(from_range(RingTraits<TestType>::producer_counts));
    const int consumers = GENERATE(from_range(RingTraits<TestType>::consumer_counts));
    const std::size_t capacity = GENERATE(2, 64, 4096);
    const std::size_t batch = GENERATE(1, 7, 64);
    // 2 * 10^6 items for one producer and one consumer; fewer as threads outnumber the 2 cores
    // of CI (down to 0.5 * 10^6 for 4 + 4), where more items add time more than interleavings.
    const auto threads = static_cast<std::uint64_t>(producers + consumers);
    const rill::test::StressConfig cfg{.producers = producers,
                                       .consumers = consumers,
                                       .batch = batch,
                                       .items = rill::test::stress_items(4'000'000 / threads, 40)};
    CAPTURE(RingTraits<TestType>::name, producers, consumers, capacity, batch, cfg.items);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);
    TestType ring(capacity);
    const rill::test::StressResult r = rill::test::run_stress(ring, cfg);
    INFO(r.describe());
    CHECK_FALSE(r.stalled);
    CHECK(r.pushed == cfg.items / static_cast<std::uint64_t>(producers) *
                          static_cast<std::uint64_t>(producers));
    CHECK(r.ledger.missing == 0);
    CHECK(r.ledger.duplicated == 0);
    CHECK(r.ledger.unexpected == 0);
    CHECK(r.out_of_order == 0);
    CHECK(r.popped_sum == r.pushed_sum);
    if (!r.stalled) CHECK(ring.size_approx() == 0);
}
