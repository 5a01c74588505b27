#pragma once
// Per-stage accounting of a run. Every item a stage receives is accounted for exactly once:
// in == out + filtered + errored + dropped_on_cancel + late + in_windows once the stage is idle,
// and in_windows is 0 once the run has ended (the end of input emits every open window; a cancel
// counts what they held as dropped).

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace rill {

struct StageMetrics {
    std::string name;   ///< the row's: the stage's name, or `stage[j]` for replica j
    std::string stage;  ///< the stage's name, as given to the Flow (the same for every replica)
    std::size_t replica = 0;
    std::size_t replicas = 1;
    unsigned worker = 0;
    std::uint64_t in = 0;        ///< items received (for a source: items produced, or failed)
    std::uint64_t out = 0;       ///< items handled successfully
    std::uint64_t filtered = 0;  ///< items a filter rejected
    std::uint64_t errored = 0;   ///< items whose processing threw
    std::uint64_t dropped_on_cancel = 0;
    /// A window stage on event time: items too late for every window (past allowed lateness),
    /// sent to its late_items() stream when the flow has one and it has room.
    std::uint64_t late = 0;
    std::uint64_t emitted = 0;  ///< items handed downstream (a flat_map may emit many per input)
    /// A window stage: items its open windows hold now, counted `out` once no window to come
    /// can contain them.
    std::uint64_t in_windows = 0;
    /// Items waiting in the rings in front of the stage now (several behind replicas or a merge).
    std::size_t queue_depth = 0;
    /// Items the stage's producers hold because those rings are full (at most a batch each).
    std::size_t held_upstream = 0;
    std::size_t queue_max = 0;       ///< most items seen in one of those rings
    std::size_t queue_capacity = 0;  ///< all those rings'; 0 when chained to its upstream

    [[nodiscard]] std::uint64_t accounted() const noexcept {
        return out + filtered + errored + dropped_on_cancel + late;
    }
    /// Items the stage holds right now (received, not yet accounted for; in_windows of them in
    /// open windows).
    [[nodiscard]] std::uint64_t in_stage() const noexcept { return in - accounted(); }
    [[nodiscard]] bool balanced() const noexcept { return in == accounted(); }
};

struct FlowMetrics {
    std::vector<StageMetrics> stages;

    /// Throws std::out_of_range naming the stage when there is none by that name.
    [[nodiscard]] const StageMetrics& at(std::string_view stage) const;
    /// A stage's rows added up: its own, or those of its replicas (queue_max is the largest).
    /// Throws std::out_of_range when there are none.
    [[nodiscard]] StageMetrics sum(std::string_view stage) const;
    [[nodiscard]] bool balanced() const noexcept;
};

/// A text table, one row per stage.
std::ostream& operator<<(std::ostream& out, const FlowMetrics& metrics);

}  // namespace rill
