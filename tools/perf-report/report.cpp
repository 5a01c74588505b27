// What the report writers share.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "report.hpp"

namespace rill::perf_report {

std::string goal_name(perf::Goal goal) {
    return goal == perf::Goal::throughput ? "throughput" : "p99 latency";
}

std::string fixed(double value, int decimals) {
    if (!std::isfinite(value)) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

double cores(const perf::Point& p) {
    std::vector<double> v;
    for (const perf::Sample& s : p.samples) {
        if (s.seconds > 0) v.push_back(s.cpu_seconds / s.seconds);
    }
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool WorkloadReport::checksums_ok() const noexcept {
    for (const perf::Point& p : points) {
        if (!p.checksums_ok()) return false;
    }
    for (const PeerResult& peer : peers) {
        if (!peer.point.checksums_ok()) return false;
    }
    return true;
}

bool Report::checksums_ok() const noexcept {
    return std::all_of(workloads.begin(), workloads.end(),
                       [](const WorkloadReport& w) { return w.checksums_ok(); });
}

}  // namespace rill::perf_report
