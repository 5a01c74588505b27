// Expanding stages keep memory bounded: a flat_map, a batch stage or a source that emits a
// million items for one input, into a 16-slot ring, holds at most a batch beyond the ring (it
// waits for room inside emit(), its worker running its other tasks), and every item arrives.
// The items count themselves: the most alive at once is the measure of what the flow holds.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "support/progress_watchdog.hpp"
#include "support/watched_run.hpp"

using namespace std::chrono_literals;

namespace {

std::atomic<std::int64_t> g_alive{0};
std::atomic<std::int64_t> g_most_alive{0};

/// An item that counts the instances alive, and remembers the most at once.
struct Counted {
    std::uint64_t value = 0;

    explicit Counted(std::uint64_t v) noexcept : value(v) { born(); }
    Counted(const Counted& other) noexcept : value(other.value) { born(); }
    Counted(Counted&& other) noexcept : value(other.value) { born(); }
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) = default;
    ~Counted() { g_alive.fetch_sub(1, std::memory_order_relaxed); }  // relaxed: a tally

    static void born() noexcept {
        // relaxed: a tally; the test reads it after the run, with every thread quiet.
        const std::int64_t now = g_alive.fetch_add(1, std::memory_order_relaxed) + 1;
        std::int64_t most = g_most_alive.load(std::memory_order_relaxed);
        while (now > most &&
               !g_most_alive.compare_exchange_weak(most, now, std::memory_order_relaxed)) {
        }
    }
    static void reset() noexcept {
        g_alive.store(0);
        g_most_alive.store(0);
    }
};

constexpr std::uint64_t kExpansion = 1'000'000;
constexpr std::size_t kCapacity = 16;
constexpr std::size_t kBatch = 64;
/// What a flow of this shape may hold at once: a ring and an overflow batch per edge, a chained
/// buffer and the batch a stage has in hand, with room to spare; far below kExpansion.
constexpr std::int64_t kBound = 8 * static_cast<std::int64_t>(kCapacity + kBatch);

/// A polling source that emits `n` items in one poll, whatever `max` says.
struct Burst {
    using value_type = Counted;
    std::uint64_t n = 0;
    bool done = false;
    rill::SourceStatus poll(rill::Emitter<Counted>& out, std::size_t) {
        for (std::uint64_t i = 0; i < n; ++i)
            out.emit(Counted(i));
        return rill::SourceStatus::done;
    }
};

struct Result {
    rill::RunStatus status;
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    rill::FlowMetrics metrics;
};

}  // namespace

TEST_CASE("expansion: one input expanding to a million outputs holds a batch, not a million",
          "[flow][expansion]") {
    const std::string shape = GENERATE("flat_map", "batch", "source past its max");
    const std::string placement = GENERATE("two workers", "one worker, rings between stages");
    CAPTURE(shape, placement);
    // After a configuration has stalled, the rest would only stall again.
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);
    const bool one_worker = placement != "two workers";
    rill::Runtime runtime({.workers = one_worker ? 1u : 2u, .allow_oversubscription = true});
    rill::Flow flow({.capacity = kCapacity, .batch = kBatch, .chain = !one_worker});
    Counted::reset();
    auto count = std::make_shared<std::uint64_t>(0);
    auto sum = std::make_shared<std::uint64_t>(0);
    const auto sink = [count, sum](Counted c) {
        ++*count;
        *sum += c.value;
    };
    const rill::StageOptions on_w1 =
        one_worker ? rill::StageOptions{} : rill::StageOptions{.worker = 1};
    if (shape == "flat_map") {
        flow.source("seed", rill::iota<std::uint64_t>(0, 2), {.worker = 0})
            .flat_map("expand",
                      [](std::uint64_t, rill::Emitter<Counted>& out) {
                          for (std::uint64_t i = 0; i < kExpansion; ++i)
                              out.emit(Counted(i));
                      },
                      {.worker = 0})
            .sink("sink", sink, on_w1);
    } else if (shape == "batch") {
        flow.source("seed", rill::iota<std::uint64_t>(0, 2), {.worker = 0})
            .per_batch("expand",
                       [](std::span<std::uint64_t> seeds, rill::Emitter<Counted>& out) {
                           for (std::size_t s = 0; s < seeds.size(); ++s) {
                               for (std::uint64_t i = 0; i < kExpansion; ++i)
                                   out.emit(Counted(i));
                           }
                       },
                       {.worker = 0})
            .sink("sink", sink, on_w1);
    } else {
        flow.source("expand", Burst{.n = 2 * kExpansion}, {.worker = 0}).sink("sink", sink, on_w1);
    }
    rill::Run run = runtime.start(flow);
    const auto status = rill::test::wait_watched(run, "expansion");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status.has_value());
    CHECK(*status == rill::RunStatus::completed);
    CHECK(*count == 2 * kExpansion);
    const std::uint64_t n = 2 * kExpansion;
    CHECK(*sum == (shape == "source past its max" ? n * (n - 1) / 2
                                                  : 2 * (kExpansion * (kExpansion - 1) / 2)));
    CHECK(m.balanced());
    CHECK(m.at("sink").in == 2 * kExpansion);
    const std::int64_t most = g_most_alive.load();
    INFO("items alive at once, at most: " << most << " (bound " << kBound << ")");
    CHECK(most <= kBound);
    CHECK(g_alive.load() == 0);
}

