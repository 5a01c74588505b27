#pragma once
// The operators of processing-time windows, tumbling and sliding. An item belongs to the window
// of the time its stage takes it in (read once per batch); windows close on the stage's timer,
// or earlier when an item of a later window arrives.
//
// Tumbling: one window is open at a time for all keys (time only moves forward), so a key's
// state is an accumulator and a count, and closing emits and clears every key.
//
// Sliding: time is cut into panes of gcd(size, slide); a window is size/pane consecutive panes.
// Each key keeps its current pane's aggregate and a SlidingAggregator of its last closed panes
// (merged with A's merge, oldest first), so a result costs O(1) amortized whatever size/slide
// is: panes are never re-aggregated. A key whose panes are all empty is dropped, its state kept
// for the next new key (so keys that come and go allocate nothing in steady state). At every pane
// boundary each key's pane moves into its aggregator: O(keys) per pane, and once nothing is held
// the operator jumps over idle time instead of stepping through it.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/flow/emitter.hpp"
#include "rill/window/aggregation.hpp"
#include "rill/window/detail/pane.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/sliding_aggregator.hpp"
#include "rill/window/window_spec.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

template <class T, class A, class KeyFn>
class TumblingTimeOp : public WindowLedger {
    using Acc = typename A::accumulator;

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, Clock::time_point>;
    static constexpr bool kUsesClock = true;

    TumblingTimeOp(const TumblingWindow& spec, A agg, KeyFn key)
        : agg_(std::move(agg)), key_(std::move(key)), size_(spec.size), states_(spec.max_keys) {}

    void add(T&& item, Clock::time_point now, Emitter<output_type>& out) {
        const std::int64_t window = window_index(now, size_);
        if (held() != 0 && window != window_) {
            guarded([&] { close(out); });
            if (held() != 0) refuse_after_failed_close();
        }
        window_ = window;
        const key_type key = std::invoke(key_, std::as_const(item));
        State& s = states_.get(key, stage_, [&] { return State{agg_.init()}; });
        agg_.add(s.acc, std::as_const(item));
        ++s.count;
        hold();
    }

    [[nodiscard]] Clock::time_point next_timer() const noexcept {
        return held() != 0 ? window_bound(window_ + 1, size_) : Clock::time_point::max();
    }
    void on_timer(Clock::time_point now, Emitter<output_type>& out) {
        if (held() != 0 && now >= window_bound(window_ + 1, size_)) close(out);
    }
    void finish(Emitter<output_type>& out) {
        if (held() != 0) close(out);
    }
    void discard() noexcept {
        states_.clear();
        forget_held();
    }

  private:
    struct State {
        Acc acc;
        std::uint64_t count = 0;
    };

    void close(Emitter<output_type>& out) {
        const Clock::time_point start = window_bound(window_, size_);
        const Clock::time_point end = window_bound(window_ + 1, size_);
        states_.for_each([&](const key_type& key, State& s) {
            out.emit_with([&] { return output_type{key, start, end, agg_.result(s.acc)}; });
        });
        release(held());
        states_.clear();
    }

    A agg_;
    KeyFn key_;
    Clock::duration size_;
    std::int64_t window_ = 0;  // the open window's index, while something is held
    PerKey<key_type, State> states_;
};

template <class T, class A, class KeyFn>
class SlidingTimeOp : public WindowLedger {
    using Acc = typename A::accumulator;

    using Pane = detail::Pane<A>;
    using PaneMerge = detail::PaneMerge<A>;
    using Panes = SlidingAggregator<Pane, PaneMerge>;

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, Clock::time_point>;
    static constexpr bool kUsesClock = true;

    SlidingTimeOp(const SlidingWindow& spec, A agg, KeyFn key)
        : agg_(std::move(agg)),
          key_(std::move(key)),
          pane_(Clock::duration(std::gcd(spec.size.count(), spec.slide.count()))),
          panes_per_window_(static_cast<std::uint64_t>(spec.size / pane_)),
          panes_per_slide_(static_cast<std::uint64_t>(spec.slide / pane_)),
          states_(spec.max_keys),
          pane_items_(panes_per_window_ + 1, 0) {}

