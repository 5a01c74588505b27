#pragma once
// Runtime: W worker threads, each pinned to one CPU and named "rill/w<i>", that run tasks.
// A worker round-robins over its tasks; when none made progress it waits by its WaitPolicy:
// spin, then yield, then park on its EventCount until a peer notifies it or its next timer.

#include <cstdint>
#include <memory>
#include <vector>

#include "rill/runtime/runtime_options.hpp"

namespace rill {

class Flow;
class Run;
struct StartOptions;

namespace detail {
struct RuntimeAccess;
}  // namespace detail

/// A worker's waiting, counted by the worker itself and readable from any thread.
struct WorkerStats {
    unsigned worker = 0;
    int cpu = -1;  ///< -1: not pinned
    std::uint64_t tasks = 0;
    std::uint64_t spins = 0;
    std::uint64_t yields = 0;
    std::uint64_t parks = 0;
    bool parked = false;  ///< waiting on its EventCount at some moment during the call
};

class Runtime {
  public:
    /// Starts the workers. Throws std::invalid_argument naming the option, what was asked and
    /// what the machine has (zero workers, an empty or unavailable CPU set, more workers than
    /// CPUs without allow_oversubscription), std::system_error if a thread cannot start.
    explicit Runtime(RuntimeOptions options = {});
    /// Cancels the runs still going, waits for their tasks and joins the workers. Not on one of
    /// this runtime's own workers (that aborts with a message: a thread cannot join itself); on
    /// another runtime's worker (a stage's close() hook, say) it is fine.
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] unsigned workers() const noexcept;
    /// CPU of each worker (-1 where not pinned).
    [[nodiscard]] const std::vector<int>& cpus() const noexcept;
    [[nodiscard]] const RuntimeOptions& options() const noexcept;
    [[nodiscard]] WorkerStats worker_stats(unsigned worker) const;

    /// Starts a flow. Its stages are copied, once per replica, so the Flow may be destroyed, or
    /// started again (several runs at once included) unless it has an inlet or a service: those
    /// feed one run, and a second start throws std::logic_error. Stage objects of two live runs
    /// are separate copies, but what they capture by reference is shared: two live runs writing
    /// one captured variable race on it. Throws std::invalid_argument for a flow that cannot run
    /// (see Flow) or a stage placed on a worker that does not exist.
    [[nodiscard]] Run start(const Flow& flow);
    [[nodiscard]] Run start(const Flow& flow, StartOptions options);

  private:
    friend struct detail::RuntimeAccess;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rill
