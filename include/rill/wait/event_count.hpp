#pragma once
// EventCount: lets a thread sleep until a condition, checked without locks, may have become true.
//
//   Waiter                                   Notifier
//   auto key = ec.prepare_wait();            make the condition true (any store)
//   if (condition()) ec.cancel_wait();       ec.notify_one();   // or notify_all()
//   else ec.wait(key);
//
// Why no wake-up is lost: prepare_wait increments waiters_ and then issues a seq_cst fence before
// the caller checks the condition; notify issues a seq_cst fence after the caller made the
// condition true and before it reads waiters_. In the single total order of seq_cst fences one
// comes first: if the waiter's fence does, the notifier sees waiters_ > 0, bumps epoch_ and wakes;
// if the notifier's does, the waiter's check sees the condition true and does not sleep.
// A waiter that read its key before the bump finds epoch_ != key at the futex and returns at once;
// one that read the key after the bump also sees the condition (the bump is a release that its
// acquire read of epoch_ synchronizes with), so it never sleeps on a notify it missed.
// A notify with nobody waiting costs one fence and one load: no RMW, no system call.
//
// The epoch is 32 bits (a futex word) and wraps. A waiter sleeps through a notify only if, between
// its key read in prepare_wait and the futex call in wait, the epoch moved by an exact multiple of
// 2^32, so that the futex finds the key's value again. Each bump is a notify that saw a waiter and
// then made a FUTEX_WAKE system call (a microsecond or more), so that takes the waiter stopped in
// that window of a few instructions for over an hour while notifies keep coming: only a thread
// held there (by a debugger) could see it. We accept that; Linux has no 64-bit futex word.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "rill/detail/deadline.hpp"

namespace rill {

class EventCount {
  public:
    /// Opaque ticket from prepare_wait(): the epoch the waiter saw.
    class Key {
        friend class EventCount;
        explicit Key(std::uint32_t epoch) noexcept : epoch_(epoch) {}
        std::uint32_t epoch_;
    };

    EventCount() noexcept = default;
    EventCount(const EventCount&) = delete;
    EventCount& operator=(const EventCount&) = delete;

    /// Announces a waiter. Check the condition after this, then call cancel_wait() or wait().
    [[nodiscard]] Key prepare_wait() noexcept;
    /// Withdraws a prepare_wait() whose condition turned out true.
    void cancel_wait() noexcept;
    /// Sleeps until a notify after prepare_wait(); may also return spuriously, so re-check.
    void wait(Key key) noexcept;
    /// As wait(), but gives up at `deadline`. Returns false on timeout.
    bool wait_until(Key key, std::chrono::steady_clock::time_point deadline) noexcept;
    template <class Rep, class Period>
    bool wait_for(Key key, std::chrono::duration<Rep, Period> timeout) noexcept {
        return wait_until(key, detail::deadline_after(timeout));
    }

    /// Wakes one waiter, if any.
    void notify_one() noexcept { notify(1); }
    /// Wakes every waiter.
    void notify_all() noexcept { notify(kAll); }

    /// The notifier's half of the protocol without the wake-up: after making the condition true,
    /// tells whether a waiter may be sleeping on it (then notify). Costs what an idle notify does.
    [[nodiscard]] bool has_waiters() noexcept;

    /// Threads between prepare_wait() and the end of their wait, at some moment during the call.
    [[nodiscard]] std::uint32_t waiters_approx() const noexcept {
        // relaxed: a statistic.
        return waiters_.load(std::memory_order_relaxed);
    }

  private:
    static constexpr int kAll = 0x7fffffff;
    void notify(int n) noexcept;
    void finish_wait() noexcept;

    // Both words on one line: every operation touches both.
    std::atomic<std::uint32_t> epoch_{0};    // the futex word; bumped by a notify that saw waiters
    std::atomic<std::uint32_t> waiters_{0};  // threads between prepare_wait and end of wait
    static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                      sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
                  "the futex needs a plain 32-bit atomic word");
};

}  // namespace rill
