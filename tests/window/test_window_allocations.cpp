// Zero allocations per item in steady state through window stages: count windows (tumbling and
// sliding) and processing-time windows (tumbling, sliding, session), keyed over 64 keys, on an
// endless source. Both routes are counted (support/counting_new.hpp); after a warm-up that
// has seen every key, window and session come and go, neither count may move over a million
// items. Its own executable, since it replaces operator new.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "rill/rill.hpp"
#include "support/counting_new.hpp"
#include "support/stress_config.hpp"

namespace {

using namespace std::chrono_literals;

struct Reading {
    std::uint32_t key;
    std::uint64_t value;
    rill::Clock::time_point time;  // event time: 100 ns per item, up to 300 ns out of order
};

/// Endless. `burst` consecutive items share a key: with a burst of 1000, each key is busy for a
/// while, then quiet, so that sessions end and begin again.
struct Readings {
    using value_type = Reading;
    std::atomic<std::uint64_t>* produced;
    std::uint64_t burst;
    std::uint64_t next = 0;

    rill::SourceStatus poll(rill::Emitter<Reading>& out, std::size_t max) {
        for (std::size_t i = 0; i < max; ++i, ++next)
            out.emit(Reading{static_cast<std::uint32_t>(next / burst % 64), next % 1000,
                             rill::Clock::time_point{} + 1h + next * 100ns - next % 7 * 50ns});
        // relaxed: a progress count; the allocation counters are what the test reads.
        produced->store(next, std::memory_order_relaxed);
        return rill::SourceStatus::more;
    }
};

enum class Kind {
    count_tumbling,
    count_sliding,
    time_tumbling,
    time_sliding,
    session,
    event_tumbling,
    event_sliding,
    event_session
};

}  // namespace

TEST_CASE("window stages allocate nothing per item in steady state", "[window][alloc]") {
    const Kind kind =
        GENERATE(Kind::count_tumbling, Kind::count_sliding, Kind::time_tumbling, Kind::time_sliding,
                 Kind::session, Kind::event_tumbling, Kind::event_sliding, Kind::event_session);
    CAPTURE(static_cast<int>(kind));
    const std::uint64_t measured = rill::test::stress_items(1'000'000);
    std::atomic<std::uint64_t> produced{0};
    std::atomic<std::uint64_t> windows{0};

    rill::Runtime runtime({.workers = 2});
    rill::Flow flow;
    const bool sessions = kind == Kind::session || kind == Kind::event_session;
    const auto time_of = [](const Reading& r) { return r.time; };
    auto source = flow.source("readings", Readings{&produced, sessions ? 1000u : 1u});
    const auto key_of = [](const Reading& r) { return r.key; };
    const auto keyed = [&] { return source.key_by(key_of); };
    const auto timed = [&] {
        return source.event_time("time", time_of, {.max_out_of_order = 1us}).key_by(key_of);
    };
    const auto sum = rill::agg::on(&Reading::value, rill::agg::Max<std::uint64_t>{});
    const auto count = [&windows](const auto&) {
        windows.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count, read at the end
    };
    switch (kind) {
        case Kind::count_tumbling:
            keyed().window("w", rill::count_window(100), sum).sink("out", count);
            break;
        case Kind::count_sliding:
            keyed().window("w", rill::count_window(100, 7), sum).sink("out", count);
            break;
        case Kind::time_tumbling:
            keyed().window("w", rill::tumbling_window(200us), sum).sink("out", count);
            break;
        case Kind::time_sliding:
            // Short enough that a pause of the source (a slow sanitizer run) empties every
            // window: the keys' states are then retired and reused when they come back.
            keyed().window("w", rill::sliding_window(1ms, 250us), sum).sink("out", count);
            break;
        case Kind::session:
            keyed().window("w", rill::session_window(50us), sum).sink("out", count);
            break;
        // Event time follows the items, not the clock: no pause empties a window.
        case Kind::event_tumbling:
            timed()
                .window("w", rill::by_event_time(rill::tumbling_window(20us), time_of), sum)
                .sink("out", count);
            break;
        case Kind::event_sliding:
            timed()
                .window("w", rill::by_event_time(rill::sliding_window(50us, 10us), time_of), sum)
                .sink("out", count);
            break;
        case Kind::event_session:
            timed()
                .window("w", rill::by_event_time(rill::session_window(5us), time_of), sum)
                .sink("out", count);
            break;
    }
    rill::Run run = runtime.start(flow);
    const auto wait_for = [&](std::uint64_t n) {
        // relaxed: a progress count (see Readings); it orders nothing the test reads.
        while (produced.load(std::memory_order_relaxed) < n)
            std::this_thread::sleep_for(1ms);
    };
    wait_for(200'000);  // every key, window and session has come and gone
    // And the sink has run: its worker has taken its tasks (late on a loaded machine, whose
    // scheduler may start a worker thread after the source has made 200,000 items).
    // relaxed: a count, as below.
    while (windows.load(std::memory_order_relaxed) == 0)
        std::this_thread::sleep_for(1ms);
    // relaxed: counts, as above.
    const std::uint64_t windows_before = windows.load(std::memory_order_relaxed);
    using rill::test::AllocationCount;
    const AllocationCount before = AllocationCount::now();
    wait_for(200'000 + measured);
    // At least one window during the measurement. relaxed: a count, as above.
    while (windows.load(std::memory_order_relaxed) == windows_before)
        std::this_thread::sleep_for(1ms);
    const AllocationCount during = AllocationCount::now() - before;
    // relaxed: a count, as above.
    const std::uint64_t windows_during = windows.load(std::memory_order_relaxed) - windows_before;
    run.cancel();
    REQUIRE(run.wait() == rill::RunStatus::cancelled);

    INFO("allocations over " << measured << " items and " << windows_during
                             << " windows: " << during);
    CHECK(windows_during > 0);
    CHECK(during.none());
    CHECK(run.metrics().balanced());
}
