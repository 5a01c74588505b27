#include "args.hpp"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "rill/flow/stage_options.hpp"
#include "rill_cli/whole_number.hpp"
#include "text.hpp"
#include "workloads.hpp"

namespace rill::perf_report {
namespace {

[[noreturn]] void fail(std::string_view flag, std::string_view value, const std::string& why) {
    throw UsageError(cat(flag, " '", value, "': ", why));
}

std::vector<std::string_view> split_list(std::string_view flag, std::string_view value) {
    if (value.empty()) fail(flag, value, "empty list; give one or more values separated by commas");
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const std::size_t comma = value.find(',', start);
        const std::string_view part = value.substr(start, comma - start);
        if (part.empty()) fail(flag, value, "empty element in the list");
        parts.push_back(part);
        if (comma == std::string_view::npos) return parts;
        start = comma + 1;
    }
}

std::uint64_t parse_number(std::string_view flag, std::string_view whole, std::string_view text,
                           std::uint64_t lo, std::uint64_t hi) {
    const std::optional<std::uint64_t> v = cli::whole_number(text, lo, hi);
    if (!v) {
        const std::string range = cli::expected_whole_number(lo, hi);
        fail(flag, whole, text == whole ? range : cat("'", text, "': ", range));
    }
    return *v;
}

template <class T>
std::vector<T> parse_numbers(std::string_view flag, std::string_view value, std::uint64_t lo,
                             std::uint64_t hi) {
    std::vector<T> out;
    for (const std::string_view part : split_list(flag, value))
        out.push_back(static_cast<T>(parse_number(flag, value, part, lo, hi)));
    return out;
}

std::vector<std::size_t> parse_capacities(std::string_view flag, std::string_view value) {
    std::vector<std::size_t> out;
    for (const std::string_view part : split_list(flag, value)) {
        const std::optional<std::uint64_t> v = cli::whole_number(part, 2, kMaxCapacity);
        if (!v || (*v & (*v - 1)) != 0) {
            fail(flag, value,
                 cat(part == value ? std::string() : cat("'", part, "': "),
                     "not a power of two from 2 to ", std::to_string(kMaxCapacity)));
        }
        out.push_back(static_cast<std::size_t>(*v));
    }
    return out;
}

std::vector<WaitPolicy> parse_waits(std::string_view flag, std::string_view value) {
    std::vector<WaitPolicy> out;
    for (const std::string_view part : split_list(flag, value)) {
        try {
            out.push_back(WaitPolicy::parse(part));
        } catch (const std::invalid_argument& e) {
            fail(flag, value, e.what());
        }
    }
    return out;
}

std::vector<bool> parse_chain(std::string_view flag, std::string_view value) {
    std::vector<bool> out;
    for (const std::string_view part : split_list(flag, value)) {
        if (part == "on") {
            out.push_back(true);
        } else if (part == "off") {
            out.push_back(false);
        } else {
            fail(flag, value, cat("'", part, "': expected on or off"));
        }
    }
    return out;
}

std::vector<std::string> parse_workloads(std::string_view flag, std::string_view value) {
    std::vector<std::string> out;
    for (const std::string_view part : split_list(flag, value)) {
        if (part == "all") {
            for (const Workload& w : workloads())
                out.push_back(w.name);
        } else if (find_workload(std::string(part)) != nullptr) {
            out.emplace_back(part);
        } else {
            std::string known;
            for (const Workload& w : workloads())
                known += cat(w.name, ", ");
            fail(flag, value, cat("unknown workload '", part, "'; expected ", known, "or all"));
        }
    }
    return out;
}

std::string join_sizes(const std::vector<std::size_t>& v) {
    std::string s;
    for (const std::size_t x : v)
        s += cat(s.empty() ? "" : ",", std::to_string(x));
    return s;
}

std::string describe_grid(const perf::Grid& g, std::uint64_t items) {
    std::string waits, chained, workers;
    for (const WaitPolicy& w : g.waits)
        waits += cat(waits.empty() ? "" : ",", to_string(w));
    for (const bool c : g.chained)
        chained += cat(chained.empty() ? "" : ",", c ? "on" : "off");
    for (const unsigned w : g.workers)
        workers += cat(workers.empty() ? "" : ",", std::to_string(w));
    return cat("--capacity ", join_sizes(g.capacities), " --batch ", join_sizes(g.batches),
               " --wait ", waits, " --chain ", chained, " --workers ", workers, " --items ",
               std::to_string(items), " --repeat ", std::to_string(g.repeat), "  (",
               std::to_string(g.points()), " points)");
}

}  // namespace

