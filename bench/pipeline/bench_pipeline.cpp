// Pipeline benchmarks: the seed's workload, source iota 1..n (uint64_t) -> x*2 -> x+1 -> sum, run
// whole in every iteration (n = 10^7, 10^6 with --quick) and checked against n(n+2).
//   fused             one loop, no stages: the upper bound
//   tbb/tokens:N      tbb::parallel_pipeline, N items in flight, 2-thread arena
//   boost_spsc/cap:N  thread per stage, boost::lockfree::spsc_queue links of capacity N
//   channel/cap:N     thread per stage, mutex + condition variable channels of capacity N (the
//                     seed's Go design)
//   rill/...          rill's cases, registered by rill_cases.cpp
// Repetitions and the summary as in bench_ring, but no thread is pinned (see pipeline/peers.hpp).
//
//   bench_pipeline [--reps=N] [--quick] [--items=N] [google benchmark flags]

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/affinity.hpp"
#include "common/bench_main.hpp"
#include "pipeline/peers.hpp"
#include "pipeline/rill_cases.hpp"
#include "pipeline/workload.hpp"
#include "rill_cli/whole_number.hpp"

namespace rill::bench {
namespace {

constexpr std::size_t kTokens[] = {16, 256, 1024};
constexpr std::size_t kCapacities[] = {64, 1024, 4096};
constexpr std::uint64_t kMaxItems = 1'000'000'000'000;

void register_peers(const Settings& s, std::uint64_t items) {
    add_pipeline_case("fused", s, items, run_fused);
    for (const std::size_t t : kTokens) {
        add_pipeline_case("tbb/tokens:" + std::to_string(t), s, items,
                          [t](std::uint64_t n) { return run_tbb_pipeline(n, t); });
    }
    for (const std::size_t c : kCapacities) {
        add_pipeline_case("boost_spsc/cap:" + std::to_string(c), s, items,
                          [c](std::uint64_t n) { return run_boost_spsc_chain(n, c); });
    }
    for (const std::size_t c : kCapacities) {
        add_pipeline_case("channel/cap:" + std::to_string(c), s, items,
                          [c](std::uint64_t n) { return run_channel_chain(n, c); });
    }
}

// ---- summary --------------------------------------------------------------------------------

struct Best {
    std::string name;
    double median = 0;  // items/s; 0 when no benchmark matched
};

/// The benchmark with the highest median among those whose names start with one of `prefixes`.
Best best_of(const std::map<std::string, Stat>& stats,
             std::initializer_list<const char*> prefixes) {
    Best best;
    for (const auto& [name, st] : stats) {
        for (const char* p : prefixes) {
            if (name.rfind(p, 0) == 0 && st.median > best.median) best = {name, st.median};
        }
    }
    return best;
}

/// print_table() with the method line this benchmark needs: its threads are not pinned.
void print_pipeline_table(const std::map<std::string, Stat>& stats, const Settings& s,
                          std::uint64_t items) {
    std::printf(
        "\n## Pipeline benchmark summary\n\n%s, %zu CPUs allowed; peers not pinned (a chain runs"
        " 4 threads, TBB a 2-thread arena); %llu items per iteration; median of %d interleaved"
        " repetitions (min-max).\n\n",
        cpu_model().c_str(), allowed_cpus().size(), static_cast<unsigned long long>(items), s.reps);
    std::printf("| benchmark | Mitems/s median | min-max | ns/item |\n|---|---:|---:|---:|\n");
    for (const auto& [name, st] : stats) {
        if (st.median == 0) continue;
        std::printf("| %s | %.1f | %.1f-%.1f | %.2f |\n", name.c_str(), st.median / 1e6,
                    st.min / 1e6, st.max / 1e6, 1e9 / st.median);
    }
}

void print_summary(const std::map<std::string, Stat>& stats, const Settings& s,
                   std::uint64_t items) {
    print_pipeline_table(stats, s, items);
    // The fused loop bounds every pipeline from above; "best peer" means the best real pipeline.
    const Best fused = best_of(stats, {"fused"});
    const Best peer = best_of(stats, {"tbb/", "boost_spsc/", "channel/"});
    const Best unchained = best_of(stats, {"rill/unchained/"});
    const Best chained = best_of(stats, {"rill/chained/"});
    std::printf("\nTargets (ratios of medians from this run):\n");

    if (unchained.median == 0) {
        std::printf(
            "- best rill unchained vs best peer (target >= 5x): rill cases missing, no "
            "rill/unchained/* benchmark ran\n");
    } else if (peer.median == 0) {
        std::printf("- best rill unchained vs best peer (target >= 5x): no peer ran\n");
    } else {
        const double r = unchained.median / peer.median;
        std::printf("- best rill unchained (%s) vs best peer (%s): %.2fx (target >= 5x) %s\n",
                    unchained.name.c_str(), peer.name.c_str(), r, verdict(r >= 5));
    }

    if (chained.median == 0) {
        std::printf(
            "- best rill chained vs fused loop (target >= 25%%): rill cases missing, no "
            "rill/chained/* benchmark ran\n");
    } else if (fused.median == 0) {
        std::printf(
            "- best rill chained vs fused loop (target >= 25%%): the fused loop did not "
            "run\n");
    } else {
        const double r = chained.median / fused.median;
        std::printf("- best rill chained (%s) vs fused loop: %.1f%% (target >= 25%%) %s\n",
                    chained.name.c_str(), 100 * r, verdict(r >= 0.25));
    }

    if (peer.median > 0 && fused.median > 0) {
        std::printf("- best peer (%s) reaches %.2f%% of the fused loop (no target)\n",
                    peer.name.c_str(), 100 * peer.median / fused.median);
    }
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) {
    using namespace rill::bench;
    // --items=N is this benchmark's own flag: take it out before bench_main sees the arguments.
    std::optional<std::uint64_t> items;
    bool quick = false;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("--items=", 0) == 0) {
            items = rill::cli::whole_number(argv[i] + 8, 1, kMaxItems);
            if (!items) {
                std::fprintf(stderr,
                             "bench_pipeline: --items=%s: expected a whole number from 1 to %llu\n",
                             argv[i] + 8, static_cast<unsigned long long>(kMaxItems));
                return 2;
            }
            continue;
        }
        quick = quick || a == "--quick";
        args.push_back(argv[i]);
    }
    const std::uint64_t n = items.value_or(quick ? kQuickItems : kItems);
    args.push_back(nullptr);
    return bench_main(
        "bench_pipeline", static_cast<int>(args.size()) - 1, args.data(),
        [n](const Settings& s) {
            register_peers(s, n);
            register_rill_pipeline_benchmarks(s, n);
        },
        [n](const std::map<std::string, Stat>& stats, const Settings& s) {
            print_summary(stats, s, n);
        });
}
