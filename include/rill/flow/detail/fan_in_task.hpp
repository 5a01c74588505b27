#pragma once
// FanInTask: a task whose head stage reads several rings: the outputs of a replicated stage, or
// the inputs of a merge. Unordered, it takes a batch from each ring in turn. Ordered (behind
// ordered replicas), it takes the replicas' outputs back in input order using their frames.
//
// Why the ordered fan-in is exact. The router deals the input in chunks of C items: chunk k goes
// to replica k mod n. Replica r processes its chunks in order and, after the outputs of chunk k,
// pushes frame k (how many outputs chunk k had) before emitting anything for its next chunk.
// The fan-in visits the replicas in the same order, and for the current chunk forwards outputs
// as they come, without waiting for the frame (a trickle of items is never held back):
//   * With the frame in hand it forwards exactly `frame` outputs, then moves to the next replica.
//   * Without it, it reads the item ring and then the frame ring again. If the second read still
//     finds no frame, every item it saw belongs to the current chunk: an item of a later chunk is
//     published (release) after the frame, so an acquire load that saw that item would make the
//     frame visible to the later frame read.
// A replica whose ring is closed with neither frame nor item left got no chunk k: the stream
// ended there, and the other replicas hold nothing more either.
//
// Watermarks (flows with event time): each input's marks are taken in as the fan-in reaches
// their positions in that input, and a take never crosses one. The fan-in passes on the minimum
// over its inputs that have not ended and are not idle, and only when it advances: an input's
// watermark only counts once every item before it has gone on, so no item follows a watermark it
// is behind, whatever order the inputs are read in.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "rill/detail/assert.hpp"
#include "rill/flow/detail/tasks.hpp"

namespace rill::detail {

template <class T>
class FanInTask final : public FlowTask {
  public:
    /// `ordered`: inputs are the output edges of ordered replicas 0..n-1, in order, with frames.
    FanInTask(std::vector<Edge<T>*> inputs, StageBase& head_stage, Consumer<T>& head, bool ordered)
        : inputs_(std::move(inputs)),
          head_stage_(head_stage),
          head_(head),
          ordered_(ordered),
          times_(inputs_.front()->marks != nullptr ? inputs_.size() : 0) {}

  protected:
    [[nodiscard]] StepResult pump() noexcept override {
        if (run->phase() & RunState::kCancelling) return drop_all();
        const bool marked = !times_.empty() && pass_watermark();
        const StepResult r = ordered_ ? pump_ordered() : pump_unordered();
        // Every input ended: their last marks, pushed before the close, are visible now.
        if (r == StepResult::done && !times_.empty()) static_cast<void>(pass_watermark());
        return marked && r == StepResult::idle ? StepResult::progress : r;
    }

  private:
    /// One batch from the next input that has items, in turn; one per step, so that a cancel
    /// is seen before the next batch goes to the stage.
    StepResult pump_unordered() noexcept {
        bool open = false;
        const std::size_t n = inputs_.size();
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t at = (next_ + k) % n;
            Edge<T>& input = *inputs_[at];
            const std::size_t limit = room(at, head_stage_.batch);
            RingSpans<T> items = input.ring.peek(limit);
            if (items.empty()) {
                if (!input.closed()) {
                    open = true;
                    continue;
                }
                items = input.ring.peek(limit);  // published before the close
                if (items.empty()) continue;
            }
            take(at, items);
            next_ = (at + 1) % n;
            return StepResult::progress;
        }
        return open ? StepResult::idle : StepResult::done;
    }

    StepResult pump_ordered() noexcept {
        // Bounded so that a run of empty chunks cannot keep the worker from its other tasks.
        for (std::size_t visits = 0; visits <= inputs_.size(); ++visits) {
            Edge<T>& input = *inputs_[current_];
            SpscRing<std::uint64_t>& frames = *input.frames;
            RingSpans<std::uint64_t> frame = frames.peek(1);
            if (!frame.empty()) {
                const std::uint64_t total = frame.first[0];
                if (forwarded_ == total) {  // chunk done: on to the next replica
                    frames.release(1);
                    input.wake_producer();  // it may wait for room for its next frame
                    forwarded_ = 0;
                    current_ = (current_ + 1) % inputs_.size();
                    continue;
                }
                const auto want = static_cast<std::size_t>(
                    std::min<std::uint64_t>(total - forwarded_, head_stage_.batch));
                const RingSpans<T> items = input.ring.peek(room(current_, want));
                if (items.empty()) return StepResult::idle;  // the rest is on its way
                take(current_, items);
                return StepResult::progress;
            }
            const RingSpans<T> items = input.ring.peek(room(current_, head_stage_.batch));
            if (!items.empty()) {
                if (!frames.peek(1).empty())
                    continue;           // the chunk ended meanwhile: take it exactly
                take(current_, items);  // all of the current chunk (see above)
                return StepResult::progress;
            }
            if (!input.closed()) return StepResult::idle;
            // closed: everything the replica published is visible.
            if (!frames.peek(1).empty() || !input.ring.peek(1).empty()) continue;
            return all_closed_and_empty() ? StepResult::done : StepResult::idle;
        }
        return StepResult::progress;
    }