    void add(T&& item, Clock::time_point now, Emitter<output_type>& out) {
        const std::int64_t pane = window_index(now, pane_);
        if (pane > pane_index_) {
            guarded([&] { advance(pane, out); });
            if (pane > pane_index_) refuse_after_failed_close();
        }
        const key_type key = std::invoke(key_, std::as_const(item));
        State& s = states_.get(key, stage_, [&] {
            if (spare_.empty()) {
                // Room for every state there is to retire at once, and its key, from now on.
                const std::size_t states = states_.size() + 1;
                if (spare_.capacity() < states) spare_.reserve(2 * states);
                if (doomed_.capacity() < states) doomed_.reserve(2 * states);
                return State{PaneMerge{agg_}.init(), Panes(panes_per_window_, PaneMerge{agg_})};
            }
            State reused = std::move(spare_.back());  // emptied, with its aggregator's storage
            spare_.pop_back();
            return reused;
        });
        agg_.add(s.current.acc, std::as_const(item));
        ++s.current.count;
        ++pane_items_[slot(pane_index_)];
        hold();
    }

    /// The next window end (a multiple of the slide) while anything is held.
    [[nodiscard]] Clock::time_point next_timer() const noexcept {
        if (held() == 0) return Clock::time_point::max();
        const auto slide = static_cast<std::int64_t>(panes_per_slide_);
        const std::int64_t next_end = (pane_index_ / slide + 1) * slide;
        return window_bound(next_end, pane_);
    }
    void on_timer(Clock::time_point now, Emitter<output_type>& out) {
        const std::int64_t pane = window_index(now, pane_);
        if (pane > pane_index_) advance(pane, out);
    }
    /// End of input: every window still to come that holds an item, once.
    void finish(Emitter<output_type>& out) {
        while (held() != 0)
            boundary(out);
    }
    void discard() noexcept {
        states_.clear();
        spare_.clear();
        std::fill(pane_items_.begin(), pane_items_.end(), 0);
        forget_held();
    }

  private:
    struct State {
        Pane current;  // the key's items in the open pane
        Panes closed;  // its last panes_per_window_ closed panes
    };

    [[nodiscard]] std::size_t slot(std::int64_t pane) const noexcept {
        return static_cast<std::size_t>(static_cast<std::uint64_t>(pane) % pane_items_.size());
    }

    /// Keeps a departing key's state, emptied, for the next new key: keys that come and go
    /// allocate nothing once as many states as keys at once exist.
    void retire(State&& s) {
        s.current = PaneMerge{agg_}.init();
        s.closed.clear();
        spare_.push_back(std::move(s));
    }

    /// Steps pane boundaries up to `pane`; once nothing is held, jumps the rest.
    void advance(std::int64_t pane, Emitter<output_type>& out) {
        while (pane_index_ < pane && held() != 0)
            boundary(out);
        if (pane_index_ < pane) {
            // Nothing held: what keys still have are panes every window has had; drop them.
            states_.for_each([&](const key_type&, State& s) { retire(std::move(s)); });
            states_.clear();
            pane_index_ = pane;
        }
    }

    /// The open pane closes: it joins every key's closed panes, the oldest pane leaves (its items
    /// are released), and at a multiple of the slide the window ending here is emitted.
    void boundary(Emitter<output_type>& out) {
        const std::int64_t end = pane_index_ + 1;
        const bool fires = static_cast<std::uint64_t>(end) % panes_per_slide_ == 0;
        const Clock::time_point window_end = window_bound(end, pane_);
        const Clock::time_point window_start =
            window_bound(end - static_cast<std::int64_t>(panes_per_window_), pane_);
        doomed_.clear();
        states_.for_each([&](const key_type& key, State& s) {
            if (s.closed.size() == panes_per_window_) s.closed.evict();
            s.closed.push(s.current);
            s.current = PaneMerge{agg_}.init();
            const Pane window = s.closed.aggregate();
            if (window.count == 0) {
                doomed_.push_back(key);
            } else if (fires) {
                out.emit_with([&] {
                    return output_type{key, window_start, window_end, agg_.result(window.acc)};
                });
            }
        });
        for (const key_type& key : doomed_) {
            retire(std::move(*states_.find(key)));
            states_.erase(key);
        }
        // The pane that just left every window to come.
        std::uint64_t& leaving =
            pane_items_[slot(end - static_cast<std::int64_t>(panes_per_window_))];
        release(leaving);
        leaving = 0;
        pane_index_ = end;
    }

    A agg_;
    KeyFn key_;
    Clock::duration pane_;
    std::uint64_t panes_per_window_;
    std::uint64_t panes_per_slide_;
    std::int64_t pane_index_ = 0;  // the open pane
    PerKey<key_type, State> states_;
    std::vector<std::uint64_t> pane_items_;  // items per pane, all keys: a ring over pane indexes
    std::vector<key_type> doomed_;           // keys whose windows emptied, erased after a pass
    std::vector<State> spare_;               // states of keys gone, for new keys
};

}  // namespace rill::detail
