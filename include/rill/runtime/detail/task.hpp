#pragma once
// Task: the unit a worker runs. A task never blocks: each step does at most one batch of work
// and says whether it made progress, found nothing to do, or has finished. Internal: the flow
// layer's tasks (flow/detail/tasks.hpp) are the only ones; they reach workers through
// RuntimeAccess (runtime_access.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rill/wait/wait_policy.hpp"

namespace rill::detail {

enum class StepResult : std::uint8_t {
    idle,      ///< nothing to do now; the worker may wait until notified or until next_timer()
    progress,  ///< did some work; step again soon
    done,      ///< finished for good; the worker drops the task
};

class Task {
  public:
    using Clock = std::chrono::steady_clock;

    Task() = default;
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    virtual ~Task() = default;

    /// Runs on the task's worker thread only.
    [[nodiscard]] virtual StepResult step() noexcept = 0;
    /// When an idle task wants to be stepped again without a notification, on the runtime's
    /// rill::Clock (whose time points are steady_clock's type; the worker turns them into a
    /// steady deadline with Clock::park_until).
    [[nodiscard]] virtual Clock::time_point next_timer() const noexcept {
        return Clock::time_point::max();
    }
    /// The tasks whose output this one reads: a task that waits for room downstream is never
    /// helped by stepping one of these (see help.hpp).
    [[nodiscard]] virtual std::size_t upstream_count() const noexcept { return 0; }
    [[nodiscard]] virtual const Task* upstream(std::size_t i) const noexcept {
        static_cast<void>(i);
        return nullptr;
    }
    /// Hands over the outputs of the step under way that are written but not yet published, so
    /// that the task can wait in the middle of its step without holding them back (help.hpp).
    virtual void publish_pending() noexcept {}
    /// The wait policy this task asks of its worker, if any.
    [[nodiscard]] virtual std::optional<WaitPolicy> wait_policy() const noexcept {
        return std::nullopt;
    }
};

}  // namespace rill::detail
