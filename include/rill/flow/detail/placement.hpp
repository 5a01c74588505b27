#pragma once
// Placement: which worker runs each replica of each stage of a flow.

#include <vector>

namespace rill::detail {

struct Graph;

/// The worker of every replica of every node, [node][replica]. A stage's replicas go to
/// consecutive workers (replica j to first + j, modulo the workers), so they are on different
/// workers whenever there are as many workers as replicas. The first is the stage's `worker`
/// option, or else the next block of a contiguous placement in flow order over all workers:
/// neighbours share a worker, so chains form and rings cross workers rarely.
/// Throws std::invalid_argument for a stage that asks for a worker the runtime does not have.
[[nodiscard]] std::vector<std::vector<unsigned>> place(const Graph& graph, unsigned workers);

}  // namespace rill::detail
