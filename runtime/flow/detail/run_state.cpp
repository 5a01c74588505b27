// RunState: the phase, first error, remaining tasks and status of one run.

#include "rill/flow/detail/run_state.hpp"

#include <stdexcept>

#include "rill/flow/detail/router.hpp"
#include "rill/flow/detail/tasks.hpp"

namespace rill::detail {

RunState::RunState(Runtime& runtime) : runtime_(&runtime) {}

RunState::~RunState() = default;

void RunState::begin(std::vector<unsigned> workers_used,
                     std::chrono::steady_clock::time_point deadline, std::stop_token stop_token) {
    for (const auto& stage : stages) {
        if (auto* source = dynamic_cast<SourceStageBase*>(stage.get())) {
            if (source->delivers_accepted_on_stop()) sources_.push_back(source);
        }
    }
    {
        std::lock_guard lock(mutex_);
        workers_ = std::move(workers_used);
        remaining_ = tasks.size();
        tracked_ = true;
    }
    RuntimeAccess::track(*runtime_, weak_from_this(), deadline);
    if (stop_token.stop_possible()) on_stop_.emplace(std::move(stop_token), DrainOnStop{this});
}

void RunState::request_stop() noexcept {
    phase_.fetch_or(kStopping);
    close_inputs();
    wake_all();
}

void RunState::request_cancel() noexcept {
    phase_.fetch_or(kCancelling);
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
    request_cancel();
}

void RunState::abandon_start() noexcept {
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
        status_ = RunStatus::cancelled;
    }
    RuntimeAccess::untrack(*runtime_, this);
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
    request_cancel();
}

void RunState::wake_all() noexcept {
    // Under the mutex: while the run is not finished, its tasks keep the runtime alive.
    std::lock_guard lock(mutex_);
    if (finished_) return;
    for (unsigned w : workers_)
        RuntimeAccess::wake_handle(*runtime_, w).notify_all();
}

void RunState::task_done() noexcept {
    {
        std::lock_guard lock(mutex_);
        if (remaining_ != 1) {
            --remaining_;
            return;
        }
    }
    // The last task: every other one is done, so no stage runs any more.
    for (const auto& stage : stages)
        stage->run_ended();
    {
        std::lock_guard lock(mutex_);
        --remaining_;
        // The status is decided here, once: requests that come after the end change nothing.
        const unsigned phase = this->phase();
        status_ = deadline_hit_                ? RunStatus::deadline_exceeded
                  : (phase & kCancelling) != 0 ? RunStatus::cancelled
                  : (phase & kStopping) != 0   ? RunStatus::stopped
                                               : RunStatus::completed;
        finished_ = true;
    }
    done_cv_.notify_all();
    // The worker calling this keeps the runtime alive until it returns.
    RuntimeAccess::untrack(*runtime_, this);
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
        x.stage = s->stage;
        x.replica = s->replica;
        x.replicas = s->replicas;
        x.worker = s->worker;
        // acquire: pairs with the release stores in bump(). The outcomes are read before `in`,
        // so in >= accounted() holds for every snapshot.
        x.out = c.out.load(std::memory_order_acquire);
        x.filtered = c.filtered.load(std::memory_order_acquire);          // acquire: as above
        x.errored = c.errored.load(std::memory_order_acquire);            // acquire: as above
        x.dropped_on_cancel = c.dropped.load(std::memory_order_acquire);  // acquire: as above
        x.late = c.late.load(std::memory_order_acquire);                  // acquire: as above
        // relaxed: statistics with no ordering against the rest.
        x.emitted = c.emitted.load(std::memory_order_relaxed);
        x.queue_max = c.queue_max.load(std::memory_order_relaxed);
        x.in_windows = c.in_windows.load(std::memory_order_relaxed);  // relaxed: as above
        x.in = c.in.load(std::memory_order_acquire);                  // acquire: see above
        if (!s->inputs.empty()) {
            std::size_t depth = 0;
            for (const EdgeBase* input : s->inputs) {
                depth += input->depth();
                x.held_upstream += input->overflow();
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

}  // namespace rill::detail
