#pragma once
// StageContext: what a stage's open() hook learns about where it runs.

#include <cstddef>
#include <memory>
#include <string_view>

#include "rill/time/clock.hpp"
#include "rill/wait/event_count.hpp"

namespace rill {

class StageContext {
  public:
    /// `clock` null: steady time.
    StageContext(std::string_view stage, unsigned worker, std::shared_ptr<EventCount> wake,
                 std::size_t replica = 0, std::size_t replicas = 1,
                 const Clock* clock = nullptr) noexcept
        : stage_(stage),
          worker_(worker),
          replica_(replica),
          replicas_(replicas),
          wake_(std::move(wake)),
          clock_(clock) {}

    /// The stage's name; a replica's is `name[j]`.
    [[nodiscard]] std::string_view stage() const noexcept { return stage_; }
    [[nodiscard]] unsigned worker() const noexcept { return worker_; }
    /// Which copy of a replicated stage this is (0 when the stage has one).
    [[nodiscard]] std::size_t replica() const noexcept { return replica_; }
    [[nodiscard]] std::size_t replicas() const noexcept { return replicas_; }
    /// Wakes the stage's worker if it is parked. A polling source whose data arrives from
    /// another thread calls this after making data available, so it needs no poll_interval.
    void wake() const noexcept { wake_->notify_one(); }
    /// The EventCount the stage's worker parks on, owned: a source may keep it and notify it
    /// from any thread, even after the run or the runtime has ended (it then wakes nobody).
    [[nodiscard]] const std::shared_ptr<EventCount>& waker() const noexcept { return wake_; }
    /// The runtime's clock (RuntimeOptions::clock): the time of on_timer and next_timer. A stage
    /// may keep the reference for the run.
    [[nodiscard]] const Clock& clock() const noexcept {
        static const SteadyClock steady;
        return clock_ != nullptr ? *clock_ : steady;
    }
    [[nodiscard]] Clock::time_point now() const noexcept { return clock().now(); }

  private:
    std::string_view stage_;
    unsigned worker_;
    std::size_t replica_;
    std::size_t replicas_;
    std::shared_ptr<EventCount> wake_;
    const Clock* clock_;
};

}  // namespace rill
