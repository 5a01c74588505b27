#include "rill/flow/run.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "rill/detail/assert.hpp"
#include "rill/flow/detail/router.hpp"
#include "rill/flow/detail/run_state.hpp"
#include "rill/flow/detail/tasks.hpp"

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

// ---- RunState ---------------------------------------------------------------------------

namespace detail {

RunState::RunState(Runtime& runtime) : runtime_(&runtime) {}

RunState::~RunState() = default;

void RunState::begin(std::vector<unsigned> workers_used,
                     std::chrono::steady_clock::time_point deadline, std::stop_token stop_token) {
    for (const auto& stage : stages) {
        if (auto* source = dynamic_cast<SourceStageBase*>(stage.get())) {
            if (source->drains_on_stop()) sources_.push_back(source);
        }
    }
    {
        std::lock_guard lock(mutex_);
        workers_ = std::move(workers_used);
        remaining_ = tasks.size();
        tracked_ = true;
    }
    runtime_->track(weak_from_this(), deadline);
    if (stop_token.stop_possible()) on_stop_.emplace(std::move(stop_token), DrainOnStop{this});
}

void RunState::request_drain() noexcept {
    phase_.fetch_or(kDraining);
    close_inputs();
    wake_all();
}

void RunState::request_abort() noexcept {
    phase_.fetch_or(kAborting);
    close_inputs();
    wake_all();
}

void RunState::close_inputs() noexcept {
    // Inlets close at once, from this thread: pushes fail from now on and pushers waiting for
    // room return, even while the source's worker is busy elsewhere.
    for (SourceStageBase* source : sources_)
        source->close_input();
}

void RunState::deadline_expired() noexcept {
    {
        std::lock_guard lock(mutex_);
        if (finished_) return;  // too late to matter: the status is final
        deadline_hit_ = true;
    }
    request_abort();
}

void RunState::abandon_start() noexcept {
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
        status_ = RunStatus::cancelled;
    }
    runtime_->untrack(this);
}

void RunState::fail(std::string_view stage, std::exception_ptr error) noexcept {
    {
        std::lock_guard lock(mutex_);
        if (!error_) {
            error_ = std::move(error);
            try {
                error_stage_ = stage;
            } catch (...) {  // out of memory: keep the error without the name
            }
        }
    }
    request_abort();
}

void RunState::wake_all() noexcept {
    // Under the mutex: while the run is not finished, its tasks keep the runtime alive.
    std::lock_guard lock(mutex_);
    if (finished_) return;
    for (unsigned w : workers_)
        runtime_->wake_handle(w).notify_all();
}

void RunState::task_done() noexcept {
    {
        std::lock_guard lock(mutex_);
        if (--remaining_ != 0) return;
        // The status is decided here, once: requests that come after the end change nothing.
        const unsigned phase = this->phase();
        status_ = deadline_hit_              ? RunStatus::deadline_exceeded
                  : (phase & kAborting) != 0 ? RunStatus::cancelled
                  : (phase & kDraining) != 0 ? RunStatus::stopped
                                             : RunStatus::completed;
        finished_ = true;
    }
    done_cv_.notify_all();
    // The worker calling this keeps the runtime alive until it returns.
    runtime_->untrack(this);
}

bool RunState::wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (deadline == std::chrono::steady_clock::time_point::max()) {
        done_cv_.wait(lock, [&] { return finished_; });
        return true;
    }
    return done_cv_.wait_until(lock, deadline, [&] { return finished_; });
}

bool RunState::finished() const noexcept {
    std::lock_guard lock(mutex_);
    return finished_;
}

RunStatus RunState::status() const noexcept {
    std::lock_guard lock(mutex_);
    return status_;
}

void RunState::rethrow_error() const {
    std::lock_guard lock(mutex_);
    if (error_) throw StageError(error_stage_, error_);
}

FlowMetrics RunState::metrics() const {
    FlowMetrics m;
    m.stages.reserve(stages.size());
    for (const auto& s : stages) {
        const StageCounters& c = s->counters;
        StageMetrics x;
        x.name = s->name;
        x.worker = s->worker;
        // acquire: pairs with the release stores in bump(). The outcomes are read before `in`,
        // so in >= accounted() holds for every snapshot.
        x.out = c.out.load(std::memory_order_acquire);
        x.filtered = c.filtered.load(std::memory_order_acquire);         // acquire: as above
        x.errored = c.errored.load(std::memory_order_acquire);           // acquire: as above
        x.dropped_on_abort = c.dropped.load(std::memory_order_acquire);  // acquire: as above
        // relaxed: statistics with no ordering against the rest.
        x.emitted = c.emitted.load(std::memory_order_relaxed);
        x.queue_max = c.queue_max.load(std::memory_order_relaxed);
        x.in = c.in.load(std::memory_order_acquire);  // acquire: see above
        if (!s->inputs.empty()) {
            std::size_t depth = 0;
            for (const EdgeBase* input : s->inputs) {
                depth += input->depth();
                x.queue_capacity += input->capacity();
            }
            // Items the stage has peeked but not yet released are in its hands, not queued.
            // relaxed: `taken` is a statistic, as queue_max above.
            const auto taken = static_cast<std::size_t>(c.taken.load(std::memory_order_relaxed));
            x.queue_depth = depth > taken ? depth - taken : 0;
        }
        m.stages.push_back(std::move(x));
    }
    return m;
}

}  // namespace detail

