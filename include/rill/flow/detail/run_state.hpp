#pragma once
// RunState: what the tasks of one run share: the phase (running, stopping, cancelling), the first
// error, the count of tasks still going, and the stages, edges and tasks themselves.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "rill/flow/run.hpp"
#include "rill/runtime/detail/runtime_access.hpp"
#include "rill/runtime/runtime.hpp"

namespace rill::detail {

class StageBase;
class SourceStageBase;
class EdgeBase;
class FlowTask;
class RouterBase;

class RunState final : public RunControl, public std::enable_shared_from_this<RunState> {
  public:
    static constexpr unsigned kStopping = 1;
    static constexpr unsigned kCancelling = 2;

    explicit RunState(Runtime& runtime);
    [[nodiscard]] Runtime& runtime() const noexcept { return *runtime_; }
    ~RunState() override;

    /// Read by every task once per step.
    [[nodiscard]] unsigned phase() const noexcept {
        // acquire: pairs with the fetch_or in request_*(); a task that sees the bit also sees
        // what the requester wrote before (the error, the reason).
        return phase_.load(std::memory_order_acquire);
    }
    void request_stop() noexcept;
    void request_cancel() noexcept;
    /// Records a stage's exception (the first one wins) and cancels the run.
    void fail(std::string_view stage, std::exception_ptr error) noexcept;
    /// Called by each task after its last step's work.
    void task_done() noexcept;
    /// Runtime::start failed before handing any task over: the run ends as cancelled.
    void abandon_start() noexcept;

    // RunControl
    void cancel_from_runtime() noexcept override { request_cancel(); }
    void deadline_expired() noexcept override;

    /// Waits for the end; false at the deadline. Then status() and rethrow_error().
    bool wait_until(std::chrono::steady_clock::time_point deadline);
    [[nodiscard]] bool finished() const noexcept;
    [[nodiscard]] RunStatus status() const noexcept;
    void rethrow_error() const;
    [[nodiscard]] FlowMetrics metrics() const;

    /// Called by Runtime::start once the tasks are built, before any is submitted.
    void begin(std::vector<unsigned> workers_used, std::chrono::steady_clock::time_point deadline,
               std::stop_token stop_token);

    std::vector<std::unique_ptr<StageBase>> stages;
    std::vector<std::unique_ptr<EdgeBase>> edges;
    std::vector<std::unique_ptr<FlowTask>> tasks;
    std::vector<std::unique_ptr<RouterBase>> routers;

  private:
    struct DrainOnStop {
        RunState* state;
        void operator()() const noexcept { state->request_stop(); }
    };

    void wake_all() noexcept;
    void close_inputs() noexcept;

    Runtime* runtime_;
    std::atomic<unsigned> phase_{0};
    std::vector<SourceStageBase*> sources_;  // inlets, closed by stop and cancel requests

    mutable std::mutex mutex_;  // guards everything below
    std::condition_variable done_cv_;
    std::vector<unsigned> workers_;
    std::size_t remaining_ = 0;
    bool finished_ = false;
    bool deadline_hit_ = false;
    RunStatus status_ = RunStatus::completed;  // final once finished_
    bool tracked_ = false;
    std::string error_stage_;
    std::exception_ptr error_;
    std::optional<std::stop_callback<DrainOnStop>> on_stop_;
};

}  // namespace rill::detail
