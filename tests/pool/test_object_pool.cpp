// ObjectPool and Pooled: options, exhaustion, reuse, reset hook, waiting, closing, and the
// misuse checks (a pool destroyed under live handles; use after return under ASan).

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "rill/pool/object_pool.hpp"
#include "support/child_process.hpp"
#include "support/matchers.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Buffer {
    std::vector<char> bytes;
    Buffer() { bytes.reserve(1024); }
};

rill::PoolOptions options(std::size_t capacity, std::uint32_t caches) {
    return {.capacity = capacity, .thread_caches = caches, .cache_items = 4};
}

}  // namespace

TEST_CASE("pool options are checked with messages naming the value", "[pool]") {
    RILL_CHECK_THROWS_WITH_TEXT(rill::ObjectPool<int>({.capacity = 0}), std::invalid_argument,
                                "PoolOptions.capacity 0 is out of range: expected 1 to 16777216");
    RILL_CHECK_THROWS_WITH_TEXT(rill::ObjectPool<int>({.capacity = std::size_t{1} << 40}),
                                std::invalid_argument, "PoolOptions.capacity 1099511627776");
    RILL_CHECK_THROWS_WITH_TEXT(rill::ObjectPool<int>({.capacity = 4, .thread_caches = 5000}),
                                std::invalid_argument, "PoolOptions.thread_caches 5000");
    RILL_CHECK_THROWS_WITH_TEXT(rill::ObjectPool<int>({.capacity = 4, .cache_items = 0}),
                                std::invalid_argument, "PoolOptions.cache_items 0");
    RILL_CHECK_THROWS_WITH_TEXT(rill::ObjectPool<int>({.capacity = 4, .cache_items = 65}),
                                std::invalid_argument, "expected 1 to 64");
}

TEST_CASE("acquire rejects a bad wait policy even when an object is free", "[pool]") {
    rill::ObjectPool<int> pool({.capacity = 2});
    RILL_CHECK_THROWS_WITH_TEXT(pool.acquire(rill::WaitPolicy::spin_yield(1u << 30)),
                                std::invalid_argument, "WaitPolicy.spin 1073741824 exceeds");
    CHECK(pool.stats().in_use == 0);
}

TEST_CASE("a pool hands out each object once, comes back empty when exhausted, and reuses",
          "[pool]") {
    const std::uint32_t caches = GENERATE(0u, 16u);
    CAPTURE(caches);
    rill::ObjectPool<Buffer> pool(options(8, caches));
    std::vector<rill::Pooled<Buffer>> held;
    for (int i = 0; i < 8; ++i) {
        held.push_back(pool.try_acquire());
        REQUIRE(held.back());
        held.back()->bytes.assign(10, 'x');
    }
    for (std::size_t i = 0; i < held.size(); ++i) {
        for (std::size_t j = i + 1; j < held.size(); ++j)
            CHECK(held[i].get() != held[j].get());
    }
    CHECK_FALSE(pool.try_acquire());
    CHECK(pool.stats().in_use == 8);
    CHECK(pool.stats().failed_acquires == 1);  // try_acquire only; acquire() never counts here
    CHECK(pool.stats().high_water == 8);

    Buffer* first = held.front().get();
    held.front().reset();
    CHECK(pool.stats().in_use == 7);
    rill::Pooled<Buffer> again = pool.try_acquire();
    REQUIRE(again);
    CHECK(again.get() == first);  // the object came back and is reused, not reallocated
    held.clear();
    again = {};
    const rill::PoolStats s = pool.stats();
    CHECK(s.in_use == 0);
    CHECK(s.cached <= 8);
}

TEST_CASE("the reset hook runs on return and keeps the buffer's capacity", "[pool]") {
    int resets = 0;
    rill::ObjectPool<Buffer> pool({.capacity = 1}, [&](Buffer& b) {
        ++resets;
        b.bytes.clear();
    });
    {
        rill::Pooled<Buffer> b = pool.try_acquire();
        b->bytes.assign(1000, 'y');
    }
    CHECK(resets == 1);
    rill::Pooled<Buffer> b = pool.try_acquire();
    CHECK(b->bytes.empty());
    CHECK(b->bytes.capacity() >= 1000);
}

