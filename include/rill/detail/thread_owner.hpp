#pragma once
// Debug check that one side of a single-threaded-per-side structure (an SPSC ring's producer or
// consumer) is used by one thread only. Compiled out unless RILL_CHECKS.

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

}  // namespace rill::detail