    /// Aborting: every item is dropped; frames no longer matter.
    StepResult drop_all() noexcept {
        bool open = false;
        bool moved = false;
        for (Edge<T>* input : inputs_) {
            const bool closed = input->closed();  // before the peek: nothing is published after
            const RingSpans<T> items = input->ring.peek();
            if (!items.empty()) {
                head_stage_.drop(items.size());
                input->ring.release(items.size());
            }
            if (input->frames) {
                const RingSpans<std::uint64_t> f = input->frames->peek();
                input->frames->release(f.size());
            }
            if (!items.empty()) {
                input->wake_producer();
                moved = true;
            }
            open |= !closed;
        }
        if (moved) return StepResult::progress;
        return open ? StepResult::idle : StepResult::done;
    }

    bool all_closed_and_empty() noexcept {
        for (Edge<T>* input : inputs_) {
            if (!input->closed()) return false;
            RILL_ASSERT(input->ring.peek(1).empty() && input->frames->peek(1).empty(),
                        "rill: ordered fan-in: a replica holds items past the end of the stream");
        }
        return true;
    }

    void take(std::size_t at, const RingSpans<T>& items) noexcept {
        Edge<T>& input = *inputs_[at];
        const std::size_t n = items.size();
        note_depth(input);
        // relaxed: read only by metrics snapshots (see RingTask).
        head_stage_.counters.taken.store(n, std::memory_order_relaxed);
        head_.consume(items.first);
        if (!items.second.empty()) head_.consume(items.second);
        head_stage_.counters.taken.store(0, std::memory_order_relaxed);  // relaxed: as above
        input.ring.release(n);
        input.wake_producer();
        if (ordered_) forwarded_ += n;
        if (!times_.empty()) {
            InputTime& t = times_[at];
            t.marks.consumed += n;
            t.idle = false;  // it sent again
            static_cast<void>(pass_watermark());
        }
    }

    /// How many items input `at` may give now: up to `want`, not past its next watermark.
    [[nodiscard]] std::size_t room(std::size_t at, std::size_t want) noexcept {
        if (times_.empty()) return want;
        take_marks(at, want);
        return want;
    }
    /// Takes in the watermarks input `at` has reached; limits `want` to its next one. A pop
    /// wakes the producer, which may wait for room in the side ring.
    bool take_marks(std::size_t at, std::size_t& want) noexcept {
        InputTime& t = times_[at];
        const std::size_t taken =
            t.marks.take_due(*inputs_[at]->marks, want, [&](Watermark w) noexcept {
                t.watermark = std::max(t.watermark, w.time);
                t.idle = w.idle;
            });
        if (taken != 0) inputs_[at]->wake_producer();
        return taken != 0;
    }

    /// Takes in every input's reached watermarks and passes on the minimum over the inputs that
    /// have not ended and are not idle, if it moved (never back); idle if all live ones are; once
    /// all have ended, the highest (nothing more comes from any). True if it took in or passed
    /// on anything: progress (a producer on this worker may wait for the room).
    bool pass_watermark() noexcept {
        bool took = false;
        Clock::time_point low = Clock::time_point::max();
        Clock::time_point ended_high = Clock::time_point::min();
        bool active = false;
        bool idle = false;
        for (std::size_t at = 0; at < inputs_.size(); ++at) {
            std::size_t unlimited = std::numeric_limits<std::size_t>::max();
            took |= take_marks(at, unlimited);
            Edge<T>& input = *inputs_[at];
            // Ended: closed (acquire first) with nothing left, items or marks.
            if (input.closed() && input.ring.peek(1).empty() && input.marks->peek(1).empty()) {
                ended_high = std::max(ended_high, times_[at].watermark);
                continue;
            }
            if (times_[at].idle) {
                idle = true;
                continue;
            }
            active = true;
            low = std::min(low, times_[at].watermark);
        }
        Watermark next;
        if (active) {
            if (low == Clock::time_point::min()) return took;  // some input has none yet
            next = {std::max(low, sent_.time), false};
        } else if (idle) {
            next = {sent_.time, true};
        } else if (ended_high != Clock::time_point::min()) {
            next = {std::max(ended_high, sent_.time), false};
        } else {
            return took;  // every input ended without a watermark
        }
        if (next == sent_) return took;
        sent_ = next;
        head_.on_watermark(next);
        return true;
    }

    void note_depth(Edge<T>& input) noexcept {
        const std::size_t depth = input.ring.size_approx();
        if (depth > max_depth_) {
            max_depth_ = depth;
            // relaxed: single writer, see StageCounters.
            head_stage_.counters.queue_max.store(depth, std::memory_order_relaxed);
        }
    }

    /// An input's event time (flows with watermarks only).
    struct InputTime {
        MarkReader marks;
        Clock::time_point watermark = Clock::time_point::min();
        bool idle = false;
    };

    std::vector<Edge<T>*> inputs_;
    StageBase& head_stage_;
    Consumer<T>& head_;
    bool ordered_;
    std::vector<InputTime> times_;  // one per input, with watermarks; empty otherwise
    Watermark sent_{Clock::time_point::min(), false};  // the last passed on
    std::size_t next_ = 0;                             // unordered: where the next round starts
    std::size_t current_ = 0;      // ordered: the replica holding the current chunk
    std::uint64_t forwarded_ = 0;  // ordered: outputs of the current chunk taken so far
    std::size_t max_depth_ = 0;
};

}  // namespace rill::detail
