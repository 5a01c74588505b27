#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#include "rill/flow/flow.hpp"

namespace rill {
namespace detail {
namespace {

[[noreturn]] void invalid(std::string_view stage, const std::string& what) {
    throw std::invalid_argument("rill: stage '" + std::string(stage) + "': " + what);
}

void check_capacity(std::string_view stage, std::size_t capacity, bool zero_ok) {
    if (capacity == 0 && zero_ok) return;
    if (capacity < 2 || capacity > kMaxStageCapacity || !std::has_single_bit(capacity)) {
        invalid(stage, "capacity " + std::to_string(capacity) + " is not a power of two in [2, " +
                           std::to_string(kMaxStageCapacity) + "]" +
                           (zero_ok ? " (or 0 for the flow's)" : ""));
    }
}

void check_batch(std::string_view stage, std::size_t batch, bool zero_ok) {
    if (batch == 0 && zero_ok) return;
    if (batch == 0 || batch > kMaxStageBatch) {
        invalid(stage, "batch " + std::to_string(batch) + " is outside [1, " +
                           std::to_string(kMaxStageBatch) + "]" +
                           (zero_ok ? " (or 0 for the flow's)" : ""));
    }
}

}  // namespace

void validate_stage_options(std::string_view stage, const StageOptions& o,
                            const FlowOptions& flow) {
    check_capacity(stage, o.capacity, true);
    if (o.replicas == 0 || o.replicas > flow.max_replicas) {
        invalid(stage, "replicas " + std::to_string(o.replicas) + " is outside [1, " +
                           std::to_string(flow.max_replicas) + "] (FlowOptions::max_replicas)");
    }
    if (o.replicas > 1 && o.ordered && o.distribution != Distribution::round_robin) {
        invalid(stage,
                "ordered replicas need Distribution::round_robin (least_loaded cannot keep order)");
    }
    check_batch(stage, o.batch, true);
    if (o.wait) {
        try {
            o.wait->validate();
        } catch (const std::invalid_argument& e) {
            invalid(stage, std::string("wait: ") + e.what());
        }
    }
    if (o.poll_interval.count() < 0) {
        invalid(stage, "poll_interval " + std::to_string(o.poll_interval.count()) +
                           "us is negative; expected >= 0");
    }
}

void validate_flow_options(const FlowOptions& o) {
    check_capacity("(flow default)", o.capacity, false);
    check_batch("(flow default)", o.batch, false);
    if (o.max_replicas == 0 || o.max_replicas > kMaxReplicas) {
        throw std::invalid_argument("rill: flow option max_replicas " +
                                    std::to_string(o.max_replicas) + " is outside [1, " +
                                    std::to_string(kMaxReplicas) + "]");
    }
}

void validate_inlet_options(std::string_view inlet, const InletOptions& o) {
    if (o.capacity == 0 || o.capacity > kMaxInletCapacity) {
        throw std::invalid_argument("rill: inlet '" + std::string(inlet) + "': capacity " +
                                    std::to_string(o.capacity) + " is outside [1, " +
                                    std::to_string(kMaxInletCapacity) + "]");
    }
    try {
        o.wait.validate();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("rill: inlet '" + std::string(inlet) + "': wait: " + e.what());
    }
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
        invalid(node->name, "a source has one replica, not " +
                                std::to_string(node->options.replicas) +
                                "; replicate the stage after it");
    }
    if (node->keyed() && node->options.ordered) {
        invalid(node->name,
                "ordered does not apply after key_by: each key's items keep their "
                "order, and there is no order across keys to keep");
    }
    if (node->upstreams.size() > 1 && node->options.replicas != 1) {
        invalid(node->name,
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
                "') would need a copy of every item, and its item type cannot be "
                "copied (pass it as a rill::Pooled or std::shared_ptr handle, or add the second "
                "consumer after the first)");
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
