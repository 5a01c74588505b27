#include "rill/time/clock.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "rill/detail/deadline.hpp"

namespace rill {

ManualClock::ManualClock(time_point start) noexcept : now_(start.time_since_epoch().count()) {}

Clock::time_point ManualClock::now() const noexcept {
    // acquire: pairs with the release in set(); see now_.
    return time_point(duration(now_.load(std::memory_order_acquire)));
}

Clock::time_point ManualClock::park_until(time_point timer) const noexcept {
    // A due timer: no parking (returns a past point). Otherwise only a move can bring it closer.
    return timer <= now() ? time_point::min() : time_point::max();
}

void ManualClock::attach(const std::shared_ptr<EventCount>& waker) {
    std::lock_guard lock(wakers_mutex_);
    std::erase_if(wakers_, [](const std::weak_ptr<EventCount>& w) { return w.expired(); });
    wakers_.push_back(waker);
}

void ManualClock::advance(duration d) {
    if (d < duration::zero()) {
        throw std::invalid_argument("rill::ManualClock::advance: the step is " +
                                    std::to_string(d.count()) +
                                    " ns; expected zero or more (the clock never goes back)");
    }
    set(detail::deadline_after(now(), d));  // saturates: a huge step lands on time_point::max()
}

void ManualClock::set(time_point t) {
    // A compare-exchange loop: two movers at once must not take the clock back.
    time_point::rep current = now_.load(std::memory_order_relaxed);  // relaxed: checked below
    do {
        if (t.time_since_epoch().count() < current) {
            throw std::invalid_argument(
                "rill::ManualClock::set: " + std::to_string(t.time_since_epoch().count()) +
                " ns is before the clock's " + std::to_string(current) +
                " ns; expected a time at or after now() (the clock never goes back)");
        }
        // release on success: publishes what the mover wrote before; pairs with the acquire in
        // now(). relaxed on failure: `current` is only compared again.
    } while (!now_.compare_exchange_weak(current, t.time_since_epoch().count(),
                                         std::memory_order_release, std::memory_order_relaxed));
    moved();
}

void ManualClock::moved() {
    std::lock_guard lock(wakers_mutex_);
    for (const std::weak_ptr<EventCount>& w : wakers_) {
        if (const std::shared_ptr<EventCount> waker = w.lock()) waker->notify_all();
    }
}

}  // namespace rill
