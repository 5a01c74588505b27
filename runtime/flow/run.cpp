#include "rill/flow/run.hpp"

#include <stdexcept>

#include "rill/detail/assert.hpp"
#include "rill/flow/detail/run_state.hpp"

namespace rill {
namespace {

std::string describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception not derived from std::exception";
    }
}

}  // namespace

std::string_view to_string(RunStatus status) noexcept {
    switch (status) {
        case RunStatus::completed:
            return "completed";
        case RunStatus::stopped:
            return "stopped";
        case RunStatus::cancelled:
            return "cancelled";
        case RunStatus::deadline_exceeded:
            return "deadline exceeded";
    }
    return "unknown";
}

StageError::StageError(std::string stage, std::exception_ptr cause)
    : std::runtime_error("rill: stage '" + stage + "' failed: " + describe(cause)),
      stage_(std::move(stage)),
      cause_(std::move(cause)) {}

namespace {
detail::RunState& checked(const std::shared_ptr<detail::RunState>& state, const char* what) {
    if (!state) throw std::logic_error(std::string("rill::Run::") + what + ": used after move");
    return *state;
}

/// Waiting on a worker of the run's own runtime could wait for that worker itself.
detail::RunState& checked_wait(const std::shared_ptr<detail::RunState>& state, const char* what) {
    detail::RunState& s = checked(state, what);
    if (detail::on_worker_of(s.runtime())) {
        throw std::logic_error(std::string("rill::Run::") + what +
                               " called on a worker thread of the run's own runtime: it could "
                               "wait for its own worker; use cancel() there");
    }
    return s;
}
}  // namespace

Run& Run::operator=(Run&& other) noexcept {
    if (this != &other) {
        Run old(std::move(*this));
        state_ = std::move(other.state_);
    }
    return *this;
}

Run::~Run() {
    if (!state_ || state_->finished()) return;
    if (detail::on_worker_of(state_->runtime())) {
        detail::fatal(
            "rill::Run destroyed on a worker thread of its own runtime while the run is going: "
            "it could wait for its own worker");
    }
    state_->request_cancel();
    state_->wait_until(std::chrono::steady_clock::time_point::max());
}

RunStatus Run::wait() {
    detail::RunState& s = checked_wait(state_, "wait");
    s.wait_until(std::chrono::steady_clock::time_point::max());
    s.rethrow_error();
    return s.status();
}

std::optional<RunStatus> Run::wait_until(std::chrono::steady_clock::time_point deadline) {
    detail::RunState& s = checked_wait(state_, "wait_until");
    if (!s.wait_until(deadline)) return std::nullopt;
    s.rethrow_error();
    return s.status();
}

void Run::cancel() noexcept {
    if (state_) state_->request_cancel();
}

StopReport Run::stop(std::chrono::steady_clock::time_point deadline) {
    detail::RunState& s = checked_wait(state_, "stop");
    s.request_stop();
    StopReport report;
    if (s.wait_until(deadline)) {
        // Drained only if it ended by draining (or ran dry), not by a cancel or an error.
        const RunStatus status = s.status();
        report.drained = status == RunStatus::stopped || status == RunStatus::completed;
        return report;
    }
    for (const StageMetrics& m : s.metrics().stages) {
        if (m.queue_depth != 0 || m.held_upstream != 0 || m.in_stage() != 0) {
            report.in_flight.push_back({m.name, m.queue_depth, m.held_upstream, m.in_stage()});
        }
    }
    s.request_cancel();
    return report;
}

bool Run::done() const noexcept {
    return state_ && state_->finished();
}

FlowMetrics Run::metrics() const {
    return checked(state_, "metrics").metrics();
}

}  // namespace rill
