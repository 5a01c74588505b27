#pragma once
// Reply<Resp>: the future of one call's response from a service (rill/service/service.hpp): get()
// once, with the call's deadline; or poll ready() (on a worker thread, where nothing waits).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include "rill/runtime/runtime.hpp"
#include "rill/service/call_error.hpp"
#include "rill/service/detail/call_slot.hpp"
#include "rill/service/detail/service_clock.hpp"

namespace rill {

template <class Req, class Resp>
class Service;

/// The future of one call's response. Move-only; get() once.
template <class Resp>
class Reply {
  public:
    Reply() = default;
    Reply(Reply&& other) noexcept
        : slots_(std::move(other.slots_)),
          deadline_(other.deadline_),
          timeout_(other.timeout_),
          index_(other.index_),
          state_(std::exchange(other.state_, State::empty)) {}
    Reply& operator=(Reply&& other) noexcept {
        if (this != &other) {
            release();
            slots_ = std::move(other.slots_);
            deadline_ = other.deadline_;
            timeout_ = other.timeout_;
            index_ = other.index_;
            state_ = std::exchange(other.state_, State::empty);
        }
        return *this;
    }
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    /// Gives the call up if it is still waiting (its response, if any comes, is discarded).
    ~Reply() { release(); }

    /// Waits until the response or the deadline. Returns the response; throws the exception a
    /// stage threw for this request (the original object), or CallError (timeout, dropped,
    /// closed). Throws std::logic_error if the Reply is empty (moved from, or get() was called).
    [[nodiscard]] Resp get() {
        switch (state_) {
            case State::empty:
                throw std::logic_error(
                    "rill::Reply::get: this Reply holds no call (moved from, or get() was "
                    "already called)");
            case State::no_slot:
                state_ = State::empty;
                throw detail::no_slot_error(slots_->name(), timeout_, slots_->max_in_flight());
            case State::closed:
                state_ = State::empty;
                throw detail::closed_error(slots_->name());
            case State::waiting:
                break;
        }
        if (!slots_->answered(index_)) {
            if (detail::on_worker_thread() && detail::ServiceClock::now() < deadline_) {
                detail::throw_on_worker(slots_->name(), "Reply::get");
            }
            if (!slots_->await(index_, deadline_)) {
                state_ = State::empty;
                slots_->abandon(index_);
                throw detail::no_response_error(slots_->name(), timeout_);
            }
        }
        state_ = State::empty;
        return slots_->take(index_);
    }

    /// True once get() will not wait: the response (or error) is in, or the deadline passed.
    [[nodiscard]] bool ready() const noexcept {
        switch (state_) {
            case State::empty:
                return false;
            case State::waiting:
                return slots_->answered(index_) || detail::ServiceClock::now() >= deadline_;
            case State::no_slot:
            case State::closed:
                break;
        }
        return true;
    }

    /// Waits until ready() or until `until`, whichever comes first; returns ready().
    bool wait_until(detail::ServiceClock::time_point until) {
        if (state_ != State::waiting) return ready();
        if (slots_->answered(index_)) return true;
        if (detail::on_worker_thread()) detail::throw_on_worker(slots_->name(), "Reply::wait");
        static_cast<void>(slots_->await(index_, std::min(until, deadline_)));
        return ready();
    }
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(detail::deadline_after(detail::ServiceClock::now(), timeout));
    }

    /// False once moved from or after get().
    [[nodiscard]] bool valid() const noexcept { return state_ != State::empty; }
    [[nodiscard]] detail::ServiceClock::time_point deadline() const noexcept { return deadline_; }

  private:
    template <class, class>
    friend class Service;
    enum class State : std::uint8_t { empty, waiting, no_slot, closed };

    Reply(std::shared_ptr<detail::ServiceSlots<Resp>> slots, State state, std::uint32_t index,
          detail::ServiceClock::time_point deadline, std::chrono::nanoseconds timeout) noexcept
        : slots_(std::move(slots)),
          deadline_(deadline),
          timeout_(timeout),
          index_(index),
          state_(state) {}

    void release() noexcept {
        if (state_ == State::waiting) slots_->abandon(index_);
        state_ = State::empty;
    }

    std::shared_ptr<detail::ServiceSlots<Resp>> slots_;
    detail::ServiceClock::time_point deadline_{};
    std::chrono::nanoseconds timeout_{-1};  // as asked, for messages; negative: a deadline
    std::uint32_t index_ = 0;
    State state_ = State::empty;
};

}  // namespace rill
