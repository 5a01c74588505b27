// EventCount and Waiter: no lost wake-up under a park/unpark storm, timeouts, and a parked
// thread that uses no CPU.

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "rill/wait/event_count.hpp"
#include "rill/wait/waiter.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("park/unpark storm: every round's wake-up arrives", "[wait][stress]") {
    // Two threads pass a token back and forth; each waits for its turn with a park-only policy, so
    // every wait that does not find the token already there goes through prepare_wait + futex.
    // A lost wake-up leaves both threads asleep; the progress watchdog notices the stalled token,
    // records the failure and frees them.
    const std::uint64_t rounds = rill::test::stress_items(300'000, 10);
    std::atomic<std::uint64_t> token{0};  // even: ping's turn, odd: pong's turn
    std::atomic<bool> stalled{false};
    rill::EventCount ping_ec, pong_ec;
    rill::WaitStats ping_stats, pong_stats;

    auto player = [&](std::uint64_t parity, rill::EventCount& mine, rill::EventCount& theirs,
                      rill::WaitStats& stats) {
        rill::Waiter waiter(rill::WaitPolicy::park());
        for (std::uint64_t t = parity; t < 2 * rounds; t += 2) {
            waiter.wait(
                mine, [&] { return token.load(std::memory_order_acquire) == t || stalled.load(); });
            if (stalled.load()) break;
            token.store(t + 1, std::memory_order_release);
            theirs.notify_one();
        }
        stats = waiter.stats();
    };
    {
        const rill::test::ProgressWatchdog dog("park/unpark storm", token, [&] {
            stalled = true;  // a lost wake-up: both sleep on a token that is never coming
            ping_ec.notify_all();
            pong_ec.notify_all();
        });
        std::thread ping(player, 0, std::ref(ping_ec), std::ref(pong_ec), std::ref(ping_stats));
        std::thread pong(player, 1, std::ref(pong_ec), std::ref(ping_ec), std::ref(pong_stats));
        ping.join();
        pong.join();
    }
    INFO("stalled at token " << token.load() << " of " << 2 * rounds);
    REQUIRE_FALSE(stalled.load());
    CHECK(token.load() == 2 * rounds);
    // The park path really was taken: no spins, no yields, and most waits parked.
    CHECK(ping_stats.spins + pong_stats.spins == 0);
    CHECK(ping_stats.yields + pong_stats.yields == 0);
    CHECK(ping_stats.parks + pong_stats.parks > rounds / 2);
}

TEST_CASE("many waiters and notify_all: everyone wakes", "[wait]") {
    rill::EventCount ec;
    std::atomic<bool> flag{false};
    std::atomic<int> woken{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 4; ++i) {
        waiters.emplace_back([&] {
            // Catch2 assertions are for the main thread only: count here, check there.
            rill::Waiter w(rill::WaitPolicy::park());
            if (w.wait(
                    ec, [&] { return flag.load(); }, Clock::now() + 30s))
                ++woken;
        });
    }
    while (ec.waiters_approx() < 4)
        std::this_thread::sleep_for(1ms);
    flag = true;
    ec.notify_all();
    for (auto& t : waiters)
        t.join();
    CHECK(woken == 4);
    CHECK(ec.waiters_approx() == 0);
}

TEST_CASE("every wait policy times out at its deadline and wakes on a notify", "[wait]") {
    const rill::WaitPolicy policy =
        GENERATE(rill::WaitPolicy::busy_spin(), rill::WaitPolicy::spin_yield(64),
                 rill::WaitPolicy::spin_park(64, 4), rill::WaitPolicy::park());
    CAPTURE(rill::to_string(policy));
    rill::EventCount ec;
    std::atomic<bool> flag{false};

    rill::Waiter idle(policy);
    const auto start = Clock::now();
    CHECK_FALSE(idle.wait(
        ec, [&] { return flag.load(); }, start + 20ms));
    CHECK(Clock::now() - start >= 20ms);
    CHECK(idle.stats().timeouts == 1);
    CHECK(ec.waiters_approx() == 0);

    rill::Waiter waiter(policy);
    std::thread notifier([&] {
        std::this_thread::sleep_for(10ms);
        flag = true;
        ec.notify_one();
    });
    CHECK(waiter.wait(
        ec, [&] { return flag.load(); }, Clock::now() + 30s));
    notifier.join();
    CHECK(waiter.stats().timeouts == 0);
    if (policy.mode == rill::WaitPolicy::Mode::park) CHECK(waiter.stats().spins == 0);
    if (policy.mode == rill::WaitPolicy::Mode::busy_spin) CHECK(waiter.stats().parks == 0);
}

TEST_CASE("EventCount: prepare, cancel, and a timed wait without notify", "[wait]") {
    rill::EventCount ec;
    {
        const rill::EventCount::Key key = ec.prepare_wait();
        (void)key;
        CHECK(ec.waiters_approx() == 1);
        ec.cancel_wait();
        CHECK(ec.waiters_approx() == 0);
    }
    const rill::EventCount::Key key = ec.prepare_wait();
    const auto start = Clock::now();
    CHECK_FALSE(ec.wait_for(key, 15ms));
    CHECK(Clock::now() - start >= 15ms);
    CHECK(ec.waiters_approx() == 0);
    // Deadlines outside the clock's range: one long past times out at once, a huge timeout
    // saturates instead of overflowing.
    CHECK_FALSE(ec.wait_until(ec.prepare_wait(), Clock::time_point::min()));
    const rill::EventCount::Key huge = ec.prepare_wait();
    ec.notify_one();
    CHECK(ec.wait_for(huge, std::chrono::hours::max()));
    CHECK(ec.waiters_approx() == 0);
    // A notify that lands between prepare_wait and wait makes wait return at once.
    const rill::EventCount::Key key2 = ec.prepare_wait();
    ec.notify_one();
    CHECK(ec.wait_for(key2, 10s));
}

TEST_CASE("a parked thread uses no CPU", "[wait]") {
    rill::EventCount ec;
    std::atomic<bool> flag{false};
    long cpu_micros = -1;
    std::thread sleeper([&] {
        auto thread_cpu_micros = [] {
            rusage u{};
            getrusage(RUSAGE_THREAD, &u);
            return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000L + u.ru_utime.tv_usec +
                   u.ru_stime.tv_usec;
        };
        rill::Waiter w(rill::WaitPolicy::spin_park(1000, 2));
        const long before = thread_cpu_micros();
        if (w.wait(
                ec, [&] { return flag.load(); }, Clock::now() + 30s)) {
            cpu_micros = thread_cpu_micros() - before;
        }
    });
    std::this_thread::sleep_for(500ms);
    flag = true;
    ec.notify_one();
    sleeper.join();
    // CPU time of the waiting thread over 500 ms of waiting: the spin and yield budget only.
    // 25 ms is far above that budget and far below a thread that kept spinning (500 ms).
    CHECK(cpu_micros >= 0);  // the wait succeeded
    CHECK(cpu_micros < 25'000);
}
