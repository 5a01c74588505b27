// Single-threaded behaviour shared by every ring: validation, FIFO, batches, lifetimes.

#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "ring/ring_types.hpp"
#include "support/lifetime_tracker.hpp"
#include "support/matchers.hpp"

using rill::test::RingTraits;
using rill::test::Tracked;

TEMPLATE_TEST_CASE("a ring rejects a bad capacity with a message naming it", "[ring]",
                   rill::SpscRing<std::uint64_t>, rill::MpmcRing<std::uint64_t>) {
    RILL_CHECK_THROWS_WITH_TEXT(TestType(0), std::invalid_argument, "capacity 0 is too small");
    RILL_CHECK_THROWS_WITH_TEXT(TestType(1000), std::invalid_argument,
                                "capacity 1000 is not a power of two (try 1024)");
    RILL_CHECK_THROWS_WITH_TEXT(TestType(std::size_t{1} << 33), std::invalid_argument,
                                "capacity 8589934592 is too large");
    RILL_CHECK_THROWS_WITH_TEXT(TestType(~std::size_t{0}), std::invalid_argument, "is too large");
    if (RingTraits<TestType>::min_capacity == 2) {
        RILL_CHECK_THROWS_WITH_TEXT(TestType(1), std::invalid_argument,
                                    "MpmcRing capacity 1 is too small");
    }
    CHECK_NOTHROW(TestType(RingTraits<TestType>::min_capacity));
}

TEMPLATE_TEST_CASE("a ring is FIFO, bounded, and reports its size", "[ring]",
                   rill::SpscRing<std::uint64_t>, rill::MpmcRing<std::uint64_t>) {
    const std::size_t capacity = GENERATE(2, 8, 64);
    TestType ring(capacity);
    REQUIRE(ring.capacity() == capacity);
    std::uint64_t out = 0;
    CHECK_FALSE(ring.try_pop(out));
    CHECK(ring.empty_approx());
    for (std::uint64_t lap = 0; lap < 3; ++lap) {  // several laps through the storage
        for (std::uint64_t i = 0; i < capacity; ++i)
            REQUIRE(ring.try_push(i + 100 * lap));
        CHECK_FALSE(ring.try_push(std::uint64_t{999}));
        CHECK(ring.size_approx() == capacity);
        for (std::uint64_t i = 0; i < capacity; ++i) {
            REQUIRE(ring.try_pop(out));
            REQUIRE(out == i + 100 * lap);
        }
        CHECK_FALSE(ring.try_pop().has_value());
        CHECK(ring.size_approx() == 0);
    }
    REQUIRE(ring.try_emplace(std::uint64_t{7}));
    CHECK(ring.try_pop() == std::optional<std::uint64_t>{7});
}

TEMPLATE_TEST_CASE("batch operations move up to n items and stop at full or empty", "[ring]",
                   rill::SpscRing<std::uint64_t>, rill::MpmcRing<std::uint64_t>) {
    TestType ring(16);
    std::vector<std::uint64_t> in(40);
    std::iota(in.begin(), in.end(), 1);
    CHECK(ring.try_push_n(in.begin(), 0) == 0);  // empty requests return at once
    CHECK(ring.try_pop_n(in.begin(), 0) == 0);
    CHECK(ring.try_push_n(in.begin(), 10) == 10);
    CHECK(ring.try_push_n(in.begin() + 10, 30) == 6);  // only 6 slots left
    CHECK(ring.try_push_n(in.begin(), 1) == 0);
    std::vector<std::uint64_t> out(40);
    CHECK(ring.try_pop_n(out.begin(), 5) == 5);
    CHECK(ring.try_pop_n(out.begin() + 5, 40) == 11);
    CHECK(ring.try_pop_n(out.begin(), 1) == 0);
    out.resize(16);
    CHECK(out == std::vector<std::uint64_t>(in.begin(), in.begin() + 16));
    // A batch that wraps around the end of the storage.
    CHECK(ring.try_push_n(in.begin(), 12) == 12);
    CHECK(ring.try_pop_n(out.begin(), 12) == 12);
    CHECK(std::equal(out.begin(), out.begin() + 12, in.begin()));
}

TEMPLATE_PRODUCT_TEST_CASE("every item is moved in, moved out and destroyed exactly once",
                           "[ring][lifetime]", (rill::SpscRing, rill::MpmcRing), (Tracked)) {
    Tracked::counters.reset();
    constexpr std::uint64_t kRounds = 5;
    constexpr std::size_t kCap = 8;
    {
        TestType ring(kCap);
        for (std::uint64_t r = 0; r < kRounds; ++r) {
            for (std::uint64_t i = 0; i < kCap; ++i) {
                Tracked t(r * kCap + i + 1);
                REQUIRE(ring.try_push(std::move(t)));
            }
            for (std::uint64_t i = 0; i < kCap; ++i) {
                Tracked out;
                REQUIRE(ring.try_pop(out));
                REQUIRE(out.value == r * kCap + i + 1);
            }
        }
        // 8 pushed by batch, 4 popped by batch, 4 left for the destructor.
        std::vector<Tracked> batch;
        batch.reserve(kCap);  // no moves from regrowth
        for (std::uint64_t i = 0; i < kCap; ++i)
            batch.emplace_back(i);
        REQUIRE(ring.try_push_n(std::make_move_iterator(batch.begin()), kCap) == kCap);
        std::vector<Tracked> popped(4);
        REQUIRE(ring.try_pop_n(popped.begin(), 4) == 4);
    }
    const long items = static_cast<long>(kRounds * kCap + kCap);
    CHECK(Tracked::counters.bad_destroy == 0);
    CHECK(Tracked::counters.live() == 0);
    // Moved into a slot exactly once each...
    CHECK(Tracked::counters.move_constructed == items);
    // ...and out of it exactly once each, except the 4 the ring destroyed.
    CHECK(Tracked::counters.move_assigned == items - 4);
}
