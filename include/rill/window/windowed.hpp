#pragma once
// Windowed<V, K, Bound>: what a window stage emits, one per window (and key): the key, the
// window's bounds [start, end) and the aggregate. Bounds are Clock::time_point for time windows
// and item positions for count windows (the key's items numbered from 0: a window of items 10 to
// 19 is [10, 20)). A window that is not keyed has the empty key NoKey.

#include <cstdint>

#include "rill/time/clock.hpp"

namespace rill {

struct NoKey {
    friend constexpr bool operator==(NoKey, NoKey) noexcept { return true; }
};

template <class V, class K = NoKey, class Bound = Clock::time_point>
struct Windowed {
    [[no_unique_address]] K key{};
    Bound start{};
    Bound end{};
    V value{};
    friend bool operator==(const Windowed&, const Windowed&) = default;
};

/// A count window's bounds: positions in the key's items.
using ItemPosition = std::uint64_t;

}  // namespace rill
