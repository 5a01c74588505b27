#pragma once
// The tasks of a flow. A task is a tree of stages run by direct calls: a head (a source, a stage
// reading the ring from the upstream task, or a stage reading several rings: fan_in_task.hpp)
// and the stages and routers chained after it. The emitters among them that write into rings
// to other tasks are the task's tails.
//
// Life of a task: open hooks (in stage order) -> running -> flushing the tails' overflow ->
// closing its output edges -> waiting until every downstream task has run its close hooks ->
// close hooks (reverse stage order) -> telling its upstream tasks -> done. So close hooks run in
// reverse topological order across the whole flow, each on its stage's worker.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "rill/detail/assert.hpp"
#include "rill/detail/deadline.hpp"
#include "rill/flow/detail/stage_base.hpp"
#include "rill/runtime/detail/task.hpp"

namespace rill::detail {

/// The reading end of a ring's watermarks (Edge::marks): delivers each mark once `consumed`
/// items of the ring are taken, and says how many items may be taken before the next one.
struct MarkReader {
    std::uint64_t consumed = 0;  // items taken from the ring so far

    /// Calls deliver(watermark) for every mark already reached; returns how many it delivered
    /// and, in `room`, the items up to the next mark (unchanged if there is none).
    template <class Deliver>
    std::size_t take_due(SpscRing<Mark>& marks, std::size_t& room, Deliver&& deliver) noexcept {
        std::size_t delivered = 0;
        for (;;) {
            const RingSpans<Mark> next = marks.peek(1);
            if (next.empty()) return delivered;
            const Mark& mark = next.first[0];
            if (mark.position > consumed) {
                room = static_cast<std::size_t>(
                    std::min<std::uint64_t>(room, mark.position - consumed));
                return delivered;
            }
            deliver(mark.watermark);
            marks.release(1);
            ++delivered;
        }
    }
};

class FlowTask : public Task {
  public:
    [[nodiscard]] StepResult step() noexcept final {
        switch (phase_) {
            case Phase::opening:
                open_stages();
                refresh_timers();
                phase_ = Phase::running;
                return StepResult::progress;
            case Phase::running: {
                // Outputs held for lack of room go first: no new input until they are out.
                bool moved = false;
                if (!flush_tail(moved)) return moved ? StepResult::progress : StepResult::idle;
                if (next_timer_ != Clock::time_point::max()) moved |= fire_timers();
                const StepResult r = pump();
                if (!timed_.empty()) refresh_timers();
                if (r != StepResult::done) return moved ? StepResult::progress : r;
                next_timer_ = Clock::time_point::max();  // no timer fires after the input ended
                // End of input: each stage may emit what it holds, in stage order so that a
                // chained stage takes in what the one before it emitted before its own finish.
                const bool cancelling = (run->phase() & RunState::kCancelling) != 0;
                for (StageBase* stage : stages) {
                    if (cancelling) {
                        stage->cancel_held();
                    } else {
                        stage->finish();
                    }
                }
                phase_ = Phase::flushing;
                [[fallthrough]];
            }
            case Phase::flushing: {
                bool moved = false;
                if (!flush_tail(moved)) return moved ? StepResult::progress : StepResult::idle;
                for (EdgeBase* edge : out_edges)
                    edge->close();
                phase_ = Phase::closing;
                // A close is news to a consumer on this worker too: report progress, so that
                // the worker passes over its tasks again before it waits (see EdgeBase).
                // acquire: pairs with the release in downstream_closed().
                if (downstream_open.load(std::memory_order_acquire) != 0) {
                    return StepResult::progress;
                }
                [[fallthrough]];
            }
            case Phase::closing:
                // acquire: pairs with the release in downstream_closed(); the downstream's close
                // hooks are done.
                if (downstream_open.load(std::memory_order_acquire) != 0) return StepResult::idle;
                close_stages();
                for (FlowTask* up : upstreams)
                    up->downstream_closed();
                phase_ = Phase::done;
                run->task_done();  // may be the run's last act: touch nothing after it
                return StepResult::done;
            case Phase::done:
                break;
        }
        return StepResult::done;
    }

