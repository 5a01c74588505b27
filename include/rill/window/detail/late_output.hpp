#pragma once
// LateOutput<T>: where an event-time window stage puts the items too late for any window. The
// stream of late_items() is a source reading an inlet queue that the stage's replicas push into
// (never waiting: a full queue leaves the item counted `late` but not delivered, which the late
// stream's `in` then shows); the last replica to finish its input closes it, ending that stream,
// also when the run is stopped (drained); a cancel empties it.
// Without late_items() there is no queue and late items are only counted.

#include <atomic>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "rill/flow/detail/inlet_queue.hpp"

namespace rill::detail {

/// The late_items() source: an inlet's poller whose input a stop does not close (a draining
/// window may still find late items; the last replica to finish closes it). A cancel drops what
/// it holds, as an inlet's.
template <class T>
class LatePoller : public InletPoller<T> {
  public:
    using InletPoller<T>::InletPoller;
    void close_input() noexcept {}
};

template <class T>
class LateOutput {
  public:
    LateOutput(std::string stage, std::size_t replicas)
        : stage_(std::move(stage)), open_(replicas) {}

    /// late_items(): once, while the flow is built. Throws std::logic_error the second time.
    void connect(std::shared_ptr<InletQueue<T>> queue) {
        if (queue_) {
            throw std::logic_error("rill: window stage '" + stage_ +
                                   "': late_items() called twice; consume its stream from several "
                                   "stages instead (each gets every late item)");
        }
        queue_ = std::move(queue);
    }
    [[nodiscard]] bool connected() const noexcept { return queue_ != nullptr; }

    /// A late item: into the late stream if there is room, else only counted.
    void offer(T&& item) noexcept {
        if (!queue_) return;
        try {
            static_cast<void>(queue_->try_push(std::move(item)));
        } catch (...) {  // std::bad_alloc of the queue's block, or T's move: not delivered
        }
    }
    /// A replica has finished its input; the last closes the late stream.
    void replica_done() noexcept {
        if (open_.fetch_sub(1) == 1 && queue_) queue_->close();
    }

  private:
    std::string stage_;
    std::shared_ptr<InletQueue<T>> queue_;  // set before the run, read-only during it
    std::atomic<std::size_t> open_;         // replicas that have not finished their input
};

}  // namespace rill::detail
