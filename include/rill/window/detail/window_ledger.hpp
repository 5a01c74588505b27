#pragma once
// What every window operator shares: the count of items its open windows hold, of those
// released (once no window to come can contain them) and of those too late for any window
// (event time), which the window stage turns into the stage's `in_windows`, `out` and `late`;
// the bounds of time windows; and the stage's name and clock.

#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "rill/flow/stage_context.hpp"
#include "rill/time/clock.hpp"

namespace rill::detail {

class WindowLedger {
  public:
    [[nodiscard]] std::uint64_t held() const noexcept { return taken_ - released_ - late_; }
    [[nodiscard]] std::uint64_t released() const noexcept { return released_; }
    [[nodiscard]] std::uint64_t late() const noexcept { return late_; }
    /// The failure of emitting a window while adding an item: not the item's (it is in the
    /// window), so the stage fails the run with it (see WindowStage).
    [[nodiscard]] std::exception_ptr take_failure() noexcept { return std::exchange(failure_, {}); }

    void open(StageContext& context) {
        stage_ = std::string(context.stage());
        clock_ = &context.clock();
    }
    [[nodiscard]] Clock::time_point now() const noexcept { return clock_->now(); }

  protected:
    void hold() noexcept { ++taken_; }
    void release(std::uint64_t n) noexcept { released_ += n; }
    /// An item taken (hold()) that no window will take: too late for all of its windows.
    void count_late() noexcept { ++late_; }
    /// An item that comes after a window failed to close (see guarded()) is not taken: it
    /// errors, and the run fails with the emit's own error.
    [[noreturn]] void refuse_after_failed_close() const {
        throw std::runtime_error("rill: window stage '" + stage_ +
                                 "': a window before this item failed to close");
    }
    /// Forgets what is held (the run was cancelled): the stage counts it as dropped.
    void forget_held() noexcept { taken_ = released_ + late_; }
    /// Runs emit(), which closes windows after an item was added, keeping its exception.
    template <class Emit>
    void guarded(Emit&& emit) noexcept {
        try {
            emit();
        } catch (...) {
            if (!failure_) failure_ = std::current_exception();
        }
    }

    std::string stage_;

  private:
    // Two totals rather than a held count: hold() and release() then each write one field
    // (GCC pairs updates of adjacent counters into a vector add, which stalls on the scalar
    // store before it).
    std::uint64_t taken_ = 0;
    std::uint64_t released_ = 0;
    std::uint64_t late_ = 0;
    std::exception_ptr failure_;
    const Clock* clock_ = nullptr;
};

/// Window k of `size` on the clock: [bound(k), bound(k + 1)), aligned to the clock's epoch;
/// saturates at time_point::min() and max().
[[nodiscard]] inline Clock::time_point window_bound(std::int64_t k, Clock::duration size) noexcept {
    if (k >= Clock::duration::max().count() / size.count()) return Clock::time_point::max();
    if (k <= Clock::duration::min().count() / size.count()) return Clock::time_point::min();
    return Clock::time_point{} + k * size;
}
[[nodiscard]] inline std::int64_t window_index(Clock::time_point t, Clock::duration size) noexcept {
    return t.time_since_epoch() / size;
}
/// As window_index, rounding down for times before the epoch too (event times may be anything).
[[nodiscard]] inline std::int64_t floor_index(Clock::time_point t, Clock::duration size) noexcept {
    const std::int64_t q = t.time_since_epoch() / size;
    return (t.time_since_epoch() % size < Clock::duration::zero()) ? q - 1 : q;
}

}  // namespace rill::detail
