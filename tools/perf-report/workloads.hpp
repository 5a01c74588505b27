#pragma once
// The built-in workloads of rill-perf-report. Each one is a flow built for a point of the grid
// (a rill::perf::Factory) with a checksum every run must match, a default grid sized so that the
// whole report fits its time budget on a 2-core machine, and the same work run by the peers
// (oneTBB parallel_pipeline and a mutex + condition-variable channel chain) for --peers.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rill/perf/sweep.hpp"

namespace rill::perf_report {

/// What every run of a workload is built with, besides its Config.
struct Params {
    std::uint64_t rate = 0;  ///< latency: items per second the source sends
};

/// A peer design on the same work: one run of it on n items, measured like a rill run.
struct Peer {
    std::string name;          ///< "tbb parallel_pipeline tokens=16"
    std::size_t capacity = 0;  ///< tokens in flight (TBB) or channel capacity
    std::function<perf::Sample(std::uint64_t items)> run;
};

struct Workload {
    std::string name;
    std::string summary;  ///< one line for --help
    perf::Grid grid;      ///< the default grid
    perf::Grid quick_grid;
    std::uint64_t items = 0;        ///< per run (Grid::items), by default
    std::uint64_t quick_items = 0;  ///< per run, with --quick
    /// Grid::min_run_seconds (0: runs are not scaled), by default and with --quick; --items
    /// turns scaling off.
    double min_run_seconds = 0;
    double quick_min_run_seconds = 0;
    perf::Goal goal = perf::Goal::throughput;
    /// What the figures do and do not show, said under the workload's table.
    std::function<std::string(const Params&)> note;
    /// The factory for runs with these parameters (computes the expected checksum once).
    std::function<perf::Factory(const Params&)> factory;
    /// The peers on the same work at each of `capacities`; empty where there are none.
    std::function<std::vector<Peer>(const Params&, const std::vector<std::size_t>& capacities)>
        peers;
};

/// Items per second of the latency workload's source unless --rate says otherwise.
inline constexpr std::uint64_t kDefaultRate = 100'000;

/// chain, cpu, pooled, latency: in that order.
[[nodiscard]] const std::vector<Workload>& workloads();
/// nullptr when there is no workload of that name.
[[nodiscard]] const Workload* find_workload(const std::string& name);

// One per file.
[[nodiscard]] Workload chain_workload();
[[nodiscard]] Workload cpu_workload();
[[nodiscard]] Workload pooled_workload();
[[nodiscard]] Workload latency_workload();

/// Measures `body` (which returns whether its checksum matched) as one run of `items` items.
[[nodiscard]] perf::Sample time_run(std::uint64_t items, const std::function<bool()>& body);

}  // namespace rill::perf_report