    /// Adds a stage this task runs (after the ones it has); what the stage can hold for lack of
    /// room joins the tails, and a stage with timers the timed stages.
    void add_stage(StageBase& stage) {
        stages.push_back(&stage);
        if (EmitterControl* held = stage.held_output()) tails.push_back(held);
        if (stage.has_timer()) timed_.push_back(&stage);
    }

    /// The nearest of its stages' timers and its own (a paced source's next poll). While outputs
    /// wait for room the step fires nothing, so a due timer would keep the worker awake: the
    /// consumer that makes room wakes it instead.
    [[nodiscard]] Clock::time_point next_timer() const noexcept final {
        const Clock::time_point t = std::min(next_timer_, own_timer());
        if (t == Clock::time_point::max()) return t;
        for (const EmitterControl* tail : tails) {
            if (tail->has_overflow()) return Clock::time_point::max();
        }
        return t;
    }

    void publish_pending() noexcept final {
        for (EmitterControl* tail : tails)
            tail->publish_pending();
    }
    [[nodiscard]] std::size_t upstream_count() const noexcept final { return upstreams.size(); }
    [[nodiscard]] const Task* upstream(std::size_t i) const noexcept final { return upstreams[i]; }

    [[nodiscard]] std::optional<WaitPolicy> wait_policy() const noexcept final {
        for (const StageBase* s : stages) {
            if (s->wait) return s->wait;
        }
        return std::nullopt;
    }

    /// Ordered replicas only (a RingTask): frames its output per chunk of its input.
    virtual void frame_output(std::size_t chunk, EdgeBase& out) noexcept {
        static_cast<void>(chunk);
        static_cast<void>(out);
        RILL_ASSERT(false, "rill: only a ring task heads an ordered replica");
    }

    /// Called from the downstream task's worker once its close hooks have run.
    void downstream_closed() noexcept {
        // release: pairs with the acquire in step(); publishes the downstream's close hooks.
        downstream_open.fetch_sub(1, std::memory_order_release);
        if (wake->has_waiters()) wake->notify_one();
    }

    // Wired by Runtime::start.
    RunState* run = nullptr;
    std::vector<StageBase*> stages;          // head first, then those chained after it
    std::vector<EmitterControl*> tails;      // what writes into rings to other tasks (or holds)
    std::vector<EdgeBase*> out_edges;        // those rings
    std::vector<FlowTask*> upstreams;        // the tasks writing the rings this one reads
    std::atomic<int> downstream_open{0};     // tasks reading out_edges that have not closed yet
    std::shared_ptr<EventCount> wake_owner;  // this task's worker's
    EventCount* wake = nullptr;              // the same, for the hot path
    const rill::Clock* clock = nullptr;      // the runtime's
    unsigned worker = 0;

  protected:
    /// One batch of input through the stages. `done` once the input is exhausted.
    [[nodiscard]] virtual StepResult pump() noexcept = 0;
    /// A timer of the task's own, besides its stages' (in clock time).
    [[nodiscard]] virtual Clock::time_point own_timer() const noexcept {
        return Clock::time_point::max();
    }

  private:
    enum class Phase : std::uint8_t { opening, running, flushing, closing, done };

    /// Runs on_timer of every stage whose timer is due, in stage order; true if any was.
    bool fire_timers() noexcept {
        if (run->phase() & RunState::kCancelling) {
            next_timer_ = Clock::time_point::max();  // see refresh_timers()
            return false;
        }
        const Clock::time_point now = clock->now();
        if (now < next_timer_) return false;
        for (StageBase* stage : timed_) {
            if (stage->timer_at <= now) stage->fire_timer(now);
        }
        refresh_timers();
        return true;
    }
    void refresh_timers() noexcept {
        next_timer_ = Clock::time_point::max();
        // Once cancelling (a failed hook cancels too) nothing fires: what it emitted would be
        // dropped, and a due timer that never fires would keep the worker awake.
        if (run->phase() & RunState::kCancelling) return;
        for (StageBase* stage : timed_) {
            if (stage->opened) stage->refresh_timer();
            next_timer_ = std::min(next_timer_, stage->timer_at);
        }
    }

