#pragma once
// RuntimeOptions: how many worker threads a Runtime starts, where they run and how they wait.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rill/time/clock.hpp"
#include "rill/wait/wait_policy.hpp"

namespace rill {

struct RuntimeOptions {
    /// Worker threads. Default: one per CPU in `cpus`.
    std::optional<unsigned> workers{};
    /// CPUs the workers are pinned to, worker i on cpus[i % size]. Default: the process's
    /// affinity mask. Every CPU must be in that mask.
    std::optional<std::vector<int>> cpus{};
    /// Allows more workers than CPUs (they then share cores).
    bool allow_oversubscription = false;
    /// Pin each worker to its CPU. Off: workers float over the CPUs.
    bool pin = true;
    /// How an idle worker waits; a stage's own `wait` option overrides it on its worker.
    WaitPolicy wait = WaitPolicy::spin_park();
    /// Thread names are "<name>/w<index>" (15 characters at most, as Linux allows).
    std::string name = "rill";
    /// The time of stage timers, poll_interval and StageContext::now(). Default (null): a
    /// SteadyClock. A ManualClock makes tests of timers deterministic; one clock may serve
    /// several runtimes.
    std::shared_ptr<Clock> clock{};

    static constexpr unsigned kMaxWorkers = 1024;
};

}  // namespace rill