// ---- Run ----------------------------------------------------------------------------------

namespace {
detail::RunState& checked(const std::shared_ptr<detail::RunState>& state, const char* what) {
    if (!state) throw std::logic_error(std::string("rill::Run::") + what + ": used after move");
    return *state;
}

/// Waiting on a worker thread would wait for the worker itself.
detail::RunState& checked_wait(const std::shared_ptr<detail::RunState>& state, const char* what) {
    if (detail::on_worker_thread()) {
        throw std::logic_error(std::string("rill::Run::") + what +
                               " called from a stage on a worker thread: it would wait for "
                               "its own worker; use cancel() there");
    }
    return checked(state, what);
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
    if (detail::on_worker_thread()) {
        detail::fatal(
            "rill::Run destroyed on a worker thread while the run is going: it would "
            "wait for its own worker");
    }
    state_->request_abort();
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
    if (state_) state_->request_abort();
}

StopReport Run::stop(std::chrono::steady_clock::time_point deadline) {
    detail::RunState& s = checked_wait(state_, "stop");
    s.request_drain();
    StopReport report;
    if (s.wait_until(deadline)) {
        // Drained only if it ended by draining (or ran dry), not by a cancel or an error.
        const RunStatus status = s.status();
        report.drained = status == RunStatus::stopped || status == RunStatus::completed;
        return report;
    }
    for (const StageMetrics& m : s.metrics().stages) {
        if (m.queue_depth != 0 || m.in_stage() != 0) {
            report.in_flight.push_back({m.name, m.queue_depth, m.in_stage()});
        }
    }
    s.request_abort();
    return report;
}

bool Run::done() const noexcept {
    return state_ && state_->finished();
}

FlowMetrics Run::metrics() const {
    return checked(state_, "metrics").metrics();
}

// ---- metrics ---------------------------------------------------------------------------

const StageMetrics& FlowMetrics::at(std::string_view stage) const {
    for (const StageMetrics& m : stages) {
        if (m.name == stage) return m;
    }
    throw std::out_of_range("rill::FlowMetrics: no stage named '" + std::string(stage) + "'");
}

StageMetrics FlowMetrics::sum(std::string_view stage) const {
    const auto is_replica = [&](const std::string& name) {
        return name.size() > stage.size() + 2 && name.compare(0, stage.size(), stage) == 0 &&
               name[stage.size()] == '[' && name.back() == ']' &&
               name.find_first_not_of("0123456789", stage.size() + 1) == name.size() - 1;
    };
    StageMetrics total;
    total.name = stage;
    bool found = false;
    for (const StageMetrics& m : stages) {
        if (m.name != stage && !is_replica(m.name)) continue;
        if (!found) total.worker = m.worker;
        found = true;
        total.in += m.in;
        total.out += m.out;
        total.filtered += m.filtered;
        total.errored += m.errored;
        total.dropped_on_abort += m.dropped_on_abort;
        total.emitted += m.emitted;
        total.queue_depth += m.queue_depth;
        total.queue_max = std::max(total.queue_max, m.queue_max);
        total.queue_capacity += m.queue_capacity;
    }
    if (!found) {
        throw std::out_of_range("rill::FlowMetrics: no stage named '" + std::string(stage) +
                                "' or '" + std::string(stage) + "[j]'");
    }
    return total;
}

bool FlowMetrics::balanced() const noexcept {
    for (const StageMetrics& m : stages) {
        if (!m.balanced()) return false;
    }
    return true;
}

std::ostream& operator<<(std::ostream& out, const FlowMetrics& metrics) {
    std::size_t width = 5;
    for (const StageMetrics& m : metrics.stages)
        width = std::max(width, m.name.size());
    std::ostringstream t;
    t << std::left << std::setw(static_cast<int>(width)) << "stage" << std::right << " w"
      << std::setw(12) << "in" << std::setw(12) << "out" << std::setw(10) << "filtered"
      << std::setw(9) << "errored" << std::setw(9) << "dropped" << std::setw(12) << "emitted"
      << std::setw(8) << "queue" << std::setw(8) << "max" << std::setw(8) << "cap" << '\n';
    for (const StageMetrics& m : metrics.stages) {
        t << std::left << std::setw(static_cast<int>(width)) << m.name << std::right << std::setw(2)
          << m.worker << std::setw(12) << m.in << std::setw(12) << m.out << std::setw(10)
          << m.filtered << std::setw(9) << m.errored << std::setw(9) << m.dropped_on_abort
          << std::setw(12) << m.emitted << std::setw(8) << m.queue_depth << std::setw(8)
          << m.queue_max << std::setw(8) << m.queue_capacity << '\n';
    }
    return out << t.str();
}

}  // namespace rill
