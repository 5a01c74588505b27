#pragma once
// Debug checks for the sides of single-threaded-per-side structures (an SPSC ring's producer or
// consumer): one thread per side, and runs given back no larger than handed out. Compiled out
// unless RILL_CHECKS.

#include <cstddef>

#include "rill/detail/assert.hpp"

#if RILL_CHECKS
#include <atomic>
#include <thread>
#endif

namespace rill::detail {

#if RILL_CHECKS
class ThreadOwner {
  public:
    /// The first thread to call this owns the side; any other thread is a misuse and aborts.
    void check(const char* misuse_message) noexcept {
        const std::thread::id me = std::this_thread::get_id();
        // relaxed: the owner id is only compared, it publishes nothing.
        std::thread::id seen = owner_.load(std::memory_order_relaxed);
        if (seen == me) return;
        if (seen == std::thread::id{} &&
            // relaxed: as above; a lost race leaves the winner's id in `seen`.
            owner_.compare_exchange_strong(seen, me, std::memory_order_relaxed)) {
            return;
        }
        if (seen != me) assert_fail("one thread per side", misuse_message, __FILE__, __LINE__);
    }

  private:
    std::atomic<std::thread::id> owner_{};
};
#else
class ThreadOwner {
  public:
    void check(const char*) noexcept {}
};
#endif

/// Debug record of the size of the last run handed out (claim/peek), so that the matching
/// publish/release cannot pass more. Empty and free unless RILL_CHECKS.
class RunSize {
  public:
#if RILL_CHECKS
    void remember(std::size_t n) noexcept {
        size_ = n;
    }
    void check_and_forget(std::size_t k, const char* misuse_message) noexcept {
        if (k > size_) assert_fail("k <= size of the run", misuse_message, __FILE__, __LINE__);
        size_ = 0;
    }

  private:
    std::size_t size_ = 0;
#else
    void remember(std::size_t) noexcept {}
    void check_and_forget(std::size_t, const char*) noexcept {}
#endif
};

}  // namespace rill::detail
