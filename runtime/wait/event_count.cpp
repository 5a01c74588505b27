#include "rill/wait/event_count.hpp"

#include "rill/detail/tsan.hpp"
#include "rill/wait/detail/futex.hpp"

// ThreadSanitizer does not model standalone fences. Under it the protocol uses its RMW form:
// prepare_wait and notify both read-modify-write waiters_, and the modification order of
// waiters_ decides which of the two came first, as the fences' total order does otherwise.

namespace rill {

EventCount::Key EventCount::prepare_wait() noexcept {
#if RILL_TSAN
    waiters_.fetch_add(1, std::memory_order_seq_cst);
#else
    // relaxed increment, then the fence: the fence orders it before the caller's condition check
    // and pairs with the fence in notify() (see the header's argument).
    waiters_.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
    // acquire: pairs with the release bump in notify(); seeing a bump means seeing the condition
    // that the notifier made true before it.
    return Key{epoch_.load(std::memory_order_acquire)};
}

void EventCount::finish_wait() noexcept {
    // relaxed: a notifier that still sees this waiter only pays a spare wake-up.
    waiters_.fetch_sub(1, std::memory_order_relaxed);
}

void EventCount::cancel_wait() noexcept {
    finish_wait();
}

void EventCount::wait(Key key) noexcept {
    // acquire: pairs with the release bump in notify(), as in prepare_wait().
    while (epoch_.load(std::memory_order_acquire) == key.epoch_) {
        detail::futex_wait_until(epoch_, key.epoch_, std::chrono::steady_clock::time_point::max());
    }
    finish_wait();
}

bool EventCount::wait_until(Key key, std::chrono::steady_clock::time_point deadline) noexcept {
    bool notified = true;
    // acquire: as in wait().
    while (epoch_.load(std::memory_order_acquire) == key.epoch_) {
        if (!detail::futex_wait_until(epoch_, key.epoch_, deadline)) {
            // acquire: as above; a notify racing with the timeout still counts.
            notified = epoch_.load(std::memory_order_acquire) != key.epoch_;
            break;
        }
    }
    finish_wait();
    return notified;
}

bool EventCount::has_waiters() noexcept {
#if RILL_TSAN
    return waiters_.fetch_add(0, std::memory_order_seq_cst) != 0;
#else
    // Pairs with the fence in prepare_wait(): either we see its waiter, or it sees the condition.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return waiters_.load(std::memory_order_relaxed) != 0;  // relaxed: ordered by the fence
#endif
}

void EventCount::notify(int n) noexcept {
    if (!has_waiters()) return;
    // release: pairs with the acquire loads of epoch_ in prepare_wait() and wait().
    epoch_.fetch_add(1, std::memory_order_release);
    detail::futex_wake(epoch_, n);
}

}  // namespace rill
