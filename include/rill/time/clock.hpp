#pragma once
// Clock: the time that stage timers (on_timer), a source's poll_interval and StageContext::now()
// read. One per Runtime (RuntimeOptions::clock): steady time by default; a ManualClock moves only
// when a test says so, so a test of timers or time windows neither sleeps nor races the machine.
// Run deadlines and the timeouts of the API (Run::wait_for, stop, service calls) stay in real
// steady time whatever the clock.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "rill/wait/event_count.hpp"

namespace rill {

class Clock {
  public:
    /// Points of steady_clock's type whatever the clock, so they mix with the API's deadlines.
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    Clock() = default;
    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;
    virtual ~Clock() = default;

    [[nodiscard]] virtual time_point now() const noexcept = 0;
    /// The steady_clock time until which a worker whose nearest timer is `timer` may park:
    /// `timer` itself for real time; for a clock that moves by hand, no limit unless the timer
    /// is already due (the move wakes the worker, see attach()).
    [[nodiscard]] virtual time_point park_until(time_point timer) const noexcept = 0;
    /// A runtime registers its workers' EventCounts here when it starts; a clock that moves by
    /// hand notifies them on every move. The clock keeps weak references only.
    virtual void attach(const std::shared_ptr<EventCount>& waker) { static_cast<void>(waker); }
};

/// std::chrono::steady_clock: the default.
class SteadyClock final : public Clock {
  public:
    [[nodiscard]] time_point now() const noexcept override {
        return std::chrono::steady_clock::now();
    }
    [[nodiscard]] time_point park_until(time_point timer) const noexcept override { return timer; }
};

/// A clock that moves only by advance() or set(), from any thread; it never goes back. Starts at
/// `start` (by default an arbitrary point one hour after steady_clock's epoch, so that tests may
/// subtract from it).
class ManualClock final : public Clock {
  public:
    explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1)) noexcept;

    [[nodiscard]] time_point now() const noexcept override;
    [[nodiscard]] time_point park_until(time_point timer) const noexcept override;
    void attach(const std::shared_ptr<EventCount>& waker) override;

    /// Moves the clock forward by d (throws std::invalid_argument for a negative d) and wakes
    /// the workers of every runtime that uses it, which then fire the timers that came due.
    void advance(duration d);
    /// Moves the clock to t (throws std::invalid_argument for a t before now()).
    void set(time_point t);

  private:
    void moved();

    // relaxed would do for a single thread; the acquire/release pair lets a thread that sees the
    // new time also see what the mover wrote before advance() (a test's inputs).
    std::atomic<time_point::rep> now_;
    std::mutex wakers_mutex_;
    std::vector<std::weak_ptr<EventCount>> wakers_;
};

}  // namespace rill
