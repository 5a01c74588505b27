#pragma once
#include <thread>

#include "rill/detail/cpu_relax.hpp"

namespace rill::detail {

/// Waiting for another thread that is expected to finish within nanoseconds: pause kSpins rounds,
/// then give the core away once (the other thread may be preempted, or share our core), and
/// repeat.
class Backoff {
  public:
    static constexpr unsigned kSpins = 64;

    void pause() noexcept {
        if (spins_ < kSpins) {
            ++spins_;
            cpu_relax();
        } else {
            spins_ = 0;
            std::this_thread::yield();
        }
    }
    void reset() noexcept { spins_ = 0; }
    /// True when the next pause() yields.
    [[nodiscard]] bool yielding() const noexcept { return spins_ >= kSpins; }

  private:
    unsigned spins_ = 0;
};

}  // namespace rill::detail
