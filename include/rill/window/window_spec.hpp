#pragma once
// What a window stage groups items by (stream.window(name, spec, aggregation)):
//
//   count_window(size)            tumbling: every `size` items of a key, one result
//   count_window(size, slide)     sliding: every `slide` items, the last `size` items (Flink's
//                                 countWindow: the first windows hold fewer than `size`)
//   tumbling_window(size)         processing time: [k*size, (k+1)*size) on the runtime's clock
//   sliding_window(size, slide)   processing time: every `slide`, the last `size`
//   session_window(gap)           processing time: a key's items until it is quiet for `gap`
//
// Time windows are aligned to the clock's epoch (Clock::time_point{}); an item belongs to the
// window of the time its stage takes it in. At the end of input every open window is emitted
// once, partial ones included; on cancel what windows hold is counted as dropped.
//
// `max_keys` bounds the keys a stage (each replica) keeps state for: the item of one key more
// fails as an error of the stage (by its policy), naming the limit, rather than letting state
// grow without bound.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>

#include "rill/flow/stage_options.hpp"
#include "rill/time/clock.hpp"
#include "rill/time/detail/duration_text.hpp"

namespace rill {

inline constexpr std::size_t kDefaultWindowKeys = std::size_t{1} << 20;

struct CountWindow {
    std::uint64_t size = 0;   ///< items per window (>= 1)
    std::uint64_t slide = 0;  ///< items between results (1 to size); 0: size (tumbling)
    std::size_t max_keys = kDefaultWindowKeys;
};
struct TumblingWindow {
    Clock::duration size{};  ///< > 0
    std::size_t max_keys = kDefaultWindowKeys;
};
struct SlidingWindow {
    Clock::duration size{};   ///< > 0
    Clock::duration slide{};  ///< > 0 and <= size
    std::size_t max_keys = kDefaultWindowKeys;
};
struct SessionWindow {
    Clock::duration gap{};  ///< > 0: a key's session ends after `gap` without an item
    std::size_t max_keys = kDefaultWindowKeys;
};

[[nodiscard]] constexpr CountWindow count_window(std::uint64_t size,
                                                 std::uint64_t slide = 0) noexcept {
    return {.size = size, .slide = slide};
}
[[nodiscard]] constexpr TumblingWindow tumbling_window(Clock::duration size) noexcept {
    return {.size = size};
}
[[nodiscard]] constexpr SlidingWindow sliding_window(Clock::duration size,
                                                     Clock::duration slide) noexcept {
    return {.size = size, .slide = slide};
}
[[nodiscard]] constexpr SessionWindow session_window(Clock::duration gap) noexcept {
    return {.gap = gap};
}

namespace detail {

inline void check_max_keys(std::string_view stage, std::size_t max_keys) {
    if (max_keys == 0) invalid_stage(stage, "window max_keys is 0; expected at least 1");
}

/// Throws std::invalid_argument naming the stage and the value: see the fields above.
inline void validate_window(std::string_view stage, const CountWindow& w) {
    if (w.size == 0) invalid_stage(stage, "count_window size is 0; expected at least 1 item");
    if (w.slide > w.size) {
        invalid_stage(stage, "count_window slide " + std::to_string(w.slide) +
                                 " is larger than its size " + std::to_string(w.size) +
                                 "; expected 1 to size (items between windows would belong to "
                                 "none)");
    }
    check_max_keys(stage, w.max_keys);
}
inline void validate_window(std::string_view stage, const TumblingWindow& w) {
    if (w.size <= Clock::duration::zero()) {
        invalid_stage(stage, "tumbling_window size " + duration_text(w.size) + " is not positive");
    }
    check_max_keys(stage, w.max_keys);
}
inline void validate_window(std::string_view stage, const SlidingWindow& w) {
    if (w.size <= Clock::duration::zero() || w.slide <= Clock::duration::zero()) {
        invalid_stage(stage, "sliding_window size " + duration_text(w.size) + " and slide " +
                                 duration_text(w.slide) + ": expected both positive");
    }
    if (w.slide > w.size) {
        invalid_stage(stage, "sliding_window slide " + duration_text(w.slide) +
                                 " is larger than its size " + duration_text(w.size) +
                                 "; expected at most size (items between windows would belong "
                                 "to none)");
    }
    // The panes are gcd(size, slide) long; a window of more than 2^20 panes would make every
    // key's state that large (1 s windows sliding by 1 us, say).
    const auto pane = std::gcd(w.size.count(), w.slide.count());
    if (w.size.count() / pane > (std::int64_t{1} << 20)) {
        invalid_stage(stage, "sliding_window size " + duration_text(w.size) + " and slide " +
                                 duration_text(w.slide) + " make " +
                                 std::to_string(w.size.count() / pane) +
                                 " panes of gcd(size, slide) per window; expected at most 2^20");
    }
    check_max_keys(stage, w.max_keys);
}
inline void validate_window(std::string_view stage, const SessionWindow& w) {
    if (w.gap <= Clock::duration::zero()) {
        invalid_stage(stage, "session_window gap " + duration_text(w.gap) + " is not positive");
    }
    check_max_keys(stage, w.max_keys);
    if (w.max_keys >= (std::size_t{1} << 32) - 1) {
        invalid_stage(stage, "session_window max_keys " + std::to_string(w.max_keys) +
                                 " is too large; expected below 2^32 - 1 sessions");
    }
}

}  // namespace detail
}  // namespace rill
