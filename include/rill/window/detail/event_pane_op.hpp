#pragma once
// The operator of tumbling and sliding windows on event time (event_time_window.hpp).
//
// Time is cut into panes of gcd(size, slide); the window ending at pane boundary e (a multiple of
// the slide) is the panes [e - size, e). Each pane that has items is a bucket of per-key partial
// aggregates, kept in a list sorted by pane (items arrive out of order, so the item's pane is
// found from the newest end, usually at once). A watermark fires the windows it passed, oldest
// first, from the buckets at the front, without scanning keys that have no item there; a window
// of one pane (tumbling) emits its bucket's partials, a sliding one merges its panes' partials per
// key (size/slide merges per key and pane: the cost of sliding on event time, where panes may
// still change until the watermark passes them). A pane leaves, and its items are released, once
// the watermark passes the end of its last window plus the allowed lateness; its bucket is reused.
//
// Lateness: an item of a pane whose windows have all left is late (counted, offered to the late
// stream). One whose pane is still kept joins it, and every window of that pane that has fired
// already fires again for the item's key.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/flow/emitter.hpp"
#include "rill/time/watermark.hpp"
#include "rill/window/aggregation.hpp"
#include "rill/window/detail/late_output.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/event_time_window.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

[[noreturn]] inline void too_many_open(std::string_view stage, std::size_t max_open,
                                       const char* what) {
    throw std::length_error("rill: window stage '" + std::string(stage) + "': more than " +
                            std::to_string(max_open) + " " + what +
                            " open at once (max_open); the watermark is far behind the newest "
                            "timestamps or the allowed lateness is long: raise max_open in "
                            "by_event_time's options");
}

/// t - d, saturating at time_point::min().
[[nodiscard]] inline Clock::time_point earlier_by(Clock::time_point t, Clock::duration d) noexcept {
    return t < Clock::time_point::min() + d ? Clock::time_point::min() : t - d;
}

template <class T, class A, class KeyFn, class TsFn>
class EventPaneOp : public WindowLedger {
    using Acc = typename A::accumulator;
    static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, Clock::time_point>;
    static constexpr bool kUsesClock = false;

    template <class Spec>
    EventPaneOp(const EventTimeWindow<Spec, TsFn>& spec, A agg, KeyFn key,
                std::shared_ptr<LateOutput<T>> late)
        : agg_(std::move(agg)),
          key_(std::move(key)),
          ts_(spec.timestamp_of),
          lateness_(spec.options.allowed_lateness),
          max_open_(spec.options.max_open),
          max_keys_(spec.window.max_keys),
          late_(std::move(late)) {
        Clock::duration size = spec.window.size;
        Clock::duration slide = size;
        if constexpr (std::is_same_v<Spec, SlidingWindow>) slide = spec.window.slide;
        pane_ = Clock::duration(std::gcd(size.count(), slide.count()));
        per_window_ = size / pane_;
        per_slide_ = slide / pane_;
    }

    void add(T&& item, Clock::time_point, Emitter<output_type>& out) {
        const std::int64_t p = floor_index(std::invoke(ts_, std::as_const(item)), pane_);
        if (last_end(p) <= purged_) {
            hold();
            count_late();
            late_->offer(std::move(item));
            return;
        }
        Bucket& b = bucket_of(p);
        const key_type key = std::invoke(key_, std::as_const(item));
        Acc& acc = b.keys.get(key, stage_, [&] { return agg_.init(); });
        agg_.add(acc, std::as_const(item));
        ++b.items;
        hold();
        // Windows of the pane that fired already fire again for this key.
        if (fired_ != kNone && first_end(p) <= fired_) {
            guarded([&] {
                for (std::int64_t e = first_end(p); e <= std::min(fired_, last_end(p));
                     e += per_slide_) {
                    if (e > purged_) emit_key(e, key, out);
                }
            });
        }
    }

    void on_watermark(Watermark w, Emitter<output_type>& out) {
        if (w.time <= watermark_) return;
        watermark_ = w.time;
        fire_through(floor_index(w.time, pane_), out);
        purge_through(floor_index(earlier_by(w.time, lateness_), pane_));
    }
    /// End of input: every window that has not fired fires once; then all leave.
    void finish(Emitter<output_type>& out) {
        late_->replica_done();
        fire_through(std::numeric_limits<std::int64_t>::max(), out);
        purge_through(std::numeric_limits<std::int64_t>::max());
    }
    void discard() noexcept {
        for (const Open& o : open_)
            free_bucket(o.bucket);
        open_.clear();
        forget_held();
    }

  private:
    struct Bucket {
        PerKey<key_type, Acc> keys;
        std::uint64_t items = 0;
    };
    struct Open {
        std::int64_t pane;
        std::size_t bucket;  // in buckets_
    };