TEST_CASE("Pooled is a move-only handle of one pointer", "[pool]") {
    STATIC_REQUIRE(sizeof(rill::Pooled<Buffer>) == sizeof(void*));
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<rill::Pooled<Buffer>>);
    rill::ObjectPool<int> pool({.capacity = 2});
    rill::Pooled<int> a = pool.try_acquire();
    *a = 5;
    rill::Pooled<int> b = std::move(a);
    CHECK_FALSE(a);
    CHECK(*b == 5);
    b = pool.try_acquire();  // move-assigning returns the old object
    CHECK(pool.stats().in_use == 1);
}

TEST_CASE("acquire waits for a returned object, and gives up at its deadline", "[pool]") {
    const rill::WaitPolicy policy =
        GENERATE(rill::WaitPolicy::park(), rill::WaitPolicy::spin_park(100, 2));
    const std::uint32_t caches = GENERATE(0u, 16u);
    CAPTURE(rill::to_string(policy), caches);
    rill::ObjectPool<int> pool(options(1, caches));
    rill::Pooled<int> held = pool.try_acquire();
    REQUIRE(held);
    CHECK_FALSE(pool.acquire(policy, Clock::now() + 20ms));

    std::thread returner([&] {
        std::this_thread::sleep_for(20ms);
        held.reset();  // returned on another thread, into that thread's cache
    });
    rill::Pooled<int> got = pool.acquire(policy, Clock::now() + 30s);
    returner.join();
    CHECK(got);
    CHECK(pool.stats().waits == 2);
}

TEST_CASE("thread ordinals are unique among live threads and reused after a thread exits",
          "[pool]") {
    // Pool caches are indexed by ordinal, so two live threads must never share one, and threads
    // that come and go must not run the ordinals past the caches.
    constexpr int kThreads = 6;
    std::vector<std::uint32_t> seen(kThreads);
    std::atomic<int> arrived{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            seen[static_cast<std::size_t>(t)] = rill::detail::thread_ordinal();
            arrived.fetch_add(1);
            while (arrived.load() != kThreads) {  // all alive at once
                std::this_thread::yield();
            }
        });
    }
    for (auto& t : threads)
        t.join();
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    CHECK(seen.back() != rill::detail::kNoOrdinal);
    for (int round = 0; round < 100; ++round) {
        std::uint32_t later = rill::detail::kNoOrdinal;
        std::thread([&] { later = rill::detail::thread_ordinal(); }).join();
        CHECK(later <= seen.back());  // the lowest free ordinal: one of those given back
    }
}

TEST_CASE("closing a pool wakes a waiting acquire with an error", "[pool]") {
    rill::ObjectPool<int> pool({.capacity = 1});
    rill::Pooled<int> held = pool.try_acquire();
    std::atomic<bool> threw{false};
    std::string message;
    std::thread waiter([&] {
        try {
            (void)pool.acquire(rill::WaitPolicy::park());
        } catch (const std::runtime_error& e) {
            message = e.what();
            threw = true;
        }
    });
    std::this_thread::sleep_for(20ms);  // usually parked by now; if not, it finds the pool closed
    pool.close();
    waiter.join();
    CHECK(threw);
    CHECK_THAT(message, Catch::Matchers::Contains("ObjectPool: closed while acquire() waited"));
    CHECK_FALSE(pool.try_acquire());
    CHECK_THROWS_AS(pool.acquire(), std::runtime_error);
    held.reset();  // returning still works after close
    CHECK(pool.stats().in_use == 0);
}

TEST_CASE("destroying a pool while a handle is out aborts with a message", "[pool][checks]") {
    const rill::test::ChildOutcome out = rill::test::run_in_child([] {
        auto* pool = new rill::ObjectPool<int>({.capacity = 4});
        // The handle is leaked on purpose so that nothing runs after the abort.
        new rill::Pooled<int>(pool->try_acquire());
        delete pool;
    });
    CHECK(out.signal == SIGABRT);
    CHECK_THAT(out.stderr_text,
               Catch::Matchers::Contains("ObjectPool destroyed while 1 of its 4 objects are still "
                                         "held by Pooled handles"));
}

#ifdef RILL_POOL_POISON
TEST_CASE("under ASan, touching an object after returning it is reported", "[pool][checks]") {
    const rill::test::ChildOutcome out = rill::test::run_in_child([] {
        rill::ObjectPool<long> pool({.capacity = 2});
        long* stale = nullptr;
        {
            rill::Pooled<long> h = pool.try_acquire();
            stale = h.get();
        }
        *static_cast<volatile long*>(stale) = 1;  // use after return
    });
    CHECK((out.signal != 0 || out.exit_code != 0));
    CHECK_THAT(out.stderr_text, Catch::Matchers::Contains("use-after-poison"));
}
#endif
