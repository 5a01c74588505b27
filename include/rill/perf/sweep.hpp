#pragma once
// rill::perf: sweep a flow over capacity x batch x wait policy x chaining x workers, measuring
// each point several times, so that an application finds the settings that suit its machine.
// rill-perf-report is built on this; an application sweeps its own flow the same way:
//
//   #include <rill/perf/sweep.hpp>
//
//   rill::perf::Grid grid;                        // 4 capacities x 4 batches x 4 policies x ...
//   grid.capacities = {64, 1024};
//   grid.min_run_seconds = 0.02;                  // scale items so that a run lasts >= 20 ms
//   auto points = rill::perf::sweep(grid, [](const rill::perf::Config& c) {
//       auto sum = std::make_shared<std::uint64_t>(0);  // outlives the run's copy of the sink
//       rill::perf::Trial t;
//       t.flow = rill::Flow(c.flow_options());    // the point's capacity, batch and chaining
//       t.items = c.items;
//       t.flow.source("gen", rill::iota<std::uint64_t>(1, c.items + 1))
//           .map("work", [](std::uint64_t x) { return x * 3; })
//           .sink("sum", [sum](std::uint64_t x) { *sum += x; });
//       t.check = [sum, n = c.items] { return *sum == 3 * (n * (n + 1) / 2); };
//       return t;
//   });
//   rill::perf::Summary s = rill::perf::summarize(points);  // the best point and the knee
//   std::cout << rill::perf::to_string(points[s.best].config);
//
// The factory is called once per run (a fresh flow and fresh state each time). sweep() starts a
// Runtime of `Config::workers` pinned workers for every run, with the point's wait policy as the
// runtime's, so a factory needs to set only capacity, batch and chaining (Config::flow_options())
// and carry Config::items items; a stage's own StageOptions::wait would override the point's
// policy on its worker. For latency, record each item's latency in a LatencyHistogram
// (latency_histogram.hpp), return its percentiles() from Trial::latency and summarize with
// Goal::latency_p99.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rill/flow/flow.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/wait/wait_policy.hpp"

namespace rill::perf {

/// One point of the grid: the settings a flow is built and run with.
struct Config {
    std::size_t capacity = 1024;
    std::size_t batch = 64;
    WaitPolicy wait = WaitPolicy::spin_park();
    bool chained = true;
    unsigned workers = 2;
    /// Items the factory's flow should carry in one run: Grid::items, scaled up by sweep() when
    /// a run of that many is shorter than Grid::min_run_seconds.
    std::uint64_t items = 1'000'000;

    /// The flow defaults this point asks for: capacity, batch and chaining.
    [[nodiscard]] FlowOptions flow_options() const noexcept {
        return FlowOptions{.capacity = capacity, .batch = batch, .chain = chained};
    }
};

/// "workers=2 chained wait=spin-park:4096:8 capacity=1024 batch=64" (the settings, not items)
[[nodiscard]] std::string to_string(const Config& config);

/// End-to-end latency percentiles of one run, in nanoseconds (latency workloads only).
struct Latency {
    double p50_ns = 0;
    double p99_ns = 0;
    double p999_ns = 0;
};

/// One measured run of a point.
struct Sample {
    double seconds = 0;       ///< wall time from Runtime::start to the end of Run::wait
    std::uint64_t items = 0;  ///< items the run carried (Trial::items)
    double cpu_seconds = 0;   ///< CPU time of the process during the run (all threads)
    std::uint64_t parks = 0;  ///< times a worker parked during the run
    std::optional<Latency> latency;
    bool checksum_ok = false;  ///< the run completed and Trial::check passed

    [[nodiscard]] double items_per_second() const noexcept {
        return seconds > 0 ? static_cast<double>(items) / seconds : 0;
    }
};

/// A point with its repetitions, and their summary (medians over the repetitions).
struct Point {
    Config config;
    std::vector<Sample> samples;
    double median_items_per_second = 0;
    double min_items_per_second = 0;
    double max_items_per_second = 0;
    bool noisy = false;  ///< (max - min) / median above Grid::noisy_spread
    double median_cpu_seconds = 0;
    double median_parks = 0;
    /// Latency workloads: each percentile's median over the repetitions.
    std::optional<Latency> latency;

