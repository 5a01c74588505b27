// report.json: everything the run measured, every sample of every point included.

#include <charconv>
#include <cmath>
#include <ostream>

#include "report.hpp"

namespace rill::perf_report {
namespace {

std::string str(const std::string& s) {
    std::string q = "\"";
    for (const char c : s) {
        switch (c) {
            case '"':
                q += "\\\"";
                break;
            case '\\':
                q += "\\\\";
                break;
            case '\n':
                q += "\\n";
                break;
            case '\t':
                q += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    q += buf;
                } else {
                    q += c;
                }
        }
    }
    return q + "\"";
}

/// The shortest text that reads back as the same double; null where JSON has no number.
std::string num(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : "null";
}

std::string latency(const std::optional<perf::Latency>& l) {
    if (!l) return "null";
    return "{\"p50_ns\": " + num(l->p50_ns) + ", \"p99_ns\": " + num(l->p99_ns) +
           ", \"p999_ns\": " + num(l->p999_ns) + "}";
}

void point(std::ostream& out, const perf::Point& p, const std::string& indent) {
    out << "\"median_items_per_second\": " << num(p.median_items_per_second)
        << ", \"min_items_per_second\": " << num(p.min_items_per_second)
        << ", \"max_items_per_second\": " << num(p.max_items_per_second)
        << ", \"ns_per_item\": " << num(p.ns_per_item())
        << ", \"noisy\": " << (p.noisy ? "true" : "false")
        << ", \"median_cpu_seconds\": " << num(p.median_cpu_seconds)
        << ", \"cores\": " << num(cores(p)) << ", \"median_parks\": " << num(p.median_parks)
        << ", \"latency\": " << latency(p.latency)
        << ", \"checksums_ok\": " << (p.checksums_ok() ? "true" : "false") << ",\n"
        << indent << "\"samples\": [";
    for (std::size_t i = 0; i < p.samples.size(); ++i) {
        const perf::Sample& s = p.samples[i];
        out << (i ? ", " : "") << "{\"seconds\": " << num(s.seconds) << ", \"items\": " << s.items
            << ", \"cpu_seconds\": " << num(s.cpu_seconds) << ", \"parks\": " << s.parks
            << ", \"latency\": " << latency(s.latency)
            << ", \"checksum_ok\": " << (s.checksum_ok ? "true" : "false") << "}";
    }
    out << "]";
}

template <class T, class F>
std::string list(const std::vector<T>& v, F f) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + f(v[i]);
    return s + "]";
}

}  // namespace

void write_json(std::ostream& out, const Report& r) {
    out << "{\n  \"tool\": \"rill-perf-report\",\n  \"command\": " << str(r.command)
        << ",\n  \"machine\": " << str(r.machine) << ",\n  \"date\": " << str(r.date)
        << ",\n  \"quick\": " << (r.quick ? "true" : "false")
        << ",\n  \"seconds\": " << num(r.seconds)
        << ",\n  \"checksums_ok\": " << (r.checksums_ok() ? "true" : "false")
        << ",\n  \"workloads\": [";
    for (std::size_t wi = 0; wi < r.workloads.size(); ++wi) {
        const WorkloadReport& w = r.workloads[wi];
        const perf::Grid& g = w.grid;
        out << (wi ? "," : "") << "\n    {\n      \"name\": " << str(w.name)
            << ",\n      \"summary\": " << str(w.summary) << ",\n      \"note\": " << str(w.note)
            << ",\n      \"rate\": "
            << (w.goal == perf::Goal::latency_p99 ? std::to_string(w.params.rate) : "null")
            << ",\n      \"goal\": " << str(goal_name(w.goal))
            << ",\n      \"seconds\": " << num(w.seconds) << ",\n      \"grid\": {\"capacities\": "
            << list(g.capacities, [](std::size_t x) { return std::to_string(x); })
            << ", \"batches\": " << list(g.batches, [](std::size_t x) { return std::to_string(x); })
            << ", \"waits\": "
            << list(g.waits, [](const WaitPolicy& x) { return str(to_string(x)); })
            << ", \"chained\": "
            << list(g.chained, [](bool x) { return std::string(x ? "true" : "false"); })
            << ", \"workers\": " << list(g.workers, [](unsigned x) { return std::to_string(x); })
            << ", \"repeat\": " << g.repeat << ", \"noisy_spread\": " << num(g.noisy_spread)
            << ", \"items\": " << g.items << ", \"min_run_seconds\": " << num(g.min_run_seconds)
            << "},\n      \"best\": " << w.summary_of_points.best
            << ",\n      \"knee\": " << w.summary_of_points.knee
            << ",\n      \"svg\": " << str(w.svg_file) << ",\n      \"points\": [";
        for (std::size_t i = 0; i < w.points.size(); ++i) {
            const perf::Config& c = w.points[i].config;
            out << (i ? "," : "") << "\n        {\"workers\": " << c.workers
                << ", \"chained\": " << (c.chained ? "true" : "false")
                << ", \"wait\": " << str(to_string(c.wait)) << ", \"capacity\": " << c.capacity
                << ", \"batch\": " << c.batch << ", \"items\": " << c.items << ", ";
            point(out, w.points[i], "         ");
            out << "}";
        }
        out << "\n      ],\n      \"peers\": [";
        for (std::size_t i = 0; i < w.peers.size(); ++i) {
            out << (i ? "," : "") << "\n        {\"name\": " << str(w.peers[i].name)
                << ", \"capacity\": " << w.peers[i].point.config.capacity
                << ", \"items\": " << w.peers[i].point.config.items << ", ";
            point(out, w.peers[i].point, "         ");
            out << "}";
        }
        out << (w.peers.empty() ? "]" : "\n      ]") << "\n    }";
    }
    out << "\n  ]\n}\n";
}

}  // namespace rill::perf_report
