#pragma once
// Waiting for a run that should end by itself, without waiting for ever when it cannot: an item
// lost between two stages leaves a replica or a merge waiting for it, and the run never ends.

#include <cstdint>
#include <optional>
#include <string>

#include "rill/flow/run.hpp"
#include "support/progress_watchdog.hpp"

namespace rill::test {

/// Everything the run's stages have counted so far, added up: it grows while items move.
inline std::uint64_t run_progress(const Run& run) {
    std::uint64_t total = 0;
    for (const StageMetrics& s : run.metrics().stages)
        total += s.in + s.out + s.filtered + s.errored + s.dropped_on_cancel + s.emitted;
    return total;
}

/// Waits for the run's end as Run::wait() does (a fail-fast stage's error is rethrown), under a
/// ProgressWatchdog that reads the run's metrics: when no stage has counted anything for the
/// stall limit, the watchdog cancels the run, and this returns std::nullopt once it has ended.
/// The watchdog's message (on stderr) says so; the run's metrics show where the items stopped.
inline std::optional<RunStatus> wait_watched(Run& run, const std::string& what = "run") {
    const ProgressWatchdog dog(
        what, [&run] { return run_progress(run); }, [&run] { run.cancel(); });
    const RunStatus status = run.wait();
    if (dog.stalled()) return std::nullopt;
    return status;
}

}  // namespace rill::test
