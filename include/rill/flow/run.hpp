#pragma once
// Run: the handle of a started flow. wait() for it, cancel() it (abort: items in flight are
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
        std::string stage;
        std::size_t queued = 0;      ///< in the ring in front of the stage
        std::uint64_t in_stage = 0;  ///< taken by the stage, not yet accounted for
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
    ~Run();

    /// Waits for the end of the run. Rethrows a fail-fast stage error as StageError.
    RunStatus wait();
    /// As wait(), but gives up at the deadline: std::nullopt while the run is still going.
    std::optional<RunStatus> wait_until(std::chrono::steady_clock::time_point deadline);
    template <class Rep, class Period>
    std::optional<RunStatus> wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(std::chrono::steady_clock::now() +
                          std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
    }

    /// Aborts: sources stop, items not yet processed are dropped (and counted), every worker of
    /// the run is woken. Returns at once; wait() for the end.
    void cancel() noexcept;
    /// Drains: sources stop (inlets close), the items already in the flow are processed, close
    /// hooks run. If that takes past `deadline`, reports what each stage still held and cancels.
    StopReport stop(std::chrono::steady_clock::time_point deadline);
    template <class Rep, class Period>
    StopReport stop(std::chrono::duration<Rep, Period> timeout) {
        return stop(std::chrono::steady_clock::now() +
                    std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
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