    [[nodiscard]] double ns_per_item() const noexcept {
        return median_items_per_second > 0 ? 1e9 / median_items_per_second : 0;
    }
    /// (max - min) / median of the throughput.
    [[nodiscard]] double spread() const noexcept {
        return median_items_per_second > 0
                   ? (max_items_per_second - min_items_per_second) / median_items_per_second
                   : 0;
    }
    [[nodiscard]] bool checksums_ok() const noexcept {
        for (const Sample& s : samples) {
            if (!s.checksum_ok) return false;
        }
        return !samples.empty();
    }
};

struct Grid {
    std::vector<std::size_t> capacities{64, 256, 1024, 4096};
    std::vector<std::size_t> batches{1, 16, 64, 256};
    std::vector<WaitPolicy> waits{WaitPolicy::busy_spin(), WaitPolicy::spin_yield(),
                                  WaitPolicy::spin_park(256), WaitPolicy::spin_park(4096)};
    std::vector<bool> chained{true, false};
    std::vector<unsigned> workers{1, 2};
    unsigned repeat = 5;
    double noisy_spread = 0.10;
    /// Items per run (Config::items), before scaling.
    std::uint64_t items = 1'000'000;
    /// When above zero, each point's first (unmeasured) run also sizes its runs: if it took less
    /// than this, the point's items are scaled up so that a run lasts about this long, up to
    /// max_items. Short runs measure start-up and wake-up more than the flow.
    double min_run_seconds = 0;
    std::uint64_t max_items = std::uint64_t{1} << 32;

    /// Throws std::invalid_argument naming the field and the value: an empty list, a capacity
    /// that is not a power of two from 2 to kMaxStageCapacity, a batch out of 1..kMaxStageBatch,
    /// an invalid wait policy, zero workers, zero repeat or items, max_items below items, a
    /// negative noisy_spread or min_run_seconds.
    void validate() const;
    /// The points, in the order sweep() returns them: workers, then chaining, wait policy,
    /// capacity and batch, the last varying fastest.
    [[nodiscard]] std::vector<Config> configs() const;
    [[nodiscard]] std::size_t points() const noexcept {
        return capacities.size() * batches.size() * waits.size() * chained.size() * workers.size();
    }
};

/// What a factory builds for one run of one point: the flow, and how to check it afterwards.
struct Trial {
    Flow flow;
    /// Called after the run: true when every item arrived and the result is right. State the
    /// flow's stages write must outlive the run's copies of them (hold it by shared_ptr).
    std::function<bool()> check;
    /// Items the run carries (for items/s): normally Config::items.
    std::uint64_t items = 0;
    /// Latency workloads: what the flow's sink recorded during the run (see LatencyHistogram).
    std::function<std::optional<Latency>()> latency;
};

/// Builds a fresh Trial for one run of a point; called once per run, sizing runs included.
using Factory = std::function<Trial(const Config&)>;
/// Progress after each run: runs done so far and the total (points x (repeat + 1)).
using Progress = std::function<void(std::size_t done, std::size_t total)>;

/// Runs every point of the grid once unmeasured (a warm-up that also sizes the point's runs, see
/// Grid::min_run_seconds), then `grid.repeat` measured times. Repetitions are interleaved (every
/// point once, then every point again) so that a slow spell of the machine does not land on one
/// point. Each run gets a fresh Runtime (`workers` pinned workers waiting by the point's policy)
/// and a fresh Trial from the factory; only Runtime::start to the end of Run::wait is timed.
/// Throws std::invalid_argument for an invalid grid, and std::runtime_error naming the point when
/// a run fails (a StageError, for example).
[[nodiscard]] std::vector<Point> sweep(const Grid& grid, const Factory& factory,
                                       const Progress& progress = {});

/// Measures one run of one point, as sweep() does.
[[nodiscard]] Sample measure(const Config& config, const Factory& factory);

/// Fills a point's medians, min-max, noisy flag and latency from its samples (sweep() does this;
/// for runs measured some other way, such as a peer's).
void summarize_samples(Point& point, double noisy_spread);

/// What summarize() optimizes.
enum class Goal : std::uint8_t {
    throughput,   ///< highest median items/s
    latency_p99,  ///< lowest median p99 latency (points without latency are never best)
};

struct Summary {
    std::size_t best = 0;  ///< index of the best point for the goal
    /// Index of the smallest capacity, then batch, within `knee_within` of the best, among the
    /// points with the best's wait policy, chaining and workers: how far the best configuration
    /// can shrink its rings and batches at little cost.
    std::size_t knee = 0;
    Goal goal = Goal::throughput;
};
/// Throws std::invalid_argument when `points` is empty, or has no latency for Goal::latency_p99.
[[nodiscard]] Summary summarize(const std::vector<Point>& points, double knee_within = 0.05,
                                Goal goal = Goal::throughput);

}  // namespace rill::perf
