#pragma once
// OutletQueue<T>: the bounded ring between a flow's outlet stage (the producer, on a worker) and
// the application threads that read it through Outlet<T> handles. OutletStage<T> is that stage.
//
// Bound and backpressure: the ring holds `capacity` items. A full ring makes the outlet stage
// wait inside its step (help_until: its worker runs its other tasks meanwhile) until a reader
// pops, and so holds the flow back as any slow stage does.
// Wake-ups, both ways through EventCounts: the stage notifies `not_empty_` after each batch it
// pushed, a reader notifies the stage's worker after a pop. The worker's EventCount pointer is
// stored in open(), before the stage's first push; a reader reads it only after a pop, which
// acquired that push, so it always sees it.
// End of stream: close() (the stage's close hook, and the end of the run as a backstop) sets
// closed_ after every push. A reader that finds the ring empty reads closed_ (acquire) and then
// the ring again: what was pushed before the close is visible, so empty-after-closed is the end.
// Nobody reading: when the last Outlet handle goes, further items fail the stage (its error
// policy counts them); they are never dropped unseen.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rill/flow/detail/run_claim.hpp"
#include "rill/flow/detail/run_state.hpp"
#include "rill/flow/detail/stage_base.hpp"
#include "rill/flow/detail/stages.hpp"
#include "rill/flow/stage_context.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/ring/mpmc_ring.hpp"
#include "rill/runtime/detail/help.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/waiter.hpp"

namespace rill::detail {

template <class T>
class OutletQueue {
  public:
    OutletQueue(std::string name, OutletOptions options)
        : name_(std::move(name)), options_(options), ring_(options.capacity) {}

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return ring_.capacity(); }
    [[nodiscard]] std::size_t size_approx() const noexcept { return ring_.size_approx(); }

    /// One run only (see run_claim.hpp).
    void claim() { claim_.claim("outlet '" + name_ + "'"); }
    void unclaim() noexcept { claim_.unclaim(); }

    // ---- the readers' side --------------------------------------------------------------

    [[nodiscard]] std::optional<T> try_pop() noexcept {
        std::optional<T> item = ring_.try_pop();
        if (item) wake_producer();
        return item;
    }

    /// An item, waiting by the options' policy; empty at the end of the stream or the deadline.
    [[nodiscard]] std::optional<T> pop_until(std::chrono::steady_clock::time_point deadline) {
        std::optional<T> item;
        Waiter waiter(options_.wait);
        waiter.wait(
            not_empty_,
            [&] {
                item = try_pop();
                return item.has_value() || ended();
            },
            deadline);
        return item;
    }

    /// Closed, and everything pushed before the close has been popped.
    [[nodiscard]] bool ended() const noexcept {
        // acquire: pairs with the release in close(); then the pushes before it are visible.
        return closed_.load(std::memory_order_acquire) && ring_.empty_approx();
    }

    /// The last Outlet handle is gone.
    void reader_gone() noexcept {
        reader_gone_.store(true);
        wake_producer_always();
    }

    // ---- the outlet stage's side --------------------------------------------------------

    void open(const std::shared_ptr<EventCount>& producer_wake) noexcept {
        producer_wake_owner_ = producer_wake;
        // relaxed: read by readers only after a pop, which acquires a push made after this.
        producer_wake_.store(producer_wake.get(), std::memory_order_relaxed);
    }
    /// Moves as many of `items` as fit into the ring; returns how many.
    [[nodiscard]] std::size_t push(std::span<T> items) noexcept {
        const std::size_t n =
            ring_.try_push_n(std::make_move_iterator(items.begin()), items.size());
        if (n != 0 && not_empty_.has_waiters()) not_empty_.notify_all();
        return n;
    }
    [[nodiscard]] bool has_room() const noexcept { return ring_.size_approx() < ring_.capacity(); }
    [[nodiscard]] bool no_reader() const noexcept { return reader_gone_.load(); }

    /// End of stream. Idempotent.
    void close() noexcept {
        // release: pairs with the acquire in ended(); orders every push before it.
        closed_.store(true, std::memory_order_release);
        not_empty_.notify_all();
    }

  private:
    void wake_producer() noexcept {
        // relaxed: see open(). has_waiters() fences the pop before it reads the waiter count.
        EventCount* wake = producer_wake_.load(std::memory_order_relaxed);
        if (wake != nullptr && wake->has_waiters()) wake->notify_one();
    }
    void wake_producer_always() noexcept {
        EventCount* wake = producer_wake_.load();
        if (wake != nullptr) wake->notify_all();
    }

