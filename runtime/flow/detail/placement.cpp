#include "rill/flow/detail/placement.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

#include "rill/flow/detail/graph.hpp"

namespace rill::detail {
namespace {

std::atomic<unsigned> g_placement_offset{0};  // spreads flows that are placed automatically

}  // namespace

std::vector<std::vector<unsigned>> place(const Graph& graph, unsigned workers) {
    std::size_t automatic = 0;
    for (const auto& node : graph.nodes) {
        if (const auto& w = node->options.worker) {
            if (*w >= workers) {
                throw std::invalid_argument("rill::Runtime::start: stage '" + node->name +
                                            "' asks for worker " + std::to_string(*w) +
                                            " but the runtime has " + std::to_string(workers) +
                                            " workers (0.." + std::to_string(workers - 1) + ")");
            }
        } else {
            automatic += node->options.replicas;
        }
    }
    // relaxed: only spreads load; any value is correct.
    const unsigned offset = g_placement_offset.fetch_add(1, std::memory_order_relaxed) % workers;
    std::vector<std::vector<unsigned>> placed;
    std::size_t k = 0;  // place units so far, of `automatic`
    for (const auto& node : graph.nodes) {
        const std::size_t n = node->options.replicas;
        // Replica j goes to the worker after replica j-1's: all on different workers while
        // there are enough, whatever the block arithmetic would have given them.
        const unsigned first =
            node->options.worker
                ? *node->options.worker
                : static_cast<unsigned>((k * workers / automatic + offset) % workers);
        if (!node->options.worker) k += n;
        std::vector<unsigned>& replicas = placed.emplace_back();
        for (std::size_t j = 0; j < n; ++j)
            replicas.push_back(static_cast<unsigned>((first + j) % workers));
    }
    return placed;
}

}  // namespace rill::detail
