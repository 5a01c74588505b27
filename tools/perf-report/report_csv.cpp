// report.csv: one row per point and per peer, every workload in one file.

#include <ostream>

#include "report.hpp"

namespace rill::perf_report {
namespace {

/// RFC 4180: quote a field holding a comma, a quote or a line break; double inner quotes.
std::string field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (const char c : s) {
        q += c;
        if (c == '"') q += '"';
    }
    return q + "\"";
}

std::string number(double v) {
    return fixed(v, v == static_cast<double>(static_cast<long long>(v)) ? 0 : 3);
}

void row(std::ostream& out, const WorkloadReport& w, const std::string& kind,
         const std::string& name, const perf::Point& p, bool best, bool knee) {
    const perf::Config& c = p.config;
    const bool peer = kind == "peer";
    out << field(w.name) << ',' << kind << ',' << field(name) << ',';
    if (peer) {
        out << ",,," << c.capacity << ",,";
    } else {
        out << c.workers << ',' << (c.chained ? "on" : "off") << ',' << to_string(c.wait) << ','
            << c.capacity << ',' << c.batch << ',';
    }
    out << p.config.items << ',' << p.samples.size() << ',' << number(p.median_items_per_second)
        << ',' << number(p.min_items_per_second) << ',' << number(p.max_items_per_second) << ','
        << fixed(p.ns_per_item(), 4) << ',' << (p.noisy ? 1 : 0) << ','
        << fixed(p.median_cpu_seconds, 6) << ',' << fixed(cores(p), 3) << ','
        << number(p.median_parks) << ',';
    if (p.latency) {
        out << number(p.latency->p50_ns) << ',' << number(p.latency->p99_ns) << ','
            << number(p.latency->p999_ns);
    } else {
        out << ",,";
    }
    out << ',' << (p.checksums_ok() ? 1 : 0) << ',' << (best ? 1 : 0) << ',' << (knee ? 1 : 0)
        << '\n';
}

}  // namespace

void write_csv(std::ostream& out, const Report& r) {
    out << "workload,kind,name,workers,chain,wait,capacity,batch,items,runs,"
           "items_per_s_median,items_per_s_min,items_per_s_max,ns_per_item,noisy,cpu_s_median,"
           "cores,parks_median,p50_ns,p99_ns,p999_ns,checksums_ok,best,knee\n";
    for (const WorkloadReport& w : r.workloads) {
        for (std::size_t i = 0; i < w.points.size(); ++i) {
            row(out, w, "rill", perf::to_string(w.points[i].config), w.points[i],
                i == w.summary_of_points.best, i == w.summary_of_points.knee);
        }
        for (const PeerResult& peer : w.peers)
            row(out, w, "peer", peer.name, peer.point, false, false);
    }
}

}  // namespace rill::perf_report
