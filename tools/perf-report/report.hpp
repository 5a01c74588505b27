#pragma once
// What a rill-perf-report run found, and the writers that turn it into Markdown (stdout and
// report.md), CSV and JSON. The SVG charts come from render_svg (svg_chart.hpp).

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "rill/perf/sweep.hpp"
#include "workloads.hpp"

namespace rill::perf_report {

/// A peer's runs on a workload; its point's config holds only the capacity (tokens in flight
/// for TBB, channel capacity for the channel chain).
struct PeerResult {
    std::string name;
    perf::Point point;
};

struct WorkloadReport {
    std::string name;
    std::string summary;
    std::string note;
    Params params;
    perf::Grid grid;
    perf::Goal goal = perf::Goal::throughput;
    std::vector<perf::Point> points;
    perf::Summary summary_of_points;
    std::vector<PeerResult> peers;
    double seconds = 0;    ///< wall time of the workload's sweep and peers
    std::string svg_file;  ///< file name in the output directory

    [[nodiscard]] bool checksums_ok() const noexcept;
};

struct Report {
    std::string command;  ///< the command line, as run
    std::string machine;  ///< "AMD EPYC 7B13, 2 CPUs"
    std::string date;     ///< UTC, ISO 8601
    bool quick = false;
    std::vector<WorkloadReport> workloads;
    std::vector<std::string> files;  ///< paths written, for the report's last line
    double seconds = 0;

    [[nodiscard]] bool checksums_ok() const noexcept;
};

void write_markdown(std::ostream& out, const Report& report);
void write_csv(std::ostream& out, const Report& report);
void write_json(std::ostream& out, const Report& report);

// Shared by the writers.
[[nodiscard]] std::string goal_name(perf::Goal goal);
/// `value` with `decimals` digits after the point.
[[nodiscard]] std::string fixed(double value, int decimals);
/// Cores busy on average over a run: CPU time / wall time.
[[nodiscard]] double cores(const perf::Point& p);

}  // namespace rill::perf_report
