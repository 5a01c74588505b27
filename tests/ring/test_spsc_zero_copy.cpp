// SpscRing's claim/publish and peek/release: in-place writing and reading, including runs that
// wrap around the end of the storage.

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "rill/ring/spsc_ring.hpp"
#include "support/lifetime_tracker.hpp"

TEST_CASE("claim and peek give two spans when the run wraps", "[ring][spsc][zero-copy]") {
    rill::SpscRing<std::uint64_t> ring(8);
    std::uint64_t next = 0, expect = 0;
    // Advance both indices to 6 so that the next run of 5 wraps: slots 6,7 then 0,1,2.
    for (int i = 0; i < 6; ++i)
        REQUIRE(ring.try_push(next++));
    for (int i = 0; i < 6; ++i)
        REQUIRE(ring.try_pop() == expect++);

    rill::RingSpans<std::uint64_t> w = ring.claim(5);
    REQUIRE(w.size() == 5);
    CHECK(w.first.size() == 2);
    CHECK(w.second.size() == 3);
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = next++;
    ring.publish(5);

    CHECK(ring.claim(9).size() == 3);  // only 3 free; claiming does not publish
    ring.publish(0);
    CHECK(ring.size_approx() == 5);

    rill::RingSpans<std::uint64_t> r = ring.peek();
    REQUIRE(r.size() == 5);
    CHECK(r.first.size() == 2);
    std::uint64_t sum = 0;
    r.for_each([&](std::uint64_t& x) {
        CHECK(x == expect++);
        sum += x;
    });
    CHECK(sum == 6 + 7 + 8 + 9 + 10);
    ring.release(2);  // partial release: the rest stays readable
    CHECK(ring.peek(1).first[0] == 8);
    ring.release(1);
    CHECK(ring.size_approx() == 2);
}

TEST_CASE("publish(k) exposes only the first k claimed slots", "[ring][spsc][zero-copy]") {
    rill::SpscRing<std::string> ring(4);
    rill::RingSpans<std::string> w = ring.claim(4);
    REQUIRE(w.size() == 4);
    std::construct_at(&w[0], "a");
    std::construct_at(&w[1], "b");
    ring.publish(2);
    CHECK(ring.size_approx() == 2);
    CHECK(ring.try_pop() == std::optional<std::string>{"a"});
    CHECK(ring.try_pop() == std::optional<std::string>{"b"});
    CHECK_FALSE(ring.try_pop().has_value());
}

TEST_CASE("release destroys items processed in place", "[ring][spsc][zero-copy][lifetime]") {
    using rill::test::Tracked;
    Tracked::counters.reset();
    {
        rill::SpscRing<Tracked> ring(4);
        for (std::uint64_t i = 1; i <= 3; ++i)
            REQUIRE(ring.try_emplace(i));
        rill::RingSpans<Tracked> r = ring.peek(2);
        CHECK(r[0].value == 1);
        CHECK(r[1].value == 2);
        ring.release(2);
        CHECK(Tracked::counters.destroyed == 2);
    }  // the ring destroys the third
    CHECK(Tracked::counters.live() == 0);
    CHECK(Tracked::counters.bad_destroy == 0);
    CHECK(Tracked::counters.move_constructed == 0);  // emplaced and read in place: never moved
}
