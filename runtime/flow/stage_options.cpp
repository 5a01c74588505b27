#include "rill/flow/stage_options.hpp"

#include <bit>
#include <stdexcept>
#include <string>

namespace rill::detail {

void invalid_stage(std::string_view stage, const std::string& what) {
    throw std::invalid_argument("rill: stage '" + std::string(stage) + "': " + what);
}

namespace {

void check_capacity(std::string_view stage, std::size_t capacity, bool zero_ok) {
    if (capacity == 0 && zero_ok) return;
    if (capacity < 2 || capacity > kMaxStageCapacity || !std::has_single_bit(capacity)) {
        invalid_stage(stage, "capacity " + std::to_string(capacity) + " is not a power of two in [2, " +
                           std::to_string(kMaxStageCapacity) + "]" +
                           (zero_ok ? " (or 0 for the flow's)" : ""));
    }
}

void check_batch(std::string_view stage, std::size_t batch, bool zero_ok) {
    if (batch == 0 && zero_ok) return;
    if (batch == 0 || batch > kMaxStageBatch) {
        invalid_stage(stage, "batch " + std::to_string(batch) + " is outside [1, " +
                           std::to_string(kMaxStageBatch) + "]" +
                           (zero_ok ? " (or 0 for the flow's)" : ""));
    }
}

}  // namespace

void validate_stage_options(std::string_view stage, const StageOptions& o,
                            const FlowOptions& flow) {
    check_capacity(stage, o.capacity, true);
    if (o.replicas == 0 || o.replicas > flow.max_replicas) {
        invalid_stage(stage, "replicas " + std::to_string(o.replicas) + " is outside [1, " +
                           std::to_string(flow.max_replicas) + "] (FlowOptions::max_replicas)");
    }
    if (o.replicas > 1 && o.ordered && o.distribution != Distribution::round_robin) {
        invalid_stage(stage,
                "ordered replicas need Distribution::round_robin (least_loaded cannot keep order)");
    }
    check_batch(stage, o.batch, true);
    if (o.wait) {
        try {
            o.wait->validate();
        } catch (const std::invalid_argument& e) {
            invalid_stage(stage, std::string("wait: ") + e.what());
        }
    }
    if (o.poll_interval.count() < 0) {
        invalid_stage(stage, "poll_interval " + std::to_string(o.poll_interval.count()) +
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

}  // namespace rill::detail
