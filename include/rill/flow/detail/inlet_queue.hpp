#pragma once
// InletQueue<T>: the bounded multi-producer queue behind an Inlet, read by one source task.
//
// Bound: `count_` reserves a place before an item enters the moodycamel queue and gives it back
// after the item leaves, so at most `capacity` items are ever inside.
// End of stream: the source is done once closed_ is set and count_ is 0. A producer reserves
// (seq_cst RMW on count_), then reads closed_ (seq_cst); close() writes closed_ (seq_cst). In
// the single order of these operations, either the producer's reservation comes first (then the
// source, which reads closed_ and then count_, sees the reservation and waits for the item) or
// the producer sees closed_ and gives the reservation back, failing the push.

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <concurrentqueue/concurrentqueue.h>

#include "rill/detail/tsan.hpp"
#include "rill/flow/detail/run_claim.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_context.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/runtime/detail/runtime_access.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/waiter.hpp"

namespace rill::detail {

template <class T>
class InletQueue {
  public:
    InletQueue(std::string name, InletOptions options)
        : name_(std::move(name)),
          options_(options),
          // Preallocates blocks for twice the capacity, so that items spread over several
          // producers' sub-queues still fit without allocating in steady state.
          queue_(2 * options.capacity) {}

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return options_.capacity; }
    [[nodiscard]] std::size_t size_approx() const noexcept { return count_.load(); }
    [[nodiscard]] bool closed() const noexcept { return closed_.load(); }

    template <class U>
    [[nodiscard]] bool try_push(U&& item) {
        if (!reserve()) return false;
        return enter(std::forward<U>(item));
    }

    template <class U>
    [[nodiscard]] bool push_until(U&& item, std::chrono::steady_clock::time_point deadline) {
        if (on_worker_thread()) {
            throw std::logic_error("rill: Inlet::push on a worker thread (inlet '" + name_ +
                                   "'): waiting there could wait for its own worker; use "
                                   "try_push");
        }
        bool reserved = false;
        Waiter waiter(options_.wait);
        waiter.wait(
            space_,
            [&] {
                if (closed_.load()) return true;
                reserved = reserve();
                return reserved;
            },
            deadline);
        if (!reserved) return false;
        return enter(std::forward<U>(item));
    }

    void close() noexcept {
        closed_.store(true);
        wake_source();
        space_.notify_all();  // pushers waiting for room fail now
    }

    // ---- the source task's side ---------------------------------------------------------

    /// One run only (see run_claim.hpp).
    void claim() { claim_.claim("inlet '" + name_ + "'"); }
    void unclaim() noexcept { claim_.unclaim(); }

    /// The run's source opens: pushes wake its worker from now on. The queue keeps the worker's
    /// EventCount alive, so pushes after the runtime is gone stay harmless.
    void attach(std::shared_ptr<EventCount> source_wake) {
        wake_owner_ = std::move(source_wake);
        // seq_cst exchange, and the fence in wake_source(): a push that did not see the pointer
        // has its item seen by the source's first poll, which comes after this.
        source_wake_.exchange(wake_owner_.get());
#if !RILL_TSAN
        std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
    }

    SourceStatus poll(Emitter<T>& out, std::size_t max) {
        if (!token_) token_.emplace(queue_);
        const std::size_t n = queue_.try_dequeue_bulk(*token_, EmitIterator{&out}, max);
        if (n != 0) {
            count_.fetch_sub(n);
            if (space_.has_waiters()) space_.notify_all();
            return SourceStatus::more;
        }
        // Order matters: closed_ first, then count_ (see the header comment).
        if (closed_.load() && count_.load() == 0) return SourceStatus::done;
        return SourceStatus::idle;
    }

    /// The run was cancelled: empties the queue; returns how many items were dropped.
    std::size_t cancel() noexcept {
        close();
        if (!token_) token_.emplace(queue_);
        std::size_t dropped = 0;
        // Producers that reserved before the close may still be adding their item (or giving
        // the reservation back): a short wait.
        while (count_.load() != 0) {
            const std::size_t n = queue_.try_dequeue_bulk(*token_, DropIterator{}, 64);
            dropped += n;
            count_.fetch_sub(n);
            if (n == 0) std::this_thread::yield();
        }
        return dropped;
    }

  private:
    struct EmitIterator {
        Emitter<T>* out;
        EmitIterator& operator*() noexcept { return *this; }
        EmitIterator& operator++() noexcept { return *this; }
        EmitIterator operator++(int) noexcept { return *this; }
        EmitIterator& operator=(T&& item) noexcept {
            out->emit(std::move(item));
            return *this;
        }
    };

    struct DropIterator {
        DropIterator& operator*() noexcept { return *this; }
        DropIterator& operator++() noexcept { return *this; }
        DropIterator operator++(int) noexcept { return *this; }
        DropIterator& operator=(T&&) noexcept { return *this; }  // the item is destroyed
    };

    bool reserve() noexcept {
        std::size_t c = count_.load();
        do {
            if (c >= options_.capacity) return false;
        } while (!count_.compare_exchange_weak(c, c + 1));
        return true;
    }

    template <class U>
    bool enter(U&& item) {
        bool entered = false;
        try {
            // T's constructor may throw, and enqueue fails if a producer's first block cannot
            // be allocated: either way the reservation goes back.
            entered = !closed_.load() && queue_.enqueue(T(std::forward<U>(item)));
        } catch (...) {
            give_back();
            throw;
        }
        if (!entered) {
            give_back();
            if (!closed_.load()) throw std::bad_alloc();
            return false;
        }
        wake_source();
        return true;
    }

    void give_back() noexcept {
        count_.fetch_sub(1);
        wake_source();  // the source may be waiting for count_ to reach 0
    }

    void wake_source() noexcept {
        // Pairs with attach(): either this sees the pointer, or the source's first poll sees
        // the item. Under TSan an RMW on the pointer stands in for the fence (detail/tsan.hpp).
#if RILL_TSAN
        EventCount* wake = source_wake_.fetch_add(0);
#else
        std::atomic_thread_fence(std::memory_order_seq_cst);
        EventCount* wake = source_wake_.load();
#endif
        if (wake != nullptr && wake->has_waiters()) wake->notify_one();
    }

    const std::string name_;
    const InletOptions options_;
    moodycamel::ConcurrentQueue<T> queue_;
    std::optional<moodycamel::ConsumerToken> token_;  // the source task's
    std::atomic<std::size_t> count_{0};
    std::atomic<bool> closed_{false};
    std::atomic<EventCount*> source_wake_{nullptr};
    RunClaim claim_;
    std::shared_ptr<EventCount> wake_owner_;  // set once, by attach() on the source's worker
    EventCount space_;                        // pushers waiting for room
};

/// The PollingSource the inlet's stage runs: shares the queue with the Inlet handles.
template <class T>
class InletPoller {
  public:
    using value_type = T;
    explicit InletPoller(std::shared_ptr<InletQueue<T>> queue) : queue_(std::move(queue)) {}

    void claim() const { queue_->claim(); }
    void unclaim() const noexcept { queue_->unclaim(); }
    void open(StageContext& context) { queue_->attach(context.waker()); }
    SourceStatus poll(Emitter<T>& out, std::size_t max) { return queue_->poll(out, max); }
    /// Called from any thread when the run is asked to stop or cancel: pushes fail from then on
    /// and pushers waiting for room return.
    void close_input() noexcept { queue_->close(); }
    std::size_t cancel() noexcept { return queue_->cancel(); }

  private:
    std::shared_ptr<InletQueue<T>> queue_;
};

}  // namespace rill::detail
