#include "rill/wait/event_count.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "rill/detail/tsan.hpp"

// ThreadSanitizer does not model standalone fences. Under it the protocol uses its RMW form:
// prepare_wait and notify both read-modify-write waiters_, and the modification order of
// waiters_ decides which of the two came first, as the fences' total order does otherwise.

namespace rill {
namespace {

std::uint32_t* futex_word(std::atomic<std::uint32_t>& a) noexcept {
    return reinterpret_cast<std::uint32_t*>(&a);
}

/// Sleeps while *word == expected, until woken or until the absolute CLOCK_MONOTONIC deadline
/// (null: none). Returns false only on timeout.
bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const timespec* deadline) noexcept {
    const long rc = syscall(SYS_futex, futex_word(word), FUTEX_WAIT_BITSET_PRIVATE, expected,
                            deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(std::atomic<std::uint32_t>& word, int n) noexcept {
    syscall(SYS_futex, futex_word(word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

}  // namespace

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
        futex_wait(epoch_, key.epoch_, nullptr);
    }
    finish_wait();
}

bool EventCount::wait_until(Key key, std::chrono::steady_clock::time_point deadline) noexcept {
    // steady_clock is CLOCK_MONOTONIC on Linux, the clock FUTEX_WAIT_BITSET measures against.
    // A deadline before the clock's epoch is simply past: clamp it, since futex rejects a
    // negative time with EINVAL rather than timing out.
    const auto since_epoch =
        std::max(deadline.time_since_epoch(), std::chrono::steady_clock::duration::zero());
    const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const timespec ts{
        .tv_sec = static_cast<time_t>(secs.count()),
        .tv_nsec = static_cast<long>(std::chrono::nanoseconds(since_epoch - secs).count())};
    bool notified = true;
    // acquire: as in wait().
    while (epoch_.load(std::memory_order_acquire) == key.epoch_) {
        if (!futex_wait(epoch_, key.epoch_, &ts)) {
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
    futex_wake(epoch_, n);
}

}  // namespace rill
