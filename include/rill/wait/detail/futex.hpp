#pragma once
// Futex: sleep on a 32-bit atomic word until another thread changes it and wakes the sleepers
// (Linux futex, private to the process). EventCount (its epoch word) and a service slot's state
// word both sleep through these two functions.
//
// The system call compares the word with `expected` and queues the caller atomically with
// respect to a wake on the same word, so a waker that changes the word and then wakes can never
// be missed: either the sleeper's comparison sees the new value and returns at once, or it is
// queued before the wake. Wake-ups may be spurious: callers re-read the word.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace rill::detail {

static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                  sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "the futex needs a plain 32-bit atomic word");

/// Sleeps while `word` holds `expected`, until woken or until `deadline` (steady_clock;
/// time_point::max() waits without one). Returns false only when the deadline passed. May return
/// spuriously or because the word changed: re-read it.
bool futex_wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;

/// Wakes up to n threads sleeping on `word`. Only the address is used: waking a word nobody
/// waits on, or one whose memory was reused for the same kind of word, is a harmless no-op.
void futex_wake(std::atomic<std::uint32_t>& word, int n) noexcept;
inline void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
    futex_wake(word, 0x7fffffff);
}

}  // namespace rill::detail
