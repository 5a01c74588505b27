// A second thread on one side of an SpscRing is caught by the owner check (compiled in here with
// RILL_CHECKS=1 whatever the build type): the process aborts with a message naming the side.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <thread>

#include "rill/ring/spsc_ring.hpp"
#include "support/child_process.hpp"

static_assert(RILL_CHECKS, "this test needs the owner checks compiled in");

using rill::test::ChildOutcome;
using rill::test::run_in_child;

TEST_CASE("a second producer thread aborts with a message", "[ring][spsc][checks]") {
    const ChildOutcome out = run_in_child([] {
        rill::SpscRing<std::uint64_t> ring(8);
        (void)ring.try_push(std::uint64_t{1});
        std::thread([&] { (void)ring.try_push(std::uint64_t{2}); }).join();
    });
    CHECK(out.signal == SIGABRT);
    CHECK_THAT(out.stderr_text,
               Catch::Matchers::Contains("SpscRing: producer side used by a second thread"));
}

TEST_CASE("a second consumer thread aborts with a message", "[ring][spsc][checks]") {
    const ChildOutcome out = run_in_child([] {
        rill::SpscRing<std::uint64_t> ring(8);
        (void)ring.try_push(std::uint64_t{1});
        (void)ring.try_pop();
        std::thread([&] { (void)ring.try_pop(); }).join();
    });
    CHECK(out.signal == SIGABRT);
    CHECK_THAT(out.stderr_text,
               Catch::Matchers::Contains("SpscRing: consumer side used by a second thread"));
}

TEST_CASE("publishing or releasing more than was handed out aborts with a message",
          "[ring][spsc][checks]") {
    const ChildOutcome publish = run_in_child([] {
        rill::SpscRing<std::uint64_t> ring(8);
        (void)ring.claim(2);
        ring.publish(3);
    });
    CHECK(publish.signal == SIGABRT);
    CHECK_THAT(publish.stderr_text,
               Catch::Matchers::Contains("SpscRing::publish: more slots than claimed"));
    const ChildOutcome release = run_in_child([] {
        rill::SpscRing<std::uint64_t> ring(8);
        (void)ring.try_push(std::uint64_t{1});
        (void)ring.peek(1);
        ring.release(2);
    });
    CHECK(release.signal == SIGABRT);
    CHECK_THAT(release.stderr_text,
               Catch::Matchers::Contains("SpscRing::release: more items than peeked"));
}

TEST_CASE("one thread per side passes the owner check", "[ring][spsc][checks]") {
    const ChildOutcome out = run_in_child([] {
        rill::SpscRing<std::uint64_t> ring(8);
        std::thread producer([&] {
            for (std::uint64_t i = 0; i < 1000; ++i) {
                while (!ring.try_push(i))
                    std::this_thread::yield();
            }
        });
        std::thread consumer([&] {
            for (std::uint64_t got = 0; got < 1000;)
                got += ring.try_pop().has_value() ? 1 : 0;
        });
        producer.join();
        consumer.join();
    });
    CHECK(out.signal == 0);
    CHECK(out.stderr_text.empty());
}
