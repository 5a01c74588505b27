#include "pipeline/rill_cases.hpp"

#include <rill/rill.hpp>

#include <span>
#include <string>

#include "pipeline/workload.hpp"

namespace rill::bench {
namespace {

/// One runtime for every case: two workers pinned to the machine's CPUs, started once.
Runtime& runtime() {
    static Runtime rt{RuntimeOptions{.workers = 2}};
    return rt;
}

/// The seed's workload: iota -> x*2 -> x+1 -> sum, every stage with the same capacity and batch.
/// The maps take one item at a time, as the seed's stages do. The sink takes each batch as a span
/// and sums it in a local: a per-item sink adding into a captured reference must store the total
/// after every item (the compiler cannot prove that the items do not alias it), which the
/// `per-item-sink` cases measure.
std::uint64_t run_rill(std::uint64_t n, bool chain, std::size_t capacity, std::size_t batch,
                       bool per_item_sink) {
    std::uint64_t total = 0;
    Flow flow(FlowOptions{.capacity = capacity, .batch = batch, .chain = chain});
    auto stream = flow.source("source", iota<std::uint64_t>(1, n + 1))
                      .map("double", [](std::uint64_t x) noexcept { return x * 2; })
                      .map("inc", [](std::uint64_t x) noexcept { return x + 1; });
    if (per_item_sink) {
        stream.sink("sum", [&total](std::uint64_t x) noexcept { total += x; });
    } else {
        stream.sink("sum", [&total](std::span<const std::uint64_t> xs) noexcept {
            std::uint64_t sum = 0;
            for (const std::uint64_t x : xs)
                sum += x;
            total += sum;
        });
    }
    Run run = runtime().start(flow);
    run.wait();
    return total;
}

}  // namespace

void register_rill_pipeline_benchmarks(const Settings& s, std::uint64_t items) {
    for (const bool chain : {false, true}) {
        const std::string prefix = std::string("rill/") + (chain ? "chained/" : "unchained/");
        for (const std::size_t capacity : {64, 1024, 4096}) {
            for (const std::size_t batch : {1, 16, 64, 256}) {
                add_pipeline_case(
                    prefix + "cap:" + std::to_string(capacity) + "/batch:" + std::to_string(batch),
                    s, items,
                    [=](std::uint64_t n) { return run_rill(n, chain, capacity, batch, false); });
            }
        }
        add_pipeline_case(prefix + "per-item-sink/cap:4096/batch:256", s, items,
                          [=](std::uint64_t n) { return run_rill(n, chain, 4096, 256, true); });
    }
}

}  // namespace rill::bench
