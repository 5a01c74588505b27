#pragma once
// SignalStop: maps SIGINT/SIGTERM to a graceful Run::stop() for as long as it lives.
//
//   rill::Run run = runtime.start(flow);
//   rill::SignalStop on_signal(run, std::chrono::seconds(5));
//   run.wait();  // after Ctrl-C: drained (or cancelled if draining took over 5 s)
//
// The handler only posts a semaphore (async-signal-safe); a helper thread does the stop. One
// SignalStop may exist at a time in a process; the previous handlers come back when it dies.

#include <chrono>
#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include "rill/flow/run.hpp"

namespace rill {

class SignalStop {
  public:
    /// Throws std::logic_error if another SignalStop is alive, std::invalid_argument for an empty
    /// or invalid signal list, std::system_error if a handler cannot be installed.
    explicit SignalStop(Run& run, std::chrono::milliseconds drain_timeout = std::chrono::seconds(5),
                        std::vector<int> signals = {SIGINT, SIGTERM});
    ~SignalStop();
    SignalStop(const SignalStop&) = delete;
    SignalStop& operator=(const SignalStop&) = delete;

    /// The signal that stopped the run, or 0.
    [[nodiscard]] int received() const noexcept;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace rill
