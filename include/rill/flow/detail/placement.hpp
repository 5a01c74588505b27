#pragma once
// Placement: which worker runs each replica of each stage of a flow.

#include <vector>

namespace rill::detail {

struct Graph;

/// The worker of every replica of every node, [node][replica]. A stage that asks for worker w gets it for its
/// first replica, and w+1, w+2, ... (mod workers) for the others. The rest go in contiguous
/// blocks, in flow order, over all workers: neighbours share a worker, so chains form and rings
/// cross workers rarely, and the replicas of a stage land on different workers.
/// Throws std::invalid_argument for a stage that asks for a worker the runtime does not have.
[[nodiscard]] std::vector<std::vector<unsigned>> place(const Graph& graph, unsigned workers);

}  // namespace rill::detail
