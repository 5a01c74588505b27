#pragma once
// StageContext: what a stage's open() hook learns about where it runs.

#include <string_view>

#include "rill/wait/event_count.hpp"

namespace rill {

class StageContext {
  public:
    StageContext(std::string_view stage, unsigned worker, EventCount& wake) noexcept
        : stage_(stage), worker_(worker), wake_(&wake) {}

    [[nodiscard]] std::string_view stage() const noexcept { return stage_; }
    [[nodiscard]] unsigned worker() const noexcept { return worker_; }
    /// Wakes the stage's worker if it is parked. A polling source whose data arrives from
    /// another thread calls this after making data available, so it needs no poll_interval.
    /// Safe to call from any thread while the run is going.
    void wake() const noexcept { wake_->notify_one(); }
    /// The EventCount the stage's worker parks on, for code that notifies it itself.
    [[nodiscard]] EventCount& events() const noexcept { return *wake_; }

  private:
    std::string_view stage_;
    unsigned worker_;
    EventCount* wake_;
};

}  // namespace rill
