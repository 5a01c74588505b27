#pragma once
// What the flow layer needs of a Runtime to run a flow's tasks: handing tasks to workers, the
// workers' EventCounts, and the registry of live runs (so that ~Runtime can cancel them and run
// deadlines fire). Internal: applications use Runtime::start.

#include <chrono>
#include <memory>
#include <vector>

#include "rill/runtime/detail/task.hpp"
#include "rill/runtime/runtime.hpp"
#include "rill/wait/event_count.hpp"

namespace rill::detail {

/// True on a worker thread of any Runtime.
[[nodiscard]] bool on_worker_thread() noexcept;
/// True on a worker thread of `runtime`: there, waiting for one of its runs would wait for the
/// worker itself.
[[nodiscard]] bool on_worker_of(const Runtime& runtime) noexcept;

/// What the runtime needs of a running flow: to cancel it and to fire its deadline.
class RunControl {
  public:
    virtual ~RunControl() = default;
    virtual void cancel_from_runtime() noexcept = 0;
    virtual void deadline_expired() noexcept = 0;
};

struct RuntimeAccess {
    struct Placement {
        unsigned worker;
        Task* task;
    };

    /// Hands tasks to workers, all or none: throws (std::bad_alloc) before handing any over.
    /// `keep_alive` owns them and is released after each one's last step.
    static void submit_all(Runtime& runtime, const std::vector<Placement>& tasks,
                           const std::shared_ptr<void>& keep_alive);
    /// The EventCount that `worker` parks on: notify it after making one of its tasks ready.
    [[nodiscard]] static EventCount& wake_handle(Runtime& runtime, unsigned worker);
    /// The same EventCount, owned: it stays valid after the runtime is gone.
    [[nodiscard]] static std::shared_ptr<EventCount> wake_owner(Runtime& runtime, unsigned worker);
    /// Registers a run so that ~Runtime can cancel it, and fires its deadline, if any.
    static void track(Runtime& runtime, std::weak_ptr<RunControl> run,
                      std::chrono::steady_clock::time_point deadline);
    /// Says that a run no longer needs the runtime (its tasks are done).
    static void untrack(Runtime& runtime, const RunControl* run) noexcept;
};

/// Tests only: called by a worker each time a pass over its tasks found nothing to do, before it
/// decides to exit or to wait. Null (the default) costs one load on that path.
using WorkerIdleHook = void (*)();
void set_worker_idle_hook(WorkerIdleHook hook) noexcept;

}  // namespace rill::detail
