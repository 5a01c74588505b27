// rill-perf-report: sweeps the built-in workloads over capacity x batch x wait policy x chaining
// x workers and reports, per workload, every point (median and min-max of its runs), the best
// configuration and the knee, as Markdown on stdout and as CSV, JSON and SVG files in --out.

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "args.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "rill/perf/sweep.hpp"
#include "svg_chart.hpp"
#include "workloads.hpp"

namespace rp = rill::perf_report;
namespace perf = rill::perf;

namespace {

unsigned allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return static_cast<unsigned>(CPU_COUNT(&set));
}

std::string machine(unsigned cpus) {
    std::ifstream in("/proc/cpuinfo");
    std::string model = "unknown CPU";
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("model name")) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    }
    return model + ", " + std::to_string(cpus) + " CPUs";
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string command_line(const std::vector<std::string>& args) {
    std::string s = "rill-perf-report";
    for (const std::string& a : args)
        s += " " + (a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'");
    return s;
}

/// The workload's grid as the options change it.
perf::Grid grid_for(const rp::Workload& w, const rp::Options& o) {
    perf::Grid g = o.quick ? w.quick_grid : w.grid;
    if (o.capacities) g.capacities = *o.capacities;
    if (o.batches) g.batches = *o.batches;
    if (o.waits) g.waits = *o.waits;
    if (o.chained) g.chained = *o.chained;
    if (o.workers) g.workers = *o.workers;
    if (o.repeat) g.repeat = *o.repeat;
    g.items = o.items ? *o.items : (o.quick ? w.quick_items : w.items);
    // --items asks for that many items per run: no scaling.
    g.min_run_seconds = o.items ? 0 : (o.quick ? w.quick_min_run_seconds : w.min_run_seconds);
    return g;
}

/// Sized and run like the sweep's points: a first unmeasured run per peer (scaling its items to
/// the grid's min_run_seconds), then every peer once per repetition, interleaved.
std::vector<rp::PeerResult> run_peers(const std::vector<rp::Peer>& peers, const perf::Grid& grid,
                                      rp::ProgressLine& progress) {
    std::vector<rp::PeerResult> out;
    for (const rp::Peer& p : peers) {
        rp::PeerResult r{p.name, {}};
        r.point.config.capacity = p.capacity;
        r.point.config.items = grid.items;
        const perf::Sample first = p.run(grid.items);
        if (grid.min_run_seconds > 0 && first.seconds < grid.min_run_seconds) {
            const double scaled = static_cast<double>(grid.items) * grid.min_run_seconds /
                                  std::max(first.seconds, 1e-9);
            r.point.config.items =
                static_cast<std::uint64_t>(std::min(scaled, static_cast<double>(grid.max_items)));
        }
        progress.step();
        out.push_back(std::move(r));
    }
    for (unsigned rep = 0; rep < grid.repeat; ++rep) {
        for (std::size_t i = 0; i < peers.size(); ++i) {
            out[i].point.samples.push_back(peers[i].run(out[i].point.config.items));
            progress.step();
        }
    }
    for (rp::PeerResult& r : out)
        perf::summarize_samples(r.point, grid.noisy_spread);
    return out;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const unsigned cpus = allowed_cpus();
    rp::Options opts;
    try {
        opts = rp::parse_args(args, cpus);
        if (opts.help) {
            std::cout << rp::help_text();
            return 0;
        }
        rp::prepare_out_dir(opts.out);
    } catch (const rp::UsageError& e) {
        std::cerr << "rill-perf-report: " << e.what() << "\n";
        return 2;
    }

    try {
        struct Plan {
            const rp::Workload* workload;
            perf::Grid grid;
            rp::Params params;
            std::vector<rp::Peer> peers;
        };
        std::vector<Plan> plans;
        std::size_t total_runs = 0;
        for (const std::string& name : opts.workloads) {
            const rp::Workload& w = *rp::find_workload(name);
            Plan plan{
                &w, grid_for(w, opts), {.rate = opts.rate ? *opts.rate : rp::kDefaultRate}, {}};
            plan.grid.validate();
            if (opts.peers && w.peers) plan.peers = w.peers(plan.params, plan.grid.capacities);
            total_runs += (plan.grid.points() + plan.peers.size()) * (plan.grid.repeat + 1);
            plans.push_back(std::move(plan));
        }

        rp::Report report;
        report.command = command_line(args);
        report.machine = machine(cpus);
        report.date = utc_now();
        report.quick = opts.quick;
        const auto start = std::chrono::steady_clock::now();
        {
            rp::ProgressLine progress(total_runs);
            for (const Plan& plan : plans) {
                const rp::Workload& w = *plan.workload;
                const auto t0 = std::chrono::steady_clock::now();
                rp::WorkloadReport r;
                r.name = w.name;
                r.summary = w.summary;
                r.params = plan.params;
                r.grid = plan.grid;
                r.goal = w.goal;
                progress.stage(w.name);
                r.points = perf::sweep(plan.grid, w.factory(plan.params),
                                       [&progress](std::size_t, std::size_t) { progress.step(); });
                r.summary_of_points = perf::summarize(r.points, 0.05, w.goal);
                if (!plan.peers.empty()) {
                    progress.stage(w.name + " peers");
                    r.peers = run_peers(plan.peers, plan.grid, progress);
                }
                r.note = w.note ? w.note(plan.params) : "";
                r.seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                r.svg_file = w.name + ".svg";
                report.workloads.push_back(std::move(r));
            }
        }
        report.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        const std::filesystem::path& out = opts.out;
        for (const rp::WorkloadReport& w : report.workloads) {
            std::string title = "rill-perf-report: " + w.name + " (" + report.machine + ")";
            write_file(out / w.svg_file, perf::render_svg(w.points, w.summary_of_points, title));
            report.files.push_back((out / w.svg_file).string());
        }
        for (const char* name : {"report.csv", "report.json", "report.md"})
            report.files.push_back((out / name).string());
        std::ostringstream csv, json, md;
        rp::write_csv(csv, report);
        rp::write_json(json, report);
        rp::write_markdown(md, report);
        write_file(out / "report.csv", csv.str());
        write_file(out / "report.json", json.str());
        write_file(out / "report.md", md.str());

        std::cout << (opts.json ? json.str() : md.str()) << std::flush;
        std::cerr << "rill-perf-report: wrote";
        for (const std::string& f : report.files)
            std::cerr << " " << f;
        std::cerr << "\n";
        if (!report.checksums_ok()) {
            std::cerr << "rill-perf-report: a checksum did not match (see the report)\n";
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "rill-perf-report: " << e.what() << "\n";
        return 1;
    }
}
