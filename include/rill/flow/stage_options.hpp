#pragma once
// Options for a flow and for each of its stages: plain structs for designated initializers,
// checked when the stage is added (a bad value throws std::invalid_argument naming the stage,
// the field, the value and what is expected).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rill/wait/wait_policy.hpp"

namespace rill {

/// What a stage does when its code throws. Room is left for retry, dead letter and circuit
/// breaker policies, which extend this type.
struct ErrorPolicy {
    enum class Kind : std::uint8_t {
        fail_fast,  ///< cancel the run; Run::wait() rethrows the first error with the stage name
        skip,       ///< count the item as errored and go on
    };
    Kind kind = Kind::fail_fast;

    [[nodiscard]] static constexpr ErrorPolicy fail_fast() noexcept { return {Kind::fail_fast}; }
    [[nodiscard]] static constexpr ErrorPolicy skip() noexcept { return {Kind::skip}; }
    friend bool operator==(const ErrorPolicy&, const ErrorPolicy&) = default;
};

/// How a replicated stage's input is dealt to its replicas, a chunk of `batch` items at a time.
enum class Distribution : std::uint8_t {
    round_robin,   ///< replica 0, 1, ..., n-1, 0, ...
    least_loaded,  ///< the replica whose input ring has the most free room
};

struct FlowOptions {
    std::size_t capacity = 1024;    ///< default ring capacity in front of each stage
    std::size_t batch = 64;         ///< default items per step
    bool chain = true;              ///< run consecutive stages on one worker as one task
    std::size_t max_replicas = 64;  ///< the most replicas a stage may ask for (>= 1)
};

struct StageOptions {
    /// Capacity of the ring in front of this stage (a power of two >= 2); 0: the flow's.
    std::size_t capacity = 0;
    /// Most items this stage takes per step and emits per hand-off; 0: the flow's.
    std::size_t batch = 0;
    /// Worker that runs the stage (with replicas: replica j runs on worker + j, modulo the
    /// runtime's workers); default: placed automatically, replicas on different workers.
    std::optional<unsigned> worker{};
    /// How the stage's worker waits when idle; default: the runtime's.
    std::optional<WaitPolicy> wait{};
    ErrorPolicy on_error = ErrorPolicy::fail_fast();
    /// false forces a ring between this stage and its upstream even on the same worker;
    /// default: the flow's `chain`.
    std::optional<bool> chain{};
    /// Sources only: how soon to poll again after a polling source reported `idle`.
    /// Zero: only when woken (StageContext::wake()).
    std::chrono::microseconds poll_interval{100};
    /// Copies of the stage that run in parallel, each with its own copy of the stage object
    /// (1 to FlowOptions::max_replicas). Sources have one.
    std::size_t replicas = 1;
    /// With replicas: the stream after the stage keeps the input order. A reorder window of one
    /// ring per replica bounds the memory; a slow item backpressures instead of growing it.
    /// Needs Distribution::round_robin (the merge reads the replicas back in dealing order).
    bool ordered = false;
    /// How replicas are dealt the input; not with ordered (above) nor after key_by.
    Distribution distribution = Distribution::round_robin;
};

struct InletOptions {
    /// Items the inlet holds before try_push fails and push waits (1 to kMaxInletCapacity). The
    /// inlet preallocates room for twice as many.
    std::size_t capacity = 4096;
    /// How push() waits while the inlet is full.
    WaitPolicy wait = WaitPolicy::spin_park(256, 4);
};

struct OutletOptions {
    /// Items the outlet holds for its readers (a power of two, 2 to kMaxStageCapacity); when it
    /// is full the stage feeding it waits.
    std::size_t capacity = 1024;
    /// How pop() waits for an item.
    WaitPolicy wait = WaitPolicy::spin_park(256, 4);
};

inline constexpr std::size_t kMaxStageCapacity = std::size_t{1} << 30;
inline constexpr std::size_t kMaxStageBatch = std::size_t{1} << 16;
/// An inlet preallocates 2 x capacity items up front (moodycamel's blocks, so that producers never
/// allocate): 2^24 items of 64 bytes is 2 GiB already.
inline constexpr std::size_t kMaxInletCapacity = std::size_t{1} << 24;
inline constexpr std::size_t kMaxReplicas = 1024;  ///< the largest FlowOptions::max_replicas

namespace detail {
/// Throws std::invalid_argument "rill: stage '<stage>': <what>".
[[noreturn]] void invalid_stage(std::string_view stage, const std::string& what);
/// Throws std::invalid_argument naming the stage and the field.
void validate_stage_options(std::string_view stage, const StageOptions& options,
                            const FlowOptions& flow);
void validate_flow_options(const FlowOptions& options);
void validate_inlet_options(std::string_view inlet, const InletOptions& options);
void validate_outlet_options(std::string_view outlet, const OutletOptions& options);
}  // namespace detail

}  // namespace rill
