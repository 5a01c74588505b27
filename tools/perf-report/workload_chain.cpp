// chain: the seed's pipeline, as bench_pipeline runs it on rill: source iota 1..n -> x*2 -> x+1
// -> sum. Cheap stages, so what it measures is the hand-off itself.

#include <rill/rill.hpp>

#include <memory>
#include <span>
#include <string>

#include "peers.hpp"
#include "workloads.hpp"

namespace rill::perf_report {
namespace {

/// The sum over x = 1..n of 2x+1, which is n(n+2); modulo 2^64 like the flow's own sum.
constexpr std::uint64_t expected_sum(std::uint64_t n) {
    return n * (n + 2);
}
static_assert(expected_sum(3) == 3 + 5 + 7);

constexpr auto twice = [](std::uint64_t x) noexcept { return x * 2; };
constexpr auto plus_one = [](std::uint64_t x) noexcept { return x + 1; };

perf::Factory factory(const Params&) {
    return [](const perf::Config& c) {
        const std::uint64_t n = c.items;
        auto sum = std::make_shared<std::uint64_t>(0);
        perf::Trial t;
        t.flow = Flow(c.flow_options());
        t.items = n;
        t.flow.source("source", iota<std::uint64_t>(1, n + 1))
            .map("double", twice)
            .map("inc", plus_one)
            // A batch sink sums in a local: a per-item sink adding into shared state would store
            // the total after every item (see bench_pipeline's per-item-sink cases).
            .sink("sum", [sum](std::span<const std::uint64_t> xs) noexcept {
                std::uint64_t s = 0;
                for (const std::uint64_t x : xs)
                    s += x;
                *sum += s;
            });
        t.check = [sum, n] { return *sum == expected_sum(n); };
        return t;
    };
}

std::vector<Peer> peers(const Params&, const std::vector<std::size_t>& capacities) {
    std::vector<Peer> out;
    for (const std::size_t cap : capacities) {
        out.push_back(
            {"tbb parallel_pipeline tokens=" + std::to_string(cap), cap, [cap](std::uint64_t n) {
                 return time_run(n, [&] {
                     std::uint64_t sum = 0;
                     bench::tbb_pipeline(
                         peer_arena(), cap, count_to(n), [&sum](std::uint64_t x) { sum += x; },
                         twice, plus_one);
                     return sum == expected_sum(n);
                 });
             }});
    }
    for (const std::size_t cap : capacities) {
        out.push_back(
            {"channel chain capacity=" + std::to_string(cap), cap, [cap](std::uint64_t n) {
                 return time_run(n, [&] {
                     std::uint64_t sum = 0;
                     bench::channel_chain(
                         cap, count_to(n), [&sum](std::uint64_t x) { sum += x; }, twice, plus_one);
                     return sum == expected_sum(n);
                 });
             }});
    }
    return out;
}

}  // namespace

Workload chain_workload() {
    Workload w;
    w.name = "chain";
    w.summary = "the seed's pipeline: source iota 1..n -> x*2 -> x+1 -> sum (checksum n(n+2))";
    w.items = 100'000;
    w.quick_items = 20'000;
    w.min_run_seconds = 0.02;
    w.quick_min_run_seconds = 0.005;
    w.quick_grid.capacities = {64, 1024};
    w.quick_grid.batches = {1, 64, 256};
    w.quick_grid.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    w.quick_grid.repeat = 3;
    w.note = [](const Params&) {
        return std::string(
            "Four cheap stages: the figures are the cost of the hand-off. With every stage "
            "chained on one worker there is no ring at all, so capacity and the wait policy do "
            "not matter there; on two workers the stages split in two blocks (source and x*2, "
            "x+1 and sum) and items cross cores through a ring.");
    };
    w.factory = factory;
    w.peers = peers;
    return w;
}

}  // namespace rill::perf_report
