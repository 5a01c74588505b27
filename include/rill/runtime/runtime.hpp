#pragma once
// Runtime: W worker threads, each pinned to one CPU and named "rill/w<i>", that run tasks.
// A worker round-robins over its tasks; when none made progress it waits by its WaitPolicy:
// spin, then yield, then park on its EventCount until a peer notifies it or its next timer.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "rill/runtime/runtime_options.hpp"
#include "rill/runtime/task.hpp"
#include "rill/wait/event_count.hpp"

namespace rill {

class Flow;
class Run;
struct StartOptions;

namespace detail {
/// True on a worker thread of any Runtime: there, waiting for a run would wait for itself.
[[nodiscard]] bool on_worker_thread() noexcept;

/// What the runtime needs of a running flow: to cancel it and to fire its deadline.
class RunControl {
  public:
    virtual ~RunControl() = default;
    virtual void cancel_from_runtime() noexcept = 0;
    virtual void deadline_expired() noexcept = 0;
};
}  // namespace detail

/// A worker's waiting, counted by the worker itself and readable from any thread.
struct WorkerStats {
    unsigned worker = 0;
    int cpu = -1;  ///< -1: not pinned
    std::uint64_t tasks = 0;
    std::uint64_t spins = 0;
    std::uint64_t yields = 0;
    std::uint64_t parks = 0;
};

class Runtime {
  public:
    /// Starts the workers. Throws std::invalid_argument naming the option, what was asked and
    /// what the machine has (zero workers, an empty or unavailable CPU set, more workers than
    /// CPUs without allow_oversubscription), std::system_error if a thread cannot start.
    explicit Runtime(RuntimeOptions options = {});
    /// Cancels the runs still going, waits for their tasks and joins the workers.
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] unsigned workers() const noexcept;
    /// CPU of each worker (-1 where not pinned).
    [[nodiscard]] const std::vector<int>& cpus() const noexcept;
    [[nodiscard]] const RuntimeOptions& options() const noexcept;
    [[nodiscard]] WorkerStats worker_stats(unsigned worker) const;

    /// Starts a flow (its stages are copied; the Flow may be started again or destroyed).
    /// Throws std::invalid_argument for a flow that cannot run (see Flow) or a stage placed on
    /// a worker that does not exist.
    [[nodiscard]] Run start(const Flow& flow);
    [[nodiscard]] Run start(const Flow& flow, StartOptions options);

    // ---- for code that builds its own tasks (the flow layer uses these) ----------------------

    /// Hands `task` to `worker`; `keep_alive` owns it and is released after its last step.
    void submit(unsigned worker, Task& task, std::shared_ptr<void> keep_alive);
    /// The EventCount that `worker` parks on: notify it after making one of its tasks ready.
    [[nodiscard]] EventCount& wake_handle(unsigned worker);
    /// The same EventCount, owned: it stays valid after the runtime is gone.
    [[nodiscard]] std::shared_ptr<EventCount> wake_owner(unsigned worker);
    /// Hands tasks to workers, all or none: throws (std::bad_alloc) before handing any over.
    struct Placement {
        unsigned worker;
        Task* task;
    };
    void submit_all(const std::vector<Placement>& tasks, const std::shared_ptr<void>& keep_alive);
    /// Registers a run so that ~Runtime can cancel it, and fires its deadline, if any.
    void track(std::weak_ptr<detail::RunControl> run,
               std::chrono::steady_clock::time_point deadline);
    /// Says that a run no longer needs the runtime (its tasks are done).
    void untrack(const detail::RunControl* run) noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rill
