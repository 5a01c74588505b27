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

/// The sink: sums each batch in a local, then adds it to `total`.
auto batch_sum(std::uint64_t& total) {
    return [&total](std::span<const std::uint64_t> xs) noexcept {
        std::uint64_t sum = 0;
        for (const std::uint64_t x : xs)
            sum += x;
        total += sum;
    };
}

struct Case {
    bool chain = true;
    std::size_t capacity = 1024;
    std::size_t batch = 64;
    bool per_item_sink = false;
    bool one_worker = false;  // every stage on worker 0 (the runtime still has two)
};

/// The seed's workload: iota -> x*2 -> x+1 -> sum, every stage with the same capacity and batch.
/// The maps take one item at a time, as the seed's stages do. The sink takes each batch as a span
/// and sums it in a local: a per-item sink adding into a captured reference must store the total
/// after every item (the compiler cannot prove that the items do not alias it), which the
/// `per-item-sink` cases measure. By default the stages spread over both workers (source and
/// double on one, inc and sum on the other); `one-worker` cases keep them all on one.
std::uint64_t run_rill(std::uint64_t n, const Case& c) {
    std::uint64_t total = 0;
    Flow flow(FlowOptions{.capacity = c.capacity, .batch = c.batch, .chain = c.chain});
    StageOptions place;
    if (c.one_worker) place.worker = 0;
    auto stream = flow.source("source", iota<std::uint64_t>(1, n + 1), place)
                      .map(
                          "double", [](std::uint64_t x) noexcept { return x * 2; }, place)
                      .map(
                          "inc", [](std::uint64_t x) noexcept { return x + 1; }, place);
    if (c.per_item_sink) {
        stream.sink(
            "sum", [&total](std::uint64_t x) noexcept { total += x; }, place);
    } else {
        stream.sink("sum", batch_sum(total), place);
    }
    Run run = runtime().start(flow);
    run.wait();
    return total;
}

}  // namespace

void register_rill_pipeline_benchmarks(const Settings& s, std::uint64_t items) {
    const auto add_case = [&](const std::string& name, const Case& c) {
        add_pipeline_case(name, s, items, [c](std::uint64_t n) { return run_rill(n, c); });
    };
    for (const bool chain : {false, true}) {
        const std::string prefix = std::string("rill/") + (chain ? "chained/" : "unchained/");
        for (const std::size_t capacity : {64, 1024, 4096}) {
            for (const std::size_t batch : {1, 16, 64, 256}) {
                add_case(
                    prefix + "cap:" + std::to_string(capacity) + "/batch:" + std::to_string(batch),
                    {.chain = chain, .capacity = capacity, .batch = batch});
            }
        }
        add_case(prefix + "per-item-sink/cap:4096/batch:256",
                 {.chain = chain, .capacity = 4096, .batch = 256, .per_item_sink = true});
    }
    for (const std::size_t batch : {64, 256, 1024}) {
        add_case("rill/chained/one-worker/batch:" + std::to_string(batch),
                 {.chain = true, .capacity = 1024, .batch = batch, .one_worker = true});
    }
}

}  // namespace rill::bench
