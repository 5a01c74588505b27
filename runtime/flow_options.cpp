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

void validate_stage_options(std::string_view stage, const StageOptions& o) {
    check_capacity(stage, o.capacity, true);
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
    validate_stage_options(node->name, node->options);
    const int index = static_cast<int>(graph.nodes.size());
    if (node->upstream >= 0) {
        NodeBase& up = *graph.nodes[static_cast<std::size_t>(node->upstream)];
        if (!up.downstream.empty()) {
            throw std::invalid_argument(
                "rill: the stream of stage '" + up.name + "' already feeds stage '" +
                graph.nodes[static_cast<std::size_t>(up.downstream.front())]->name +
                "'; a stream has one consumer (add '" + node->name + "' after that one)");
        }
        up.downstream.push_back(index);
    }
    graph.nodes.push_back(std::move(node));
    return index;
}

}  // namespace detail

Flow::Flow(FlowOptions options) : graph_(std::make_shared<detail::Graph>()) {
    detail::validate_flow_options(options);
    graph_->options = options;
}

}  // namespace rill
