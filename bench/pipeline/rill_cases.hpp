#pragma once
// rill's own cases of the pipeline benchmark, kept apart from the peers. The summary finds them by
// name: "rill/unchained/..." against the best peer, "rill/chained/..." against the fused loop.

#include <cstdint>

#include "common/bench_main.hpp"

namespace rill::bench {

/// Registers rill's cases with add_pipeline_case() (pipeline/workload.hpp), each running `items`
/// items per iteration like the peers.
void register_rill_pipeline_benchmarks(const Settings& s, std::uint64_t items);

}  // namespace rill::bench