    /// Moves the tails' overflow into their rings; false while some is left.
    bool flush_tail(bool& moved) noexcept {
        bool flushed = true;
        for (EmitterControl* tail : tails) {
            if (!tail->has_overflow()) continue;
            moved |= tail->flush_overflow();
            flushed &= !tail->has_overflow();
        }
        return flushed;
    }

    void open_stages() noexcept {
        for (StageBase* s : stages) {
            StageContext context(s->name, worker, wake_owner, s->replica, s->replicas, clock);
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
        for (auto it = stages.rbegin(); it != stages.rend(); ++it) {
            if (!(*it)->opened) continue;
            try {
                (*it)->close();
            } catch (...) {
                run->fail((*it)->name, std::current_exception());
            }
        }
    }

    Phase phase_ = Phase::opening;
    std::vector<StageBase*> timed_;                            // the stages with on_timer
    Clock::time_point next_timer_ = Clock::time_point::max();  // the nearest of theirs
};

class SourceTask final : public FlowTask {
  public:
    explicit SourceTask(SourceStageBase& source) : source_(source) {}

  protected:
    /// After a poll that found nothing, the source waits out its poll_interval: the worker parks
    /// until then (or until woken) instead of polling it on every pass.
    [[nodiscard]] Clock::time_point own_timer() const noexcept override {
        return pacing_ ? next_poll_ : Clock::time_point::max();
    }

    [[nodiscard]] StepResult pump() noexcept override {
        const unsigned phase = run->phase();
        if (phase & (RunState::kCancelling | RunState::kStopping)) {
            pacing_ = false;  // done polling: no timer to wake the worker while the flow closes
        }
        if (phase & RunState::kCancelling) {
            source_.cancel();
            return StepResult::done;
        }
        // An inlet was closed by the stop request itself and drains what it accepted.
        if ((phase & RunState::kStopping) && !source_.delivers_accepted_on_stop())
            return StepResult::done;
        if (pacing_) {
            if (clock->now() < next_poll_) return StepResult::idle;
            pacing_ = false;
        }
        const std::uint64_t before = source_.counters.in.load(std::memory_order_relaxed);
        switch (source_.pull()) {
            case SourceStatus::more:
                return StepResult::progress;
            case SourceStatus::idle: {
                if (source_.poll_interval.count() != 0) {
                    pacing_ = true;  // max() (an interval too long to fit) never comes
                    next_poll_ = deadline_after(clock->now(), source_.poll_interval);
                }
                // Items emitted before the idle are progress: a consumer on this worker that was
                // stepped before this task gets another pass to see them.
                // relaxed: this task is the counter's only writer.
                const bool produced = source_.counters.in.load(std::memory_order_relaxed) != before;
                return produced ? StepResult::progress : StepResult::idle;
            }
            case SourceStatus::done:
                break;
        }
        return StepResult::done;
    }

  private:
    SourceStageBase& source_;
    bool pacing_ = false;  // after an idle poll: not polled again before next_poll_
    Clock::time_point next_poll_{};
};

template <class In>
class RingTask final : public FlowTask {
  public:
    RingTask(Edge<In>& input, StageBase& head_stage, Consumer<In>& head)
        : input_(input), head_stage_(head_stage), head_(head) {}

    /// An ordered replica: after every `chunk` inputs (and after the last, partial chunk) it
    /// pushes onto out.frames how many items it emitted for them. The router deals chunks of
    /// that same size, so the fan-in can take the replicas' outputs back in input order.
    void frame_output(std::size_t chunk, EdgeBase& out) noexcept override {
        chunk_ = chunk;
        framed_ = &out;
    }

