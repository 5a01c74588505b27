#pragma once
// The operator of tumbling and sliding windows on event time (event_time_window.hpp).
//
// Time is cut into panes of gcd(size, slide); the window ending at pane boundary e (a multiple of
// the slide) is the panes [e - size, e). Each pane that has items is a bucket of per-key partial
// aggregates (and counts), kept in a list sorted by pane: items arrive out of order, so the
// item's pane is found from the newest end, usually at once.
//
// Tumbling (one pane per window): a watermark emits the buckets of the panes it passed, as they
// are, oldest first, without scanning keys that have no item there.
// Sliding: as on processing time, each key keeps a SlidingAggregator of its last size/pane closed
// panes; the watermark closes panes in order, each joining every key's aggregator (O(keys) per
// pane, an empty pane for a key without items there), and at a multiple of the slide each key's
// window is its aggregator's aggregate: O(1) amortized per item whatever size/slide is. A key
// whose window has emptied is retired (its aggregator kept for a new key); with no key left the
// operator jumps over time without items.
//
// A pane leaves, and its items are released, once the watermark passes the end of its last
// window plus the allowed lateness; its bucket is reused.
//
// Lateness: an item of a pane whose windows have all left is late (counted, offered to the late
// stream). One whose pane is still kept joins it; every window of that pane that has fired
// already fires again for the item's key (merging the pane partials), and a sliding key's
// aggregator is rebuilt from the partials so that windows still to come see the item.

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
#include "rill/window/detail/pane.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/event_time_window.hpp"
#include "rill/window/sliding_aggregator.hpp"
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
    using Pane = detail::Pane<A>;
    using PaneMerge = detail::PaneMerge<A>;
    using Panes = SlidingAggregator<Pane, PaneMerge>;
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
        const key_type key = std::invoke(key_, std::as_const(item));
        // Sliding: the key's window state first (max_keys counts keys across the window).
        KeyWindow* kw = nullptr;
        if (sliding() && (closed_ == kNone || p >= closed_ - per_window_)) {
            kw = &windows_.get(key, stage_, [&] { return new_key_window(); });
        }
        Bucket& b = bucket_of(p);
        Pane& pane = b.keys.get(key, stage_, [&] { return PaneMerge{agg_}.init(); });
        agg_.add(pane.acc, std::as_const(item));
        ++pane.count;
        ++b.items;
        hold();
        if (kw != nullptr) {
            if (closed_ == kNone || p >= closed_) {
                ++kw->pending;  // joins the key's window state when the pane closes
            } else {
                rebuild(key, *kw);  // a closed pane changed, late: its windows to come see it
            }
        }
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
        windows_.clear();
        spare_.clear();
        forget_held();
    }

  private:
    struct Bucket {
        PerKey<key_type, Pane> keys;
        std::uint64_t items = 0;
    };
    struct Open {
        std::int64_t pane;
        std::size_t bucket;  // in buckets_
    };
    /// A key's state in a sliding window: its last per_window_ closed panes, and how many of its
    /// items wait in panes not closed yet.
    struct KeyWindow {
        Panes closed;
        std::uint64_t pending = 0;
    };

    [[nodiscard]] bool sliding() const noexcept { return per_window_ > 1; }
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
        open_.reserve(open_.size() + 1);  // before a free bucket is taken: insert cannot throw
        std::size_t b;
        if (free_.empty()) {
            buckets_.push_back(Bucket{PerKey<key_type, Pane>(max_keys_), 0});
            free_.reserve(buckets_.size());  // free_ never outgrows buckets_
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
        free_.push_back(b);
    }
    [[nodiscard]] typename std::vector<Open>::iterator first_at_or_after(std::int64_t p) {
        return std::lower_bound(open_.begin(), open_.end(), p,
                                [](const Open& o, std::int64_t q) { return o.pane < q; });
    }
    /// Pane p's partials, if p has items.
    [[nodiscard]] PerKey<key_type, Pane>* partials(std::int64_t p) {
        const auto it = first_at_or_after(p);
        return it == open_.end() || it->pane != p ? nullptr : &buckets_[it->bucket].keys;
    }

    /// Fires, oldest first, every window ending at or before pane boundary `through` that has
    /// not fired and has items.
    void fire_through(std::int64_t through, Emitter<output_type>& out) {
        if (sliding()) {
            close_through(through, out);
        } else {
            fire_tumbling(through, out);
        }
        fired_ = std::max(fired_, floor_div(through, per_slide_) * per_slide_);
    }

    /// Tumbling: each window is one pane's bucket, emitted as it is.
    void fire_tumbling(std::int64_t through, Emitter<output_type>& out) {
        // The panes from fired_ on have not fired (those before it are kept for lateness).
        for (auto it = fired_ == kNone ? open_.begin() : first_at_or_after(fired_);
             it != open_.end() && it->pane < through; ++it) {
            const Clock::time_point start = window_bound(it->pane, pane_);
            const Clock::time_point end = window_bound(it->pane + 1, pane_);
            buckets_[it->bucket].keys.for_each([&](const key_type& key, const Pane& pane) {
                if (pane.count == 0) return;  // only an item that failed to join
                out.emit_with([&] { return output_type{key, start, end, agg_.result(pane.acc)}; });
            });
        }
    }

    /// Sliding: closes panes in order up to `through`: each joins every key's window state (an
    /// empty pane for a key without items there), and at a multiple of the slide the window
    /// ending there is emitted for every key that has items in it. Keys whose windows have
    /// emptied are retired, and once none is left the operator jumps to the next pane with items.
    void close_through(std::int64_t through, Emitter<output_type>& out) {
        // Never beyond `through`: a pane after it may still get items on time.
        if (closed_ == kNone)
            closed_ = open_.empty() ? through : std::min(open_.front().pane, through);
        while (closed_ < through) {
            if (windows_.size() == 0) {
                const auto next = std::find_if(open_.begin(), open_.end(),
                                               [&](const Open& o) { return o.pane >= closed_; });
                closed_ = next == open_.end() ? through : std::min(next->pane, through);
                if (closed_ == through) break;
            }
            close_pane(closed_, out);
            ++closed_;
        }
    }
    void close_pane(std::int64_t p, Emitter<output_type>& out) {
        const bool fires = floor_div(p + 1, per_slide_) * per_slide_ == p + 1;
        const Clock::time_point start = window_bound(p + 1 - per_window_, pane_);
        const Clock::time_point end = window_bound(p + 1, pane_);
        PerKey<key_type, Pane>* in_pane = partials(p);
        doomed_.clear();
        windows_.for_each([&](const key_type& key, KeyWindow& kw) {
            const Pane* part = in_pane != nullptr ? in_pane->find(key) : nullptr;
            if (kw.closed.size() == kw.closed.capacity()) kw.closed.evict();
            kw.closed.push(part != nullptr ? *part : PaneMerge{agg_}.init());
            if (part != nullptr) kw.pending -= part->count;
            const Pane window = kw.closed.aggregate();
            if (window.count == 0) {
                if (kw.pending == 0) doomed_.push_back(key);
            } else if (fires) {
                out.emit_with([&] {
                    return output_type{key, start, end, agg_.result(window.acc)};
                });
            }
        });
        for (const key_type& key : doomed_) {
            KeyWindow* kw = windows_.find(key);
            kw->closed.clear();
            spare_.push_back(std::move(*kw));
            windows_.erase(key);
        }
    }
    [[nodiscard]] KeyWindow new_key_window() {
        if (!spare_.empty()) {  // a retired key's, with its aggregator's storage
            KeyWindow kw = std::move(spare_.back());
            spare_.pop_back();
            kw.pending = 0;
            return kw;
        }
        // Room to retire every key at once, and its key, from now on.
        const std::size_t keys = windows_.size() + 1;
        if (spare_.capacity() < keys) spare_.reserve(2 * keys);
        if (doomed_.capacity() < keys) doomed_.reserve(2 * keys);
        return KeyWindow{Panes(static_cast<std::size_t>(per_window_), PaneMerge{agg_}), 0};
    }
    /// A late item changed a closed pane: the key's window state again from the buckets.
    void rebuild(const key_type& key, KeyWindow& kw) {
        kw.closed.clear();
        for (std::int64_t q = closed_ - per_window_; q < closed_; ++q) {
            PerKey<key_type, Pane>* in_pane = partials(q);
            const Pane* part = in_pane != nullptr ? in_pane->find(key) : nullptr;
            kw.closed.push(part != nullptr ? *part : PaneMerge{agg_}.init());
        }
    }

    /// The window ending at e again, for one key (a late item joined it).
    void emit_key(std::int64_t e, const key_type& key, Emitter<output_type>& out) {
        Acc sum = agg_.init();
        for (const Open& o : open_) {
            if (o.pane >= e) break;
            if (o.pane < e - per_window_) continue;
            if (const Pane* part = buckets_[o.bucket].keys.find(key)) {
                sum = agg_.merge(sum, part->acc);
            }
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
    std::int64_t closed_ = kNone;  // sliding: panes before this one are in windows_
    std::vector<Open> open_;       // panes with items, by pane
    std::vector<Bucket> buckets_;  // open_'s and free ones
    std::vector<std::size_t> free_;
    PerKey<key_type, KeyWindow> windows_{max_keys_};  // sliding: each key's last panes
    std::vector<KeyWindow> spare_;                    // retired keys', for new keys
    std::vector<key_type> doomed_;                    // keys retired after a pane closes
};

}  // namespace rill::detail
