#include "rill/flow/flow.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace rill {
namespace detail {

bool timestamped(const Graph& graph, int node) {
    const NodeBase& n = *graph.nodes[static_cast<std::size_t>(node)];
    if (n.makes_watermarks) return true;
    if (n.upstreams.empty()) return false;
    return std::all_of(n.upstreams.begin(), n.upstreams.end(),
                       [&](int up) { return timestamped(graph, up); });
}

int add_node(Graph& graph, std::unique_ptr<NodeBase> node) {
    if (node->name.empty()) {
        throw std::invalid_argument(
            "rill: a stage needs a name (it names the stage in errors, "
            "metrics and perf)");
    }
    for (const auto& other : graph.nodes) {
        if (other->name == node->name) {
            throw std::invalid_argument("rill: stage name '" + node->name +
                                        "' is used twice in one flow; names must be unique");
        }
    }
    validate_stage_options(node->name, node->options, graph.options);
    if (node->upstreams.empty() && node->options.replicas != 1) {
        invalid_stage(node->name, "a source has one replica, not " +
                                      std::to_string(node->options.replicas) +
                                      "; replicate the stage after it");
    }
    if (node->keyed() && node->options.distribution != Distribution::round_robin) {
        invalid_stage(node->name,
                      "distribution least_loaded does not apply after key_by: each item goes to "
                      "the replica that owns its key");
    }
    if (node->keyed() && node->options.ordered) {
        invalid_stage(node->name,
                      "ordered does not apply after key_by: each key's items keep their "
                      "order, and there is no order across keys to keep");
    }
    if (node->upstreams.size() > 1 && node->options.replicas != 1) {
        invalid_stage(node->name,
                      "a merge has one replica, not " + std::to_string(node->options.replicas));
    }
    const int index = static_cast<int>(graph.nodes.size());
    const auto& ups = node->upstreams;
    for (auto it = ups.begin(); it != ups.end(); ++it) {
        NodeBase& up = *graph.nodes[static_cast<std::size_t>(*it)];
        const bool shared = !up.downstream.empty() || std::find(ups.begin(), it, *it) != it;
        if (shared && !up.copyable_output()) {
            throw std::invalid_argument(
                "rill: the stream of stage '" + up.name + "' already has a consumer; a second ('" +
                node->name +
                "') would get a copy of every item, and the stream's item type cannot be copied "
                "(a move-only type such as std::unique_ptr or rill::Pooled); carry a copyable "
                "handle instead (std::shared_ptr<const T>), or chain the second stage after the "
                "first");
        }
    }
    for (const int u : node->upstreams)
        graph.nodes[static_cast<std::size_t>(u)]->downstream.push_back(index);
    graph.nodes.push_back(std::move(node));
    return index;
}

}  // namespace detail

Flow::Flow(FlowOptions options) : graph_(std::make_shared<detail::Graph>()) {
    detail::validate_flow_options(options);
    graph_->options = options;
}

}  // namespace rill