TEST_CASE("expansion: two flows that expand across two workers in opposite directions both finish",
          "[flow][expansion]") {
    // Each worker runs an expanding stage that waits for the other worker's sink, and that
    // other worker also runs an expanding stage: each must keep running its other tasks while
    // its expanding stage waits.
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    constexpr std::uint64_t kEach = 200'000;
    auto counts = std::make_shared<std::array<std::atomic<std::uint64_t>, 2>>();
    std::vector<rill::Run> runs;
    std::vector<std::unique_ptr<rill::Flow>> flows;
    for (unsigned w = 0; w < 2; ++w) {
        auto flow = std::make_unique<rill::Flow>(rill::FlowOptions{.capacity = 16, .batch = 32});
        flow->source("seed", rill::iota<std::uint64_t>(0, 4), {.worker = w})
            .flat_map("expand",
                      [](std::uint64_t, rill::Emitter<std::uint64_t>& out) {
                          for (std::uint64_t i = 0; i < kEach; ++i)
                              out.emit(i);
                      },
                      {.worker = w})
            .sink("sink", [counts, w](std::uint64_t) { (*counts)[w].fetch_add(1); },
                  {.worker = 1 - w});
        runs.push_back(runtime.start(*flow));
        flows.push_back(std::move(flow));
    }
    for (unsigned w = 0; w < 2; ++w) {
        const auto status = rill::test::wait_watched(runs[w], "opposite expansions");
        INFO(runs[w].metrics());
        REQUIRE(status.has_value());
        CHECK(*status == rill::RunStatus::completed);
        CHECK((*counts)[w].load() == 4 * kEach);
        CHECK(runs[w].metrics().balanced());
    }
}

TEST_CASE("expansion: cancel() ends a run whose stage waits for room mid-expansion",
          "[flow][expansion]") {
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow({.capacity = 16, .batch = 32});
    std::atomic<std::uint64_t> got{0};
    flow.source("seed", rill::iota<std::uint64_t>(0, 1000), {.worker = 0})
        .flat_map("expand",
                  [](std::uint64_t, rill::Emitter<std::uint64_t>& out) {
                      for (std::uint64_t i = 0; i < 100'000; ++i)
                          out.emit(i);
                  },
                  {.worker = 0})
        .sink("slow",
              [&got](std::uint64_t) {
                  got.fetch_add(1);
                  std::this_thread::sleep_for(10us);
              },
              {.worker = 1});
    rill::Run run = runtime.start(flow);
    while (got.load() < 1000)
        std::this_thread::sleep_for(1ms);
    run.cancel();
    const auto status = run.wait_for(300s);
    REQUIRE(status.has_value());
    CHECK(*status == rill::RunStatus::cancelled);
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    CHECK(m.balanced());
    // Everything the expanding stage emitted reached the sink or was dropped there, counted.
    CHECK(m.at("expand").emitted == m.at("slow").in);
}