    // The windows of pane p end at the multiples of the slide in (p, p + per_window].
    [[nodiscard]] std::int64_t first_end(std::int64_t p) const noexcept {
        return (floor_div(p, per_slide_) + 1) * per_slide_;
    }
    [[nodiscard]] std::int64_t last_end(std::int64_t p) const noexcept {
        return floor_div(p + per_window_, per_slide_) * per_slide_;
    }
    [[nodiscard]] static std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
        const std::int64_t q = a / b;
        return (a % b < 0) ? q - 1 : q;
    }

    /// Pane p's bucket, made (from a reused one) if p has none yet.
    Bucket& bucket_of(std::int64_t p) {
        std::size_t i = open_.size();
        while (i > 0 && open_[i - 1].pane > p)
            --i;
        if (i > 0 && open_[i - 1].pane == p) return buckets_[open_[i - 1].bucket];
        if (open_.size() == max_open_) too_many_open(stage_, max_open_, "panes");
        std::size_t b;
        if (free_.empty()) {
            buckets_.push_back(Bucket{PerKey<key_type, Acc>(max_keys_), 0});
            free_.reserve(buckets_.size());
            b = buckets_.size() - 1;
        } else {
            b = free_.back();
            free_.pop_back();
        }
        open_.insert(open_.begin() + static_cast<std::ptrdiff_t>(i), Open{p, b});
        return buckets_[b];
    }
    void free_bucket(std::size_t b) noexcept {
        buckets_[b].keys.clear();  // keeps its table for the next pane
        buckets_[b].items = 0;
        free_.push_back(b);  // capacity reserved: free_ never outgrows buckets_
    }

    /// Fires, oldest first, every window ending at or before pane boundary `through` that has
    /// not fired and has items.
    void fire_through(std::int64_t through, Emitter<output_type>& out) {
        std::size_t i = 0;
        std::int64_t e = fired_ == kNone ? kNone : fired_ + per_slide_;
        while (true) {
            // Panes before window e's start are in no window still to fire.
            while (i < open_.size() && e != kNone && open_[i].pane < e - per_window_)
                ++i;
            if (i == open_.size()) break;
            e = std::max(e, first_end(open_[i].pane));
            if (e > through) break;
            fire(e, i, out);
            fired_ = e;
            e += per_slide_;
        }
        fired_ = std::max(fired_, floor_div(through, per_slide_) * per_slide_);
    }

    /// Emits the window ending at e for every key, from the panes at open_[first...].
    void fire(std::int64_t e, std::size_t first, Emitter<output_type>& out) {
        const Clock::time_point start = window_bound(e - per_window_, pane_);
        const Clock::time_point end = window_bound(e, pane_);
        if (per_window_ == 1) {
            buckets_[open_[first].bucket].keys.for_each([&](const key_type& key, const Acc& acc) {
                out.emit_with([&] { return output_type{key, start, end, agg_.result(acc)}; });
            });
            return;
        }
        for (std::size_t i = first; i < open_.size() && open_[i].pane < e; ++i) {
            buckets_[open_[i].bucket].keys.for_each([&](const key_type& key, const Acc& acc) {
                Acc& sum = window_.get(key, stage_, [&] { return agg_.init(); });
                sum = agg_.merge(sum, acc);
            });
        }
        window_.for_each([&](const key_type& key, const Acc& acc) {
            out.emit_with([&] { return output_type{key, start, end, agg_.result(acc)}; });
        });
        window_.clear();
    }

    /// The window ending at e again, for one key (a late item joined it).
    void emit_key(std::int64_t e, const key_type& key, Emitter<output_type>& out) {
        Acc sum = agg_.init();
        for (const Open& o : open_) {
            if (o.pane >= e) break;
            if (o.pane < e - per_window_) continue;
            if (const Acc* acc = buckets_[o.bucket].keys.find(key)) sum = agg_.merge(sum, *acc);
        }
        out.emit_with([&] {
            return output_type{key, window_bound(e - per_window_, pane_), window_bound(e, pane_),
                               agg_.result(sum)};
        });
    }

    /// Panes whose windows all end at or before `through` leave; their items are released.
    void purge_through(std::int64_t through) noexcept {
        purged_ = std::max(purged_, through);
        std::size_t n = 0;
        while (n < open_.size() && last_end(open_[n].pane) <= purged_) {
            release(buckets_[open_[n].bucket].items);
            free_bucket(open_[n].bucket);
            ++n;
        }
        open_.erase(open_.begin(), open_.begin() + static_cast<std::ptrdiff_t>(n));
    }

    A agg_;
    KeyFn key_;
    TsFn ts_;
    Clock::duration lateness_;
    std::size_t max_open_;
    std::size_t max_keys_;
    std::shared_ptr<LateOutput<T>> late_;
    Clock::duration pane_{};
    std::int64_t per_window_ = 1;  // panes per window
    std::int64_t per_slide_ = 1;   // panes per slide
    Clock::time_point watermark_ = Clock::time_point::min();
    std::int64_t fired_ = kNone;   // windows ending at or before this pane boundary have fired
    std::int64_t purged_ = kNone;  // ... and those at or before this one have left
    std::vector<Open> open_;       // panes with items, by pane
    std::vector<Bucket> buckets_;  // open_'s and free ones
    std::vector<std::size_t> free_;
    PerKey<key_type, Acc> window_{max_keys_};  // a sliding window's per-key sums while it fires
};

}  // namespace rill::detail
