#include "rill/flow/stage_options.hpp"

#include <bit>
#include <stdexcept>
#include <string>

namespace rill::detail {

void invalid_stage(std::string_view stage, const std::string& what) {
    throw std::invalid_argument("rill: stage '" + std::string(stage) + "': " + what);
}

namespace {

/// What is wrong with a ring capacity, or "" ("capacity 1000 is not a power of two (try 1024)").
std::string capacity_problem(std::size_t capacity, bool zero_ok) {
    if (capacity == 0 && zero_ok) return {};
    const std::string range = "expected a power of two from 2 to " +
                              std::to_string(kMaxStageCapacity) +
                              (zero_ok ? ", or 0 for the flow's" : "");
    const std::string what = "capacity " + std::to_string(capacity);
    if (capacity < 2) return what + " is below the minimum of 2; " + range;
    if (capacity > kMaxStageCapacity) return what + " is above the maximum; " + range;
    if (!std::has_single_bit(capacity)) {
        return what + " is not a power of two (try " + std::to_string(std::bit_ceil(capacity)) +
               "); " + range;
    }
    return {};
}

std::string batch_problem(std::size_t batch, bool zero_ok) {
    if ((batch == 0 && zero_ok) || (batch != 0 && batch <= kMaxStageBatch)) return {};
    return "batch " + std::to_string(batch) + " is outside [1, " + std::to_string(kMaxStageBatch) +
           "]" + (zero_ok ? " (or 0 for the flow's)" : "");
}

[[noreturn]] void invalid_flow(const std::string& what) {
    throw std::invalid_argument("rill: FlowOptions::" + what);
}

}  // namespace

void validate_stage_options(std::string_view stage, const StageOptions& o,
                            const FlowOptions& flow) {
    if (auto problem = capacity_problem(o.capacity, true); !problem.empty()) {
        invalid_stage(stage, problem);
    }
    if (o.replicas == 0 || o.replicas > flow.max_replicas) {
        invalid_stage(stage, "replicas " + std::to_string(o.replicas) + " is outside [1, " +
                                 std::to_string(flow.max_replicas) +
                                 "] (FlowOptions::max_replicas)");
    }
    if (o.replicas > 1 && o.ordered && o.distribution != Distribution::round_robin) {
        invalid_stage(
            stage,
            "ordered replicas need Distribution::round_robin (least_loaded cannot keep order)");
    }
    if (auto problem = batch_problem(o.batch, true); !problem.empty())
        invalid_stage(stage, problem);
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
    if (auto problem = capacity_problem(o.capacity, false); !problem.empty()) {
        invalid_flow(problem);
    }
    if (auto problem = batch_problem(o.batch, false); !problem.empty()) invalid_flow(problem);
    if (o.max_replicas == 0 || o.max_replicas > kMaxReplicas) {
        invalid_flow("max_replicas " + std::to_string(o.max_replicas) + " is outside [1, " +
                     std::to_string(kMaxReplicas) + "]");
    }
}

void validate_inlet_options(std::string_view inlet, const InletOptions& o) {
    if (o.capacity == 0 || o.capacity > kMaxInletCapacity) {
        throw std::invalid_argument("rill: inlet '" + std::string(inlet) + "': capacity " +
                                    std::to_string(o.capacity) + " is outside [1, " +
                                    std::to_string(kMaxInletCapacity) +
                                    "] (the inlet preallocates room for twice its capacity)");
    }
    try {
        o.wait.validate();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("rill: inlet '" + std::string(inlet) + "': wait: " + e.what());
    }
}

void validate_outlet_options(std::string_view outlet, const OutletOptions& o) {
    const std::string prefix = "rill: outlet '" + std::string(outlet) + "': ";
    if (auto problem = capacity_problem(o.capacity, false); !problem.empty()) {
        throw std::invalid_argument(prefix + problem);
    }
    try {
        o.wait.validate();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(prefix + "wait: " + e.what());
    }
}

}  // namespace rill::detail
