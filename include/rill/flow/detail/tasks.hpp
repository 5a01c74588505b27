#pragma once
// The tasks of a flow. A task is a chain of stages run by direct calls: a head (a source, or a
// stage reading the ring from the upstream task) and the stages chained after it. Its last
// stage's emitter writes into the ring of the downstream task, if any.
//
// Life of a task: open hooks (in chain order) -> running -> flushing the overflow -> closing
// its output edge -> waiting until the downstream task has run its close hooks -> close hooks
// (reverse chain order) -> telling the upstream task -> done. So close hooks run in reverse
// topological order across the whole flow, each on its stage's worker.

#include <atomic>
#include <optional>
#include <vector>

#include "rill/flow/detail/stage_base.hpp"
#include "rill/runtime/task.hpp"

namespace rill::detail {

class FlowTask : public Task {
  public:
    [[nodiscard]] StepResult step() noexcept final {
        switch (phase_) {
            case Phase::opening:
                open_stages();
                phase_ = Phase::running;
                return StepResult::progress;
            case Phase::running: {
                // Outputs held for lack of room go first: no new input until they are out.
                bool moved = false;
                if (!flush_tail(moved)) return moved ? StepResult::progress : StepResult::idle;
                const StepResult r = pump();
                if (r != StepResult::done) return moved ? StepResult::progress : r;
                phase_ = Phase::flushing;
                [[fallthrough]];
            }
            case Phase::flushing: {
                bool moved = false;
                if (!flush_tail(moved)) return moved ? StepResult::progress : StepResult::idle;
                if (out_edge != nullptr) out_edge->close();
                phase_ = Phase::closing;
                [[fallthrough]];
            }
            case Phase::closing:
                // acquire: pairs with the release in downstream_closed(); the downstream's close
                // hooks are done.
                if (downstream_open.load(std::memory_order_acquire) != 0) return StepResult::idle;
                close_stages();
                if (upstream != nullptr) upstream->downstream_closed();
                phase_ = Phase::done;
                run->task_done();  // may be the run's last act: touch nothing after it
                return StepResult::done;
            case Phase::done:
                break;
        }
        return StepResult::done;
    }

    [[nodiscard]] std::optional<WaitPolicy> wait_policy() const noexcept final {
        for (const StageBase* s : chain) {
            if (s->wait) return s->wait;
        }
        return std::nullopt;
    }

    /// Called from the downstream task's worker once its close hooks have run.
    void downstream_closed() noexcept {
        // release: pairs with the acquire in step(); publishes the downstream's close hooks.
        downstream_open.fetch_sub(1, std::memory_order_release);
        if (wake->has_waiters()) wake->notify_one();
    }

    // Wired by Runtime::start.
    RunState* run = nullptr;
    std::vector<StageBase*> chain;   // head first
    EmitterControl* tail = nullptr;  // the last stage's emitter when it writes to a ring
    EdgeBase* out_edge = nullptr;    // that ring
    FlowTask* upstream = nullptr;    // the task writing the ring this one reads
    std::atomic<int> downstream_open{0};
    std::shared_ptr<EventCount> wake_owner;  // this task's worker's
    EventCount* wake = nullptr;              // the same, for the hot path
    unsigned worker = 0;

  protected:
    /// One batch of input through the chain. `done` once the input is exhausted.
    [[nodiscard]] virtual StepResult pump() noexcept = 0;

  private:
    enum class Phase : std::uint8_t { opening, running, flushing, closing, done };

    /// Moves the tail's overflow into its ring; false while some is left.
    bool flush_tail(bool& moved) noexcept {
        if (tail == nullptr || !tail->has_overflow()) return true;
        moved = tail->drain_overflow();
        return !tail->has_overflow();
    }

    void open_stages() noexcept {
        for (StageBase* s : chain) {
            StageContext context(s->name, worker, wake_owner);
            try {
                s->open(context);
                s->opened = true;
            } catch (...) {
                // A stage that cannot open cannot run, whatever its error policy.
                run->fail(s->name, std::current_exception());
                return;
            }
        }
    }
    void close_stages() noexcept {
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            if (!(*it)->opened) continue;
            try {
                (*it)->close();
            } catch (...) {
                run->fail((*it)->name, std::current_exception());
            }
        }
    }

    Phase phase_ = Phase::opening;
};

class SourceTask final : public FlowTask {
  public:
    explicit SourceTask(SourceStageBase& source) : source_(source) {}

    [[nodiscard]] Clock::time_point next_timer() const noexcept override {
        if (!last_idle_ || source_.poll_interval.count() == 0) return Clock::time_point::max();
        return Clock::now() + source_.poll_interval;
    }

  protected:
    [[nodiscard]] StepResult pump() noexcept override {
        const unsigned phase = run->phase();
        if (phase & RunState::kAborting) {
            source_.abandon();
            return StepResult::done;
        }
        // An inlet was closed by the stop request itself and drains what it accepted.
        if ((phase & RunState::kDraining) && !source_.drains_on_stop()) return StepResult::done;
        switch (source_.pull()) {
            case SourceStatus::more:
                last_idle_ = false;
                return StepResult::progress;
            case SourceStatus::idle:
                last_idle_ = true;
                return StepResult::idle;
            case SourceStatus::done:
                break;
        }
        return StepResult::done;
    }

  private:
    SourceStageBase& source_;
    bool last_idle_ = false;
};

template <class In>
class RingTask final : public FlowTask {
  public:
    RingTask(Edge<In>& input, StageBase& head_stage, Consumer<In>& head)
        : input_(input), head_stage_(head_stage), head_(head) {}

  protected:
    [[nodiscard]] StepResult pump() noexcept override {
        SpscRing<In>& ring = input_.ring;
        RingSpans<In> items = ring.peek(head_stage_.batch);
        if (items.empty()) {
            if (!input_.closed()) return StepResult::idle;
            items = ring.peek(head_stage_.batch);  // what was published before the close
            if (items.empty()) return StepResult::done;
        }
        const std::size_t n = items.size();
        note_depth();
        if (run->phase() & RunState::kAborting) {
            head_stage_.drop(n);
        } else {
            // relaxed: read only by metrics snapshots, so that items in the stage's hands are
            // not also counted as queued.
            head_stage_.counters.taken.store(n, std::memory_order_relaxed);
            head_.consume(items.first);
            if (!items.second.empty()) head_.consume(items.second);
            head_stage_.counters.taken.store(0, std::memory_order_relaxed);  // relaxed: as above
        }
        ring.release(n);
        input_.wake_producer();
        return StepResult::progress;
    }

  private:
    void note_depth() noexcept {
        const std::size_t depth = input_.ring.size_approx();
        if (depth > max_depth_) {
            max_depth_ = depth;
            // relaxed: single writer, see StageCounters.
            head_stage_.counters.queue_max.store(depth, std::memory_order_relaxed);
        }
    }

    Edge<In>& input_;
    StageBase& head_stage_;
    Consumer<In>& head_;
    std::size_t max_depth_ = 0;
};

}  // namespace rill::detail
