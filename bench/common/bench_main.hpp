#pragma once
// What every rill benchmark binary shares: registration with repetitions and min/max statistics,
// a reporter that keeps each benchmark's items/s, the summary table, and main() with rill's own
// flags (--reps=N, --quick) next to Google Benchmark's.
//
// A benchmark that computed the wrong thing must not report a speed: a case that gets a wrong
// result (a checksum that does not match) calls mismatch(), which names the case on stderr
// ("<program>: mismatch in <case>: <what>") and ends the process with exit code 1 at once,
// whichever repetition it is. Not state.SkipWithError: Google Benchmark leaves a failed
// repetition out of the aggregates and, with only aggregates displayed, out of the output, and
// exits 0 (1.7.1 even crashes computing the aggregates when the first repetition failed). For a
// SkipWithError that still happens, the reporter here also shows every failed repetition and
// bench_main then exits 1 with a "mismatch" line per failure.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/affinity.hpp"
#include "rill_cli/whole_number.hpp"

namespace rill::bench {

struct Settings {
    int reps = 5;
    double min_time = 0.3;
};

/// The binary's name and the case running now, for mismatch().
struct RunContext {
    static inline std::string program = "benchmark";
    static inline std::string current_case;
};

/// Ends the process: the running case computed the wrong thing (`what`: expected and got).
[[noreturn]] inline void mismatch(const std::string& what) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: mismatch in %s: %s\n", RunContext::program.c_str(),
                 RunContext::current_case.c_str(), what.c_str());
    std::fflush(stderr);
    std::_Exit(1);  // now: the case's own threads may still be running
}

/// Registers a benchmark with the repetitions and statistics every rill benchmark uses.
template <class F>
void add(const std::string& name, const Settings& s, F&& f) {
    benchmark::RegisterBenchmark(name.c_str(),
                                 [name, f = std::forward<F>(f)](benchmark::State& state) mutable {
                                     RunContext::current_case = name;
                                     f(state);
                                 })
        ->UseRealTime()
        ->MinTime(s.min_time)
        ->Repetitions(s.reps)
        // Every repetition reaches SummaryReporter, which shows only the aggregates and the
        // failures; set here so that --benchmark_*aggregates_only flags cannot hide a failure.
        ->ReportAggregatesOnly(false)
        ->ComputeStatistics(
            "min",
            [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
        ->ComputeStatistics("max", [](const std::vector<double>& v) {
            return *std::max_element(v.begin(), v.end());
        });
}

struct Stat {
    double median = 0, min = 0, max = 0;
};

/// Shows the usual console table (the aggregates, or the single run without repetitions) and
/// every failed repetition; keeps each benchmark's items/s and every failure.
class SummaryReporter : public benchmark::ConsoleReporter {
  public:
    SummaryReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

    std::map<std::string, Stat> stats;
    /// "name, repetition k of n: message" for every run that reported an error.
    std::vector<std::string> failures;
    /// The benchmarks with at least one failed run: they get no figures.
    std::set<std::string> failed;

    void ReportRuns(const std::vector<Run>& runs) override {
        std::vector<Run> shown;
        for (const Run& r : runs) {
            if (r.error_occurred) {
                failures.push_back(r.benchmark_name() + ", repetition " +
                                   std::to_string(r.repetition_index + 1) + " of " +
                                   std::to_string(r.repetitions) + ": " + r.error_message);
                failed.insert(r.run_name.function_name);
                shown.push_back(r);
                continue;
            }
            if (r.run_type == Run::RT_Aggregate) {
                shown.push_back(r);
                const auto it = r.counters.find("items_per_second");
                if (it == r.counters.end()) continue;
                Stat& s = stats[r.run_name.function_name];
                if (r.aggregate_name == "median") s.median = it->second.value;
                if (r.aggregate_name == "min") s.min = it->second.value;
                if (r.aggregate_name == "max") s.max = it->second.value;
            } else if (r.repetitions <= 1) {
                shown.push_back(r);  // no aggregates come for a single run
            }
        }
        if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
    }
};

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);) {
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    }
    return "unknown CPU";
}

/// How a summary line reports a target.
inline const char* verdict(bool met) {
    return met ? "met" : "MISSED";
}

/// Prints a Markdown table of every benchmark's median items/s with min-max, after a line that
/// names the machine and the method.
inline void print_table(const char* title, const std::map<std::string, Stat>& stats,
                        const Settings& s) {
    const auto cpus = allowed_cpus();
    std::printf(
        "\n## %s\n\n%s, %zu CPUs allowed; thread k pinned to CPU %d, %d, ...;"
        " median of %d interleaved repetitions (min-max).\n\n",
        title, cpu_model().c_str(), cpus.size(), cpus[0], cpus[1 % cpus.size()], s.reps);
    std::printf("| benchmark | Mitems/s median | min-max | ns/item |\n|---|---:|---:|---:|\n");
    for (const auto& [name, st] : stats) {
        if (st.median == 0) continue;
        std::printf("| %s | %.1f | %.1f-%.1f | %.1f |\n", name.c_str(), st.median / 1e6,
                    st.min / 1e6, st.max / 1e6, 1e9 / st.median);
    }
}

/// Parses rill's flags, registers the benchmarks, runs them and prints the summary. Bad flags and
/// machines with fewer than 2 CPUs give a one-line error and exit code 2. A case that calls
/// mismatch() ends the process with exit code 1; one that reported an error with SkipWithError in
/// any repetition gets no figures, a "mismatch" line per failure on stderr and exit code 1.
template <class Register, class Summarize>
int bench_main(const char* program, int argc, char** argv, Register register_benchmarks,
               Summarize summarize) try {
    RunContext::program = program;
    Settings s;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("--reps=", 0) == 0) {
            const auto reps = rill::cli::whole_number(a.c_str() + 7, 1, 1000);
            if (!reps) {
                std::fprintf(stderr, "%s: --reps=%s: %s\n", program, a.c_str() + 7,
                             rill::cli::expected_whole_number(1, 1000).c_str());
                return 2;
            }
            s.reps = static_cast<int>(*reps);
        } else if (a == "--quick") {
            s.reps = 3;
            s.min_time = 0.05;
        } else {
            args.push_back(argv[i]);
        }
    }
    if (allowed_cpus().size() < 2) {
        std::fprintf(stderr, "%s: needs at least 2 CPUs in the affinity mask, has %zu\n", program,
                     allowed_cpus().size());
        return 2;
    }
    register_benchmarks(s);
    // Interleave the repetitions of all benchmarks in random order, so that a slow phase of a
    // shared machine spreads over every peer instead of landing on one.
    std::string interleave = "--benchmark_enable_random_interleaving=true";
    if (std::none_of(args.begin(), args.end(), [](const char* a) {
            return std::string(a).rfind("--benchmark_enable_random_interleaving", 0) == 0;
        })) {
        args.push_back(interleave.data());
    }
    int bench_argc = static_cast<int>(args.size());
    benchmark::Initialize(&bench_argc, args.data());
    if (benchmark::ReportUnrecognizedArguments(bench_argc, args.data())) return 2;
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    for (const std::string& name : reporter.failed)
        reporter.stats.erase(name);
    summarize(reporter.stats, s);
    benchmark::Shutdown();
    std::fflush(stdout);
    for (const std::string& f : reporter.failures)
        std::fprintf(stderr, "%s: mismatch: %s\n", program, f.c_str());
    if (!reporter.failures.empty()) {
        std::fprintf(stderr, "%s: %zu failed run(s) in %zu benchmark(s): exit code 1\n", program,
                     reporter.failures.size(), reporter.failed.size());
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
}

}  // namespace rill::bench
