// Position counters seeded just below 2^64 so that a run crosses the wrap of the counters
// (several laps of the storage on each side of it), single-threaded and under concurrency.

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "ring/ring_types.hpp"
#include "ring/stress_harness.hpp"
#include "support/stress_config.hpp"

using rill::test::RingTraits;

TEMPLATE_TEST_CASE("position counters wrap around 2^64 without losing items", "[ring][wrap]",
                   rill::SpscRing<std::uint64_t>, rill::MpmcRing<std::uint64_t>) {
    constexpr std::size_t kCap = 16;
    // 5 laps before the counters wrap, the rest after.
    const rill::RingIndexSeed seed{std::numeric_limits<std::uint64_t>::max() - 5 * kCap + 3};

    SECTION("single thread, exact order and sizes") {
        TestType ring(kCap, seed);
        std::uint64_t next_in = 0, next_out = 0;
        for (int lap = 0; lap < 20; ++lap) {
            const std::size_t fill = lap % 2 ? kCap : kCap - 3;  // alternate full and partial
            for (std::size_t i = 0; i < fill; ++i)
                REQUIRE(ring.try_push(next_in++));
            REQUIRE(ring.size_approx() == fill);
            if (fill == kCap) REQUIRE_FALSE(ring.try_push(std::uint64_t{0}));
            std::uint64_t buf[kCap];
            REQUIRE(ring.try_pop_n(buf, kCap) == fill);
            for (std::size_t i = 0; i < fill; ++i)
                REQUIRE(buf[i] == next_out++);
        }
        REQUIRE(ring.size_approx() == 0);
    }

    SECTION("concurrent producers and consumers across the wrap") {
        const int producers = RingTraits<TestType>::producer_counts.back();
        const int consumers = RingTraits<TestType>::consumer_counts.back();
        TestType ring(kCap, seed);
        const rill::test::StressConfig cfg{.producers = producers,
                                           .consumers = consumers,
                                           .batch = 5,
                                           .items = rill::test::stress_items(1'000'000, 10)};
        const rill::test::StressResult r = rill::test::run_stress(ring, cfg);
        INFO(r.describe());
        CHECK_FALSE(r.stalled);
        CHECK(r.ledger.missing == 0);
        CHECK(r.ledger.duplicated == 0);
        CHECK(r.ledger.unexpected == 0);
        CHECK(r.out_of_order == 0);
        CHECK(r.popped_sum == r.pushed_sum);
    }
}
