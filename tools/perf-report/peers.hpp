#pragma once
// What the workloads' peers share: the generic TBB pipeline and channel chain of
// bench/peers/peer_chains.hpp (also bench_pipeline's), and one TBB arena for every run.

#include <tbb/task_arena.h>

#include <cstdint>
#include <optional>

#include "peers/peer_chains.hpp"

namespace rill::perf_report {

/// Two threads, one per core of the project machine, as bench_pipeline uses: the calling thread
/// plus one worker.
[[nodiscard]] tbb::task_arena& peer_arena();

/// The peers' source for iota workloads: 1, 2, ..., n, then std::nullopt.
inline auto count_to(std::uint64_t n) {
    return [i = std::uint64_t{0}, n]() mutable -> std::optional<std::uint64_t> {
        if (i == n) return std::nullopt;
        return ++i;
    };
}

}  // namespace rill::perf_report
