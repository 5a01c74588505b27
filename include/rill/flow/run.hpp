#pragma once
// Run: the handle of a started flow. wait() for it, cancel() it (items in flight are
// dropped and counted), or stop() it (drain: sources stop, in-flight items finish, close hooks
// run in reverse order) with a deadline after which the stop becomes a cancel.

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "rill/detail/deadline.hpp"
#include "rill/flow/stage_metrics.hpp"

namespace rill {

namespace detail {
class RunState;
}

enum class RunStatus : std::uint8_t {
    completed,          ///< every source ran dry and every item was handled
    stopped,            ///< stop() or the stop token drained the flow
    cancelled,          ///< cancel(), a stop that missed its deadline, or the runtime went away
    deadline_exceeded,  ///< the start deadline passed: cancelled
};
[[nodiscard]] std::string_view to_string(RunStatus status) noexcept;

struct StartOptions {
    /// When reached, the run is cancelled and ends with RunStatus::deadline_exceeded.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// A stop request drains the flow, like Run::stop() without a deadline.
    std::stop_token stop_token{};
};

/// The first error of a fail-fast stage, rethrown by Run::wait().
class StageError : public std::runtime_error {
  public:
    StageError(std::string stage, std::exception_ptr cause);
    [[nodiscard]] const std::string& stage() const noexcept { return stage_; }
    [[nodiscard]] std::exception_ptr cause() const noexcept { return cause_; }

  private:
    std::string stage_;
    std::exception_ptr cause_;
};

struct StopReport {
    struct InFlight {
        std::string stage;              ///< the metrics row's name (`stage[j]` for a replica)
        std::size_t queued = 0;         ///< in the rings in front of the stage
        std::size_t held_upstream = 0;  ///< held by its producers for lack of room
        std::uint64_t in_stage = 0;     ///< taken by the stage, not yet accounted for
    };
    /// True when the flow drained before the deadline.
    bool drained = false;
    /// When it did not: what each stage still held at the deadline (stages holding nothing are
    /// left out).
    std::vector<InFlight> in_flight;
};

class Run {
  public:
    Run(Run&&) noexcept = default;
    Run& operator=(Run&& other) noexcept;
    /// Cancels the run if it is still going and waits for it (errors are not rethrown here).
    /// A cancel stops the run between batches, not inside user code: a stage stuck in its own
    /// code (a blocking call that never returns) keeps the destructor waiting. Use stop() with a
    /// deadline to learn which stage holds items, and give such calls timeouts of their own.
    ~Run();

    /// Waits for the end of the run. Rethrows a fail-fast stage error as StageError.
    RunStatus wait();
    /// As wait(), but gives up at the deadline: std::nullopt while the run is still going.
    /// wait_for saturates: hours::max() waits as wait() does; a timeout <= 0 only looks.
    std::optional<RunStatus> wait_until(std::chrono::steady_clock::time_point deadline);
    template <class Rep, class Period>
    std::optional<RunStatus> wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(detail::deadline_after(timeout));
    }

    /// Aborts: sources stop, items not yet processed are dropped (and counted), every worker of
    /// the run is woken. Returns at once; wait() for the end.
    void cancel() noexcept;
    /// Drains: sources stop (inlets close), the items already in the flow are processed, close
    /// hooks run. If that takes past `deadline`, reports what each stage still held and cancels
    /// (the cancel, like any, waits for a stage busy in its own code to return: see ~Run).
    /// A timeout too long to represent (hours::max()) waits for the drain however long it takes;
    /// one <= 0 reports and cancels at once unless the run has already ended.
    StopReport stop(std::chrono::steady_clock::time_point deadline);
    template <class Rep, class Period>
    StopReport stop(std::chrono::duration<Rep, Period> timeout) {
        return stop(detail::deadline_after(timeout));
    }

    [[nodiscard]] bool done() const noexcept;
    /// A snapshot, safe to take from any thread while the run goes on.
    [[nodiscard]] FlowMetrics metrics() const;

  private:
    friend class Runtime;
    friend class SignalStop;
    explicit Run(std::shared_ptr<detail::RunState> state) noexcept : state_(std::move(state)) {}
    std::shared_ptr<detail::RunState> state_;
};

}  // namespace rill