    const std::string name_;
    const OutletOptions options_;
    MpmcRing<T> ring_;
    RunClaim claim_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> reader_gone_{false};
    std::atomic<EventCount*> producer_wake_{nullptr};
    std::shared_ptr<EventCount> producer_wake_owner_;  // set by open(), before any push
    EventCount not_empty_;                             // readers waiting for an item
};

/// The prototype of an outlet stage in the Flow: the queue it feeds.
template <class T>
struct OutletTarget {
    std::shared_ptr<OutletQueue<T>> queue;
    void claim() const { queue->claim(); }
    void unclaim() const noexcept { queue->unclaim(); }
    void open(StageContext& context) { queue->open(context.waker()); }
    void close() { queue->close(); }
};

/// The stage at the end of a stream that hands its items to the application: one push per batch
/// (as many as fit), waiting for room as a full ring requires. A step that may not wait (nested
/// in the wait of an unrelated step: runtime/detail/help.hpp) holds the rest instead, in memory
/// that grows; its task hands the held items over, first, as readers make room.
template <class T>
class OutletStage final : public ConsumingStage<OutletStage<T>, T, void, OutletTarget<T>>,
                          public EmitterControl {
  public:
    using ConsumingStage<OutletStage, T, void, OutletTarget<T>>::ConsumingStage;

    void run_ended() noexcept override { queue().close(); }
    [[nodiscard]] EmitterControl* held_output() noexcept override { return this; }

    Tally process(std::span<T> items) noexcept {
        const std::size_t n = items.size();
        Tally tally;
        if (has_overflow()) {  // behind held items: keep the order
            hold(items, tally);
            return tally;
        }
        std::size_t i = 0;
        for (;;) {
            i += queue().push(items.subspan(i));
            if (i == n) break;
            if (queue().no_reader()) {
                reader_gone();
                tally.errored = n - i;
                break;
            }
            if (cancelling()) {
                tally.dropped = n - i;
                break;
            }
            const auto ready = [](const void* self) noexcept {
                const auto& s = *static_cast<const OutletStage*>(self);
                return s.queue().has_room() || s.queue().no_reader() || s.cancelling();
            };
            if (!help_until(ready, this, WaitFor::application)) {
                hold(items.subspan(i), tally);
                break;
            }
        }
        return tally;
    }

    // What this stage holds, as its task's tail.
    [[nodiscard]] bool has_overflow() const noexcept override { return held_from_ != held_.size(); }
    [[nodiscard]] std::size_t overflow_size() const noexcept override {
        return held_.size() - held_from_;
    }
    bool flush_overflow() noexcept override {
        const std::size_t rest = overflow_size();
        std::size_t moved = 0;
        if (cancelling()) {
            bump(this->counters.dropped, rest);
            moved = rest;
        } else if (queue().no_reader()) {
            reader_gone();
            bump(this->counters.errored, rest);
            moved = rest;
        } else {
            moved = queue().push(std::span<T>(held_).subspan(held_from_));
            bump(this->counters.out, moved);
        }
        held_from_ += moved;
        if (held_from_ == held_.size()) {
            held_.clear();  // keeps its capacity
            held_from_ = 0;
        }
        return moved != 0;
    }
    void publish_pending() noexcept override {
        if (has_overflow()) static_cast<void>(flush_overflow());
    }

  private:
    [[nodiscard]] OutletQueue<T>& queue() const noexcept { return *this->f_.queue; }
    [[nodiscard]] bool cancelling() const noexcept {
        return (this->run->phase() & RunState::kCancelling) != 0;
    }
    /// Keeps items for later, counted as held. Allocates, only for a step that may not wait; out
    /// of memory ends the process, as anywhere in a noexcept step.
    void hold(std::span<T> items, Tally& tally) noexcept {
        for (T& item : items)
            held_.push_back(std::move(item));
        tally.held = items.size();
    }
    /// Nobody will read the rest: an error of this stage, counted by its policy.
    void reader_gone() noexcept {
        try {
            throw std::logic_error("rill: outlet '" + queue().name() +
                                   "': every Outlet handle was destroyed while its run was "
                                   "going, so nobody reads its items");
        } catch (...) {
            static_cast<void>(this->on_error());
        }
    }

    std::vector<T> held_;  // [held_from_, end) not yet handed over, oldest first
    std::size_t held_from_ = 0;
};

}  // namespace rill::detail
