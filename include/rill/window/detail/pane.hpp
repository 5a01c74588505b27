#pragma once
// A pane: the aggregate of a key's items over one stretch of time (gcd(size, slide) long), with
// their count, so that a window with no item is known as such. Sliding time windows keep each
// key's last panes in a SlidingAggregator over PaneMerge, which merges panes with the
// aggregation's own merge, oldest first.

#include <cstdint>

namespace rill::detail {

template <class A>
struct Pane {
    typename A::accumulator acc;
    std::uint64_t count = 0;
};

template <class A>
struct PaneMerge {
    A agg;
    using accumulator = Pane<A>;
    [[nodiscard]] Pane<A> init() const { return {agg.init(), 0}; }
    void add(Pane<A>& acc, const Pane<A>& pane) const { acc = merge(acc, pane); }
    [[nodiscard]] Pane<A> merge(const Pane<A>& older, const Pane<A>& newer) const {
        return {agg.merge(older.acc, newer.acc), older.count + newer.count};
    }
    [[nodiscard]] const Pane<A>& result(const Pane<A>& acc) const { return acc; }
};

}  // namespace rill::detail