  protected:
    [[nodiscard]] StepResult pump() noexcept override {
        const bool cancelling = (run->phase() & RunState::kCancelling) != 0;
        std::size_t limit = head_stage_.batch;
        bool framed = false;  // pushed a frame: progress, whatever comes next
        if (framed_ != nullptr && !cancelling) {
            if (frame_pending_) {
                if (!push_frame()) return StepResult::idle;
                framed = true;
            }
            limit = std::min(limit, chunk_ - chunk_pos_);
        }
        bool marked = false;  // delivered a watermark: progress
        if (input_.marks != nullptr && !cancelling) marked = deliver_marks(limit);
        SpscRing<In>& ring = input_.ring;
        RingSpans<In> items = ring.peek(limit);
        if (items.empty()) {
            if (!input_.closed()) return framed || marked ? StepResult::progress : StepResult::idle;
            items = ring.peek(limit);  // what was published before the close
            // ... and the marks pushed before it.
            if (items.empty() && input_.marks != nullptr && !cancelling && deliver_marks(limit)) {
                return StepResult::progress;
            }
            if (items.empty()) {
                if (framed_ == nullptr || cancelling || chunk_pos_ == 0) return StepResult::done;
                end_chunk();  // the last, partial chunk
                return frame_pending_ ? StepResult::idle : StepResult::done;
            }
        }
        const std::size_t n = items.size();
        note_depth();
        if (cancelling) {
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
        marks_.consumed += n;
        if (input_.marks != nullptr && !cancelling) {
            std::size_t room = 0;
            static_cast<void>(deliver_marks(room));  // those right after this batch
        }
        if (framed_ != nullptr && !cancelling) {
            chunk_pos_ += n;
            if (chunk_pos_ == chunk_) end_chunk();
        }
        return StepResult::progress;
    }

  private:
    /// Delivers the watermarks reached to the head stage; limits `limit` to the next one. The
    /// producer may wait for room in the side ring (a pending mark holds its task back): a pop
    /// wakes it, as a release of items does.
    bool deliver_marks(std::size_t& limit) noexcept {
        const std::size_t delivered = marks_.take_due(
            *input_.marks, limit, [&](Watermark w) noexcept { head_.on_watermark(w); });
        if (delivered != 0) input_.wake_producer();
        return delivered != 0;
    }

    void note_depth() noexcept {
        const std::size_t depth = input_.ring.size_approx();
        if (depth > max_depth_) {
            max_depth_ = depth;
            // relaxed: single writer, see StageCounters.
            head_stage_.counters.queue_max.store(depth, std::memory_order_relaxed);
        }
    }

    void end_chunk() noexcept {
        // relaxed: this task is the counter's only writer.
        const std::uint64_t emitted = head_stage_.counters.emitted.load(std::memory_order_relaxed);
        frame_ = emitted - chunk_start_;
        chunk_start_ = emitted;
        chunk_pos_ = 0;
        frame_pending_ = true;
        static_cast<void>(push_frame());
    }
    /// The frame goes after the chunk's outputs were handed to the emitter (published, or in its
    /// overflow, which the fan-in waits for) and before any output of a later chunk: the fan-in's
    /// early reads rely on that order (see FanInTask). A full frame ring holds the replica's
    /// input back until the fan-in takes a frame.
    bool push_frame() noexcept {
        if (!framed_->frames->try_push(frame_)) return false;
        frame_pending_ = false;
        framed_->wake_consumer();
        return true;
    }

    Edge<In>& input_;
    StageBase& head_stage_;
    Consumer<In>& head_;
    MarkReader marks_;
    std::size_t max_depth_ = 0;
    // Ordered replicas only.
    EdgeBase* framed_ = nullptr;
    std::size_t chunk_ = 0;
    std::size_t chunk_pos_ = 0;
    std::uint64_t chunk_start_ = 0;
    std::uint64_t frame_ = 0;
    bool frame_pending_ = false;
};

}  // namespace rill::detail
