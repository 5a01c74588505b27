// cpu: source iota 1..n -> a stage doing about a microsecond of arithmetic per item -> sum.
// The stage is the bottleneck; it runs as one replica per worker, so the workers dimension of
// the grid is also its replicas dimension {1, 2}.

#include <time.h>

#include <rill/rill.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "peers.hpp"
#include "report.hpp"
#include "workloads.hpp"

namespace rill::perf_report {
namespace {

/// `rounds` steps of a 64-bit LCG with an xorshift: a chain of dependent multiplies the compiler
/// can neither shorten nor vectorize.
std::uint64_t work(std::uint64_t x, std::uint32_t rounds) noexcept {
    for (std::uint32_t i = 0; i < rounds; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    return x;
}

struct Calibration {
    std::uint32_t rounds = 0;
    double ns_per_item = 0;  ///< measured with `rounds`, one thread, no flow
};

double thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Rounds for about 1 µs per item on this machine, measured once per process (a few ms) in CPU
/// time of the calibrating thread, so that another process taking the core meanwhile does not
/// shorten the stage.
const Calibration& calibration() {
    static const Calibration c = [] {
        const auto time_per_item = [](std::uint32_t rounds) {
            constexpr int kItems = 2000;
            std::uint64_t sink = 0;
            double best = 1e30;
            for (int trial = 0; trial < 3; ++trial) {  // the fastest of 3: the least disturbed
                const double t0 = thread_cpu_ns();
                for (int i = 0; i < kItems; ++i)
                    sink += work(static_cast<std::uint64_t>(i), rounds);
                best = std::min(best, (thread_cpu_ns() - t0) / kItems);
            }
            // Keeps the loop: the result goes somewhere the compiler cannot see through.
            static std::atomic<std::uint64_t> keep;
            keep.store(sink, std::memory_order_relaxed);  // relaxed: only has to happen
            return best;
        };
        constexpr std::uint32_t kProbe = 1000;
        const double per_round = time_per_item(kProbe) / kProbe;
        Calibration cal;
        cal.rounds = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(1000.0 / per_round));
        cal.ns_per_item = time_per_item(cal.rounds);
        return cal;
    }();
    return c;
}

std::uint64_t expected_sum(std::uint64_t n, std::uint32_t rounds) {
    std::uint64_t sum = 0;
    for (std::uint64_t x = 1; x <= n; ++x)
        sum += work(x, rounds);
    return sum;
}

perf::Factory factory(const Params&) {
    const std::uint32_t rounds = calibration().rounds;
    // The expected sum costs as much as a run: computed once per item count.
    auto expected_by_items = std::make_shared<std::map<std::uint64_t, std::uint64_t>>();
    return [rounds, expected_by_items](const perf::Config& c) {
        const std::uint64_t n = c.items;
        auto [it, fresh] = expected_by_items->try_emplace(n, 0);
        if (fresh) it->second = expected_sum(n, rounds);
        const std::uint64_t expected = it->second;
        auto sum = std::make_shared<std::uint64_t>(0);
        perf::Trial t;
        t.flow = Flow(c.flow_options());
        t.items = n;
        t.flow.source("source", iota<std::uint64_t>(1, n + 1))
            .map("work", [rounds](std::uint64_t x) noexcept { return work(x, rounds); },
                 {.replicas = c.workers})
            .sink("sum", [sum](std::span<const std::uint64_t> xs) noexcept {
                std::uint64_t s = 0;
                for (const std::uint64_t x : xs)
                    s += x;
                *sum += s;
            });
        t.check = [sum, expected] { return *sum == expected; };
        return t;
    };
}

std::vector<Peer> peers(const Params&, const std::vector<std::size_t>& capacities) {
    const std::uint32_t rounds = calibration().rounds;
    auto expected_by_items = std::make_shared<std::map<std::uint64_t, std::uint64_t>>();
    const auto expected = [rounds, expected_by_items](std::uint64_t n) {
        auto [it, fresh] = expected_by_items->try_emplace(n, 0);
        if (fresh) it->second = expected_sum(n, rounds);
        return it->second;
    };
    const auto stage = [rounds](std::uint64_t x) { return work(x, rounds); };
    std::vector<Peer> out;
    for (const std::size_t cap : capacities) {
        out.push_back(
            {"tbb parallel_pipeline tokens=" + std::to_string(cap), cap, [=](std::uint64_t n) {
                 const std::uint64_t want = expected(n);
                 return time_run(n, [&] {
                     std::uint64_t sum = 0;
                     bench::tbb_pipeline(
                         peer_arena(), cap, count_to(n), [&sum](std::uint64_t x) { sum += x; },
                         stage);
                     return sum == want;
                 });
             }});
    }
    for (const std::size_t cap : capacities) {
        out.push_back({"channel chain capacity=" + std::to_string(cap), cap, [=](std::uint64_t n) {
                           const std::uint64_t want = expected(n);
                           return time_run(n, [&] {
                               std::uint64_t sum = 0;
                               bench::channel_chain(
                                   cap, count_to(n), [&sum](std::uint64_t x) { sum += x; }, stage);
                               return sum == want;
                           });
                       }});
    }
    return out;
}

}  // namespace

Workload cpu_workload() {
    Workload w;
    w.name = "cpu";
    w.summary =
        "source iota 1..n -> a stage of ~1 µs of arithmetic per item (calibrated at start) -> "
        "sum; the stage runs as one replica per worker (replicas = workers)";
    w.items = 10'000;
    w.quick_items = 3'000;
    w.grid.capacities = {64, 1024};
    w.grid.batches = {1, 64};
    w.quick_grid.capacities = {64, 1024};
    w.quick_grid.batches = {1, 64};
    w.quick_grid.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    w.quick_grid.repeat = 3;
    w.note = [](const Params&) {
        const Calibration& c = calibration();
        return "The work stage runs " + std::to_string(c.rounds) +
               " rounds of a 64-bit LCG per "
               "item, measured at " +
               fixed(c.ns_per_item, 0) +
               " ns of CPU per item on one core outside any flow, so one stage caps the flow "
               "near " +
               fixed(1e3 / c.ns_per_item, 2) +
               " M items/s per replica. The stage runs as one replica per worker (unordered), so "
               "two workers give two replicas; the source and the sum share the workers with "
               "them. TBB's parallel filter runs the stage on both threads of its arena.";
    };
    w.factory = factory;
    w.peers = peers;
    return w;
}

}  // namespace rill::perf_report
