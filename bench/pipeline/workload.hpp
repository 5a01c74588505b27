#pragma once
// How every pipeline case, peer or rill, is registered: each iteration runs the whole workload of
// `items` items and must return expected_sum(items); items/s is reported.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "common/bench_main.hpp"
#include "pipeline/peers.hpp"

namespace rill::bench {

/// Items per iteration: the seed's 10^7, 10^6 with --quick; --items=N overrides both.
constexpr std::uint64_t kItems = 10'000'000;
constexpr std::uint64_t kQuickItems = 1'000'000;

/// Registers `name`, whose iteration is run(items) -> sum. A wrong sum ends the binary with both
/// values in the message (mismatch()).
template <class Run>
void add_pipeline_case(const std::string& name, const Settings& s, std::uint64_t items, Run run) {
    add(name, s, [items, run](benchmark::State& state) {
        const std::uint64_t expected = expected_sum(items);
        for (auto _ : state) {
            const std::uint64_t got = run(items);
            if (got != expected) {
                mismatch("sum " + std::to_string(got) + ", expected " + std::to_string(expected));
            }
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                                static_cast<std::int64_t>(items));
    });
}

}  // namespace rill::bench
