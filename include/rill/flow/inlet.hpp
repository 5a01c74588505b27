#pragma once
// Inlet<T>: application threads push items into a running flow. Any number of threads may push;
// the inlet holds at most `capacity` items (try_push fails when full, push waits by policy).
// close() ends the stream: the flow completes once it has processed what the inlet accepted.
// Copies of an Inlet share one queue.

#include <chrono>
#include <memory>
#include <utility>

#include "rill/flow/detail/inlet_queue.hpp"

namespace rill {

template <class T>
class Inlet {
  public:
    /// False when the inlet is full or closed; the item is then left as it was.
    [[nodiscard]] bool try_push(T&& item) { return queue_->try_push(std::move(item)); }
    [[nodiscard]] bool try_push(const T& item) { return queue_->try_push(item); }

    /// Waits while the inlet is full. False when it is closed (now or while waiting).
    [[nodiscard]] bool push(T&& item) { return push_until(std::move(item), kForever); }
    [[nodiscard]] bool push(const T& item) { return push_until(item, kForever); }
    /// As push(), and false at the deadline.
    [[nodiscard]] bool push_until(T&& item, std::chrono::steady_clock::time_point deadline) {
        return queue_->push_until(std::move(item), deadline);
    }
    [[nodiscard]] bool push_until(const T& item, std::chrono::steady_clock::time_point deadline) {
        return queue_->push_until(item, deadline);
    }

    /// Ends the stream. Pushes after this fail; items accepted before are processed.
    void close() noexcept { queue_->close(); }

    [[nodiscard]] bool closed() const noexcept { return queue_->closed(); }
    [[nodiscard]] std::size_t size_approx() const noexcept { return queue_->size_approx(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return queue_->capacity(); }
    [[nodiscard]] const std::string& name() const noexcept { return queue_->name(); }

  private:
    friend class Flow;
    static constexpr auto kForever = std::chrono::steady_clock::time_point::max();
    explicit Inlet(std::shared_ptr<detail::InletQueue<T>> queue) : queue_(std::move(queue)) {}
    std::shared_ptr<detail::InletQueue<T>> queue_;
};

}  // namespace rill