Options parse_args(const std::vector<std::string>& args, unsigned cpus) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        std::string flag = arg;
        std::optional<std::string> inline_value;
        if (const std::size_t eq = arg.find('=');
            arg.starts_with("--") && eq != std::string::npos) {
            flag = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
        }
        const auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) throw UsageError(cat(flag, ": missing value; see --help"));
            return args[++i];
        };
        const auto no_value = [&] {
            if (inline_value) throw UsageError(cat(arg, ": ", flag, " takes no value"));
        };
        if (flag == "--help" || flag == "-h") {
            no_value();
            o.help = true;
        } else if (flag == "--json") {
            no_value();
            o.json = true;
        } else if (flag == "--peers") {
            no_value();
            o.peers = true;
        } else if (flag == "--quick") {
            no_value();
            o.quick = true;
        } else if (flag == "--workload") {
            o.workloads = parse_workloads(flag, value());
        } else if (flag == "--capacity") {
            o.capacities = parse_capacities(flag, value());
        } else if (flag == "--batch") {
            o.batches = parse_numbers<std::size_t>(flag, value(), 1, kMaxStageBatch);
        } else if (flag == "--wait") {
            o.waits = parse_waits(flag, value());
        } else if (flag == "--chain") {
            o.chained = parse_chain(flag, value());
        } else if (flag == "--workers") {
            const std::string v = value();
            o.workers = parse_numbers<unsigned>(flag, v, 1, 1u << 20);
            for (const unsigned w : *o.workers) {
                if (w > cpus) {
                    fail(flag, v,
                         cat(std::to_string(w), " workers: this process may use ",
                             std::to_string(cpus), " CPUs (rill pins one worker per CPU)"));
                }
            }
        } else if (flag == "--items") {
            const std::string v = value();
            o.items = parse_number(flag, v, v, 1, kMaxItems);
        } else if (flag == "--repeat") {
            const std::string v = value();
            o.repeat = static_cast<unsigned>(parse_number(flag, v, v, 1, kMaxRepeat));
        } else if (flag == "--rate") {
            const std::string v = value();
            o.rate = parse_number(flag, v, v, 1, kMaxRate);
        } else if (flag == "--out") {
            const std::string v = value();
            if (v.empty()) fail(flag, v, "empty directory name");
            o.out = v;
        } else {
            throw UsageError(cat("unknown argument '", arg, "'; see --help"));
        }
    }
    if (o.workloads.empty()) {
        for (const Workload& w : workloads())
            o.workloads.push_back(w.name);
    }
    return o;
}

void prepare_out_dir(const std::filesystem::path& out) {
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) {
        throw UsageError(
            cat("--out '", out.string(), "': cannot create the directory: ", ec.message()));
    }
    if (!std::filesystem::is_directory(out)) {
        throw UsageError(cat("--out '", out.string(), "': not a directory"));
    }
    // Permission bits do not tell the whole story (root, read-only mounts): try a file.
    const std::filesystem::path probe = out / ".rill-perf-report-probe";
    {
        std::ofstream f(probe);
        if (!f || !(f << "probe\n") || !f.flush()) {
            throw UsageError(cat("--out '", out.string(), "': cannot write files in it"));
        }
    }
    std::filesystem::remove(probe, ec);
}

std::string help_text() {
    std::ostringstream h;
    h << "rill-perf-report: sweeps rill flows over ring capacity x batch size x wait policy x\n"
         "chaining x workers on built-in workloads, runs each point several times (interleaved)\n"
         "and reports the median with min-max, the best configuration and the knee (the\n"
         "smallest capacity, then batch, within 5% of the best with its wait policy, chaining\n"
         "and workers).\n\n"
         "usage: rill-perf-report [options]\n\n"
         "  --workload LIST   chain, cpu, pooled, latency or all (default: all)\n"
         "  --capacity LIST   ring capacities, powers of two from 2 to "
      << kMaxCapacity
      << " (e.g. 64,1024)\n"
         "  --batch LIST      items per step and hand-off, 1 to "
      << kMaxStageBatch
      << "\n"
         "  --wait LIST       busy-spin, spin-yield[:SPIN], spin-park[:SPIN[:YIELD]], park\n"
         "  --chain LIST      on (neighbouring stages on one worker run as one task), off\n"
         "  --workers LIST    pinned worker threads, 1 to the CPUs this process may use\n"
         "  --items N         items per run\n"
         "  --repeat N        runs of every point (default 5, 3 with --quick)\n"
         "  --rate N          latency: items per second the source sends (default "
      << kDefaultRate
      << ")\n"
         "  --quick           smaller grids and runs: a look in seconds, not figures\n"
         "  --peers           also run oneTBB parallel_pipeline and a mutex + condition-variable\n"
         "                    channel chain (thread per stage) on the same work, at each\n"
         "                    capacity (TBB tokens in flight, channel capacity); not latency\n"
         "  --out DIR         where report.md, report.csv, report.json and one SVG chart per\n"
         "                    workload go (default ./perf-report; created if missing)\n"
         "  --json            print the JSON report on stdout instead of the Markdown one\n"
         "  --help            this text\n\n"
         "A list is comma-separated; LIST options replace the workload's default grid for that\n"
         "dimension. Bad arguments print one line naming the argument and exit with code 2; a\n"
         "checksum that does not match exits with code 1.\n\n"
         "Workloads and their default grids:\n";
    for (const Workload& w : workloads()) {
        h << "  " << w.name << ": " << w.summary << "\n"
          << "      default: " << describe_grid(w.grid, w.items) << "\n"
          << "      --quick: " << describe_grid(w.quick_grid, w.quick_items) << "\n";
    }
    h << "\nThe cpu workload runs its work stage as one replica per worker (1 on one worker, 2 on\n"
         "two): the workers dimension is also its replicas dimension.\n\n"
         "Columns: Mitems/s median and min-max of the runs, ns/item, CPU ns/item (all threads),\n"
         "cores (CPU time / wall time), parks per run, latency percentiles (latency workload),\n"
         "'noisy' when (max-min)/median > 10%.\n";
    return h.str();
}

}  // namespace rill::perf_report
