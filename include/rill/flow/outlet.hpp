#pragma once
// Outlet<T>: application threads take a flow's results, the mirror of Inlet<T>. Go's
// `for x := range out`:
//
//   rill::Outlet<Quote> quotes = stream.outlet("quotes", {.capacity = 1024});
//   rill::Run run = runtime.start(flow);
//   for (Quote q : quotes) use(q);  // ends when the stream does
//   run.wait();
//
// The outlet holds at most `capacity` items; when it is full the stage feeding it waits (its
// worker runs its other tasks), so a reader that falls behind holds the flow back. pop() waits
// for an item by the options' policy and is empty only at the end of the stream (the run ended,
// however it ended); try_pop() never waits. Items are taken once, by whichever reader pops them:
// several threads may read one outlet (copies of an Outlet share it). Read the outlet while the
// run goes: a run whose outlet is full cannot finish, so wait() on it from the only reader would
// wait forever. When every handle is gone, the items that still arrive fail the outlet's stage
// (its error policy counts them).

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "rill/detail/deadline.hpp"
#include "rill/flow/detail/outlet_queue.hpp"

namespace rill {

template <class T>
class Outlet {
  public:
    /// An item, or empty once the stream has ended and every item was taken.
    [[nodiscard]] std::optional<T> pop() {
        return pop_until(std::chrono::steady_clock::time_point::max());
    }
    /// As pop(), and empty at the deadline.
    [[nodiscard]] std::optional<T> pop_until(std::chrono::steady_clock::time_point deadline) {
        return reader_->queue->pop_until(deadline);
    }
    template <class Rep, class Period>
    [[nodiscard]] std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
        return pop_until(detail::deadline_after(timeout));
    }
    /// An item if one is there now.
    [[nodiscard]] std::optional<T> try_pop() noexcept { return reader_->queue->try_pop(); }

    /// The stream ended and every item was taken.
    [[nodiscard]] bool ended() const noexcept { return reader_->queue->ended(); }
    [[nodiscard]] std::size_t size_approx() const noexcept { return reader_->queue->size_approx(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return reader_->queue->capacity(); }
    [[nodiscard]] const std::string& name() const noexcept { return reader_->queue->name(); }

    /// Range-for: pops until the end of the stream.
    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(Outlet* outlet) : outlet_(outlet) { ++*this; }
        T& operator*() noexcept { return *item_; }
        iterator& operator++() {
            item_ = outlet_->pop();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
            return !it.item_.has_value();
        }

      private:
        Outlet* outlet_ = nullptr;
        std::optional<T> item_;
    };
    [[nodiscard]] iterator begin() { return iterator(this); }
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

  private:
    template <class, class>
    friend class StreamStages;
    /// Shared by the copies of an Outlet; the last one to go tells the outlet stage.
    struct Reader {
        std::shared_ptr<detail::OutletQueue<T>> queue;
        explicit Reader(std::shared_ptr<detail::OutletQueue<T>> q) : queue(std::move(q)) {}
        Reader(const Reader&) = delete;
        Reader& operator=(const Reader&) = delete;
        ~Reader() { queue->reader_gone(); }
    };
    explicit Outlet(std::shared_ptr<detail::OutletQueue<T>> queue)
        : reader_(std::make_shared<Reader>(std::move(queue))) {}
    std::shared_ptr<Reader> reader_;
};

}  // namespace rill
