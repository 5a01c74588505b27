// The Markdown report: one table per workload (every point, then the peers), the best
// configuration, the knee and what the workload does and does not show.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <vector>

#include "report.hpp"

namespace rill::perf_report {
namespace {

std::string mitems(double items_per_second) {
    const double m = items_per_second / 1e6;
    return fixed(m, m >= 100 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3);
}

std::string micros(double ns) {
    const double us = ns / 1e3;
    return fixed(us, us >= 100 ? 0 : us >= 10 ? 1 : 2);
}

std::string cpu_ns_per_item(const perf::Point& p) {
    if (p.samples.empty() || p.samples.front().items == 0) return "";
    const double ns = p.median_cpu_seconds * 1e9 / static_cast<double>(p.samples.front().items);
    return fixed(ns, ns >= 100 ? 0 : 1);
}

std::string describe(const perf::Point& p) {
    std::string s = perf::to_string(p.config) + ": " + mitems(p.median_items_per_second) +
                    " Mitems/s (" + fixed(p.ns_per_item(), 2) + " ns/item";
    if (p.latency) {
        s += "; p50 " + micros(p.latency->p50_ns) + " µs, p99 " + micros(p.latency->p99_ns) +
             " µs, p99.9 " + micros(p.latency->p999_ns) + " µs";
    }
    return s + ", " + fixed(cores(p), 2) + " cores busy)";
}

void write_workload(std::ostream& out, const WorkloadReport& w) {
    const bool latency = w.goal == perf::Goal::latency_p99;
    std::uint64_t lo = UINT64_MAX, hi = 0;
    for (const perf::Point& p : w.points) {
        lo = std::min(lo, p.config.items);
        hi = std::max(hi, p.config.items);
    }
    out << "## " << w.name << "\n\n" << w.summary << ". ";
    if (lo == hi) {
        out << lo << " items per run";
    } else {
        out << "Items per run scaled per point so that a run lasts at least "
            << fixed(w.grid.min_run_seconds * 1e3, 0) << " ms: " << lo << " to " << hi;
    }
    if (latency) out << ", sent at " << w.params.rate << " items/s";
    out << ", " << w.grid.repeat << " runs per point (interleaved), median with min–max; best by "
        << goal_name(w.goal) << ". Took " << fixed(w.seconds, 1) << " s.\n\n";

    out << "| workers | chain | wait | capacity | batch | Mitems/s | min–max | ns/item | CPU "
           "ns/item "
           "| cores | parks |";
    if (latency) out << " p50 µs | p99 µs | p99.9 µs |";
    out << " |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|";
    if (latency) out << "---:|---:|---:|";
    out << "---|\n";
    for (std::size_t i = 0; i < w.points.size(); ++i) {
        const perf::Point& p = w.points[i];
        const perf::Config& c = p.config;
        std::vector<std::string> flags;
        if (i == w.summary_of_points.best) flags.emplace_back("**best**");
        if (i == w.summary_of_points.knee) flags.emplace_back("**knee**");
        if (p.noisy) flags.emplace_back("noisy");
        if (!p.checksums_ok()) flags.emplace_back("CHECKSUM MISMATCH");
        std::string flag_text;
        for (const std::string& f : flags)
            flag_text += (flag_text.empty() ? "" : ", ") + f;
        out << "| " << c.workers << " | " << (c.chained ? "on" : "off") << " | "
            << to_string(c.wait) << " | " << c.capacity << " | " << c.batch << " | "
            << mitems(p.median_items_per_second) << " | " << mitems(p.min_items_per_second) << "–"
            << mitems(p.max_items_per_second) << " | " << fixed(p.ns_per_item(), 2) << " | "
            << cpu_ns_per_item(p) << " | " << fixed(cores(p), 2) << " | "
            << fixed(p.median_parks, 0) << " |";
        if (latency) {
            if (p.latency) {
                out << " " << micros(p.latency->p50_ns) << " | " << micros(p.latency->p99_ns)
                    << " | " << micros(p.latency->p999_ns) << " |";
            } else {
                out << " | | |";
            }
        }
        out << " " << flag_text << " |\n";
    }
    out << "\n";

    if (!w.peers.empty()) {
        out << "Peers on the same work (not pinned; threads float over the CPUs):\n\n"
            << "| peer | Mitems/s | min–max | ns/item | CPU ns/item | cores | |\n"
            << "|---|---:|---:|---:|---:|---:|---|\n";
        for (const PeerResult& peer : w.peers) {
            const perf::Point& p = peer.point;
            std::string flag_text = p.noisy ? "noisy" : "";
            if (!p.checksums_ok())
                flag_text += (flag_text.empty() ? "" : ", ") + std::string("CHECKSUM MISMATCH");
            out << "| " << peer.name << " | " << mitems(p.median_items_per_second) << " | "
                << mitems(p.min_items_per_second) << "–" << mitems(p.max_items_per_second) << " | "
                << fixed(p.ns_per_item(), 2) << " | " << cpu_ns_per_item(p) << " | "
                << fixed(cores(p), 2) << " | " << flag_text << " |\n";
        }
        out << "\n";
    }

    const perf::Point& best = w.points[w.summary_of_points.best];
    const perf::Point& knee = w.points[w.summary_of_points.knee];
    out << "- **Best:** " << describe(best) << ".\n";
    // The best with another number of workers: the choice when a flow must span more (or fewer).
    const auto better = [latency](const perf::Point& a, const perf::Point& b) {
        if (!latency) return a.median_items_per_second > b.median_items_per_second;
        return a.latency && (!b.latency || a.latency->p99_ns < b.latency->p99_ns);
    };
    std::vector<unsigned> counts;
    for (const perf::Point& p : w.points) {
        if (std::find(counts.begin(), counts.end(), p.config.workers) == counts.end())
            counts.push_back(p.config.workers);
    }
    for (const unsigned n : counts) {
        if (n == best.config.workers) continue;
        const perf::Point* top = nullptr;
        for (const perf::Point& p : w.points) {
            if (p.config.workers == n && (top == nullptr || better(p, *top))) top = &p;
        }
        out << "- **Best on " << n << (n == 1 ? " worker" : " workers") << ":** " << describe(*top)
            << ".\n";
    }
    out << "- **Knee** (smallest capacity, then batch, within 5% of the best with its wait "
           "policy, chaining and workers): capacity "
        << knee.config.capacity << ", batch " << knee.config.batch << ": ";
    if (latency && knee.latency && best.latency) {
        out << "p99 " << micros(knee.latency->p99_ns) << " µs";
    } else {
        out << mitems(knee.median_items_per_second) << " Mitems/s, "
            << fixed(100 * knee.median_items_per_second / best.median_items_per_second, 0)
            << "% of the best";
    }
    out << ".\n";
    if (!w.peers.empty()) {
        const auto top = std::max_element(
            w.peers.begin(), w.peers.end(), [](const PeerResult& a, const PeerResult& b) {
                return a.point.median_items_per_second < b.point.median_items_per_second;
            });
        out << "- **Best peer:** " << top->name << ": "
            << mitems(top->point.median_items_per_second) << " Mitems/s; rill's best is "
            << fixed(best.median_items_per_second / top->point.median_items_per_second, 1)
            << "× that.\n";
    }
    std::size_t noisy = 0;
    for (const perf::Point& p : w.points)
        noisy += p.noisy ? 1 : 0;
    out << "- Noisy points (spread of the runs over " << fixed(100 * w.grid.noisy_spread, 0)
        << "% of the median): " << noisy << " of " << w.points.size() << ".\n";
    out << "- "
        << (w.checksums_ok() ? "Every run's checksum matched." : "**A checksum did not match.**")
        << "\n";
    if (!w.note.empty()) out << "\n" << w.note << "\n";
    out << "\n";
}

}  // namespace

void write_markdown(std::ostream& out, const Report& r) {
    out << "# rill-perf-report\n\n"
        << "`" << r.command << "` on " << r.machine << ", " << r.date
        << (r.quick ? " (--quick: for a look, not for figures)" : "")
        << ". Workers are pinned, one per CPU; every run gets a fresh runtime whose workers "
           "wait by the point's policy. Throughput is items carried / wall time from start to "
           "the end of the run; CPU time counts every thread of the process; cores = CPU time / "
           "wall time; parks = times a worker went to sleep in the kernel during a run.\n\n";
    for (const WorkloadReport& w : r.workloads)
        write_workload(out, w);
    out << "Total " << fixed(r.seconds, 1) << " s.";
    if (!r.files.empty()) {
        out << " Files:";
        for (const std::string& f : r.files)
            out << " " << f;
    }
    out << "\n";
}

}  // namespace rill::perf_report
