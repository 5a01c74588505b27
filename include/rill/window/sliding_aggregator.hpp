#pragma once
// SlidingAggregator<T, A>: the aggregate of the last items of a stream, up to a fixed capacity,
// as items arrive at one end and leave at the other, in O(1) amortized per item whatever the
// window's length: a window never rescans its items.
//
// * Invertible A (with remove): one running accumulator; push adds, evict removes the oldest.
// * Any other A (min, max, floating sums, order-sensitive folds): "two stacks" in one ring of
//   partial aggregates. Positions [front, split) hold suffix aggregates (part[i] = items i..split-1
//   merged, oldest first), positions [split, back) hold each item's own aggregate and back_ is
//   their running merge. aggregate() = merge(part[front], back_). When the front stack runs out,
//   an evict turns the back one into suffix aggregates in one sweep from newest to oldest
//   (the flip): each item takes part in one flip while it is held, so evicts cost O(1) amortized
//   and merge is called in oldest-to-newest order throughout, which keeps non-commutative A right.
//
// Storage is allocated once, in the constructor: nothing in push or evict. One thread at a time.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rill/detail/assert.hpp"
#include "rill/window/aggregation.hpp"

namespace rill {

template <class T, class A>
requires Aggregation<A, T>
class SlidingAggregator {
  public:
    using accumulator = typename A::accumulator;
    static constexpr bool kInvertible = InvertibleAggregation<A, T>;

    /// Throws std::invalid_argument for a capacity of 0.
    explicit SlidingAggregator(std::size_t capacity, A aggregation = {})
        : agg_(std::move(aggregation)), capacity_(capacity), back_acc_(agg_.init()) {
        if (capacity == 0) {
            throw std::invalid_argument(
                "rill::SlidingAggregator: capacity is 0; expected at least 1 item");
        }
        if constexpr (kInvertible) {
            items_.resize(capacity);
        } else {
            parts_.resize(capacity, agg_.init());
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return back_ - front_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool empty() const noexcept { return back_ == front_; }
    [[nodiscard]] const A& aggregation() const noexcept { return agg_; }

    /// Adds the newest item. The window must not be full (evict first).
    void push(const T& item) {
        RILL_ASSERT(size() < capacity_, "rill::SlidingAggregator::push on a full window");
        if constexpr (kInvertible) {
            items_[back_slot_] = item;
        } else {
            accumulator& part = parts_[back_slot_];
            part = agg_.init();
            agg_.add(part, item);
        }
        agg_.add(back_acc_, item);
        ++back_;
        back_slot_ = next_slot(back_slot_);
    }

    /// Removes the oldest item. The window must not be empty.
    void evict() {
        RILL_ASSERT(!empty(), "rill::SlidingAggregator::evict on an empty window");
        if constexpr (kInvertible) {
            agg_.remove(back_acc_, items_[front_slot_]);
        } else {
            if (front_ == split_) flip();
        }
        ++front_;
        front_slot_ = next_slot(front_slot_);
    }

    /// The aggregate of every item held, oldest first (init() when empty).
    [[nodiscard]] accumulator aggregate() const {
        if constexpr (!kInvertible) {
            if (front_ != split_) return agg_.merge(parts_[front_slot_], back_acc_);
        }
        return back_acc_;
    }
    [[nodiscard]] auto result() const { return agg_.result(aggregate()); }

    void clear() {
        front_ = back_ = split_ = 0;
        front_slot_ = back_slot_ = 0;
        back_acc_ = agg_.init();
    }

  private:
    /// The back stack becomes the front one: suffix aggregates from the newest item back.
    void flip() {
        std::size_t newer = prev_slot(back_slot_);
        for (std::size_t n = back_ - front_ - 1; n > 0; --n) {
            const std::size_t older = prev_slot(newer);
            parts_[older] = agg_.merge(parts_[older], parts_[newer]);
            newer = older;
        }
        split_ = back_;
        back_acc_ = agg_.init();
    }

    // Slots wrap by a compare, not a division: capacities need not be powers of two.
    [[nodiscard]] std::size_t next_slot(std::size_t slot) const noexcept {
        return slot + 1 == capacity_ ? 0 : slot + 1;
    }
    [[nodiscard]] std::size_t prev_slot(std::size_t slot) const noexcept {
        return slot == 0 ? capacity_ - 1 : slot - 1;
    }

    A agg_;
    std::size_t capacity_;
    // Positions count pushes and evicts since construction (or clear), 64 bits: they never wrap.
    // A position's slot is position % capacity, kept alongside for the two ends.
    std::size_t front_ = 0;           // oldest item held
    std::size_t split_ = 0;           // first item of the back stack (two stacks only)
    std::size_t back_ = 0;            // one past the newest
    std::size_t front_slot_ = 0;      // front_ % capacity
    std::size_t back_slot_ = 0;       // back_ % capacity
    accumulator back_acc_;            // invertible: all items; two stacks: the back stack's
    std::vector<T> items_;            // invertible only: what to remove on evict
    std::vector<accumulator> parts_;  // two stacks only
};

}  // namespace rill
