#pragma once
// Waiter: runs a WaitPolicy for one thread, against an EventCount, until a condition holds.

#include <chrono>
#include <cstdint>
#include <thread>

#include "rill/detail/cpu_relax.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"

namespace rill {

/// What a Waiter did, for metrics: rounds spun, yields, parks, timeouts.
struct WaitStats {
    std::uint64_t spins = 0;
    std::uint64_t yields = 0;
    std::uint64_t parks = 0;
    std::uint64_t timeouts = 0;
};

class Waiter {
  public:
    /// Throws std::invalid_argument when the policy is invalid.
    explicit Waiter(WaitPolicy policy) : policy_(policy) { policy_.validate(); }

    /// Returns once ready() is true (true), or at `deadline` (ready()'s last value). The thread
    /// that makes ready() true must then call notify_one() or notify_all() on `events`.
    template <class Ready>
    bool wait(EventCount& events, Ready&& ready,
              std::chrono::steady_clock::time_point deadline =
                  std::chrono::steady_clock::time_point::max()) {
        if (ready()) return true;
        using Mode = WaitPolicy::Mode;
        const bool forever = policy_.mode == Mode::busy_spin;
        const std::uint32_t spins = policy_.mode == Mode::park ? 0 : policy_.spin;
        for (std::uint64_t i = 1; forever || i <= spins; ++i) {
            detail::cpu_relax();
            ++stats_.spins;
            if (ready()) return true;
            if (i % kClockEvery == 0 && past(deadline)) return timed_out(ready);
        }
        const bool yield_forever = policy_.mode == Mode::spin_yield;
        const std::uint32_t yields = policy_.mode == Mode::spin_park ? policy_.yield : 0;
        for (std::uint64_t i = 0; yield_forever || i < yields; ++i) {
            std::this_thread::yield();
            ++stats_.yields;
            if (ready()) return true;
            if (past(deadline)) return timed_out(ready);
        }
        for (;;) {
            const EventCount::Key key = events.prepare_wait();
            bool now_ready = false;
            try {
                now_ready = ready();
            } catch (...) {
                events.cancel_wait();  // a throwing condition must not leave a phantom waiter
                throw;
            }
            if (now_ready) {
                events.cancel_wait();
                return true;
            }
            ++stats_.parks;
            if (!events.wait_until(key, deadline)) return timed_out(ready);
            if (ready()) return true;
        }
    }

    [[nodiscard]] const WaitPolicy& policy() const noexcept { return policy_; }
    [[nodiscard]] const WaitStats& stats() const noexcept { return stats_; }

  private:
    static constexpr std::uint64_t kClockEvery = 256;  // spins between deadline checks

    static bool past(std::chrono::steady_clock::time_point deadline) noexcept {
        return deadline != std::chrono::steady_clock::time_point::max() &&
               std::chrono::steady_clock::now() >= deadline;
    }
    template <class Ready>
    bool timed_out(Ready& ready) {
        if (ready()) return true;
        ++stats_.timeouts;
        return false;
    }

    WaitPolicy policy_;
    WaitStats stats_;
};

}  // namespace rill
