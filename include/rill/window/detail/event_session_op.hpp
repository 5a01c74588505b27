#pragma once
// The operator of session windows on event time (event_time_window.hpp). An item at t opens the
// session [t, t + gap); sessions of a key that overlap merge (Flink's merging windows), so an
// out-of-order item may join two sessions into one. As on processing time, an item `gap` or more
// after the last one starts a new session. A session fires when the watermark reaches its end
// (last item + gap) and leaves end + allowed_lateness later.
//
// Each key keeps its sessions sorted by start. A watermark reaches only the keys that have
// something due: a min-heap of (time, key) holds each key's next due time (its earliest session
// end not fired, or end + lateness of a fired one). Entries are lazy: a key's sessions may grow
// later than its entry says (an item extending a session), and the key is then pushed again when
// its entry comes up, so an item costs a heap push only when it makes a key due earlier. A key
// whose sessions have all left is erased; its emptied vector is kept for the next new key.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/flow/emitter.hpp"
#include "rill/time/watermark.hpp"
#include "rill/window/aggregation.hpp"
#include "rill/window/detail/event_pane_op.hpp"
#include "rill/window/detail/late_output.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/event_time_window.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

template <class T, class A, class KeyFn, class TsFn>
class EventSessionOp : public WindowLedger {
    using Acc = typename A::accumulator;

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, Clock::time_point>;
    static constexpr bool kUsesClock = false;

    EventSessionOp(const EventTimeWindow<SessionWindow, TsFn>& spec, A agg, KeyFn key,
                   std::shared_ptr<LateOutput<T>> late)
        : agg_(std::move(agg)),
          key_(std::move(key)),
          ts_(spec.timestamp_of),
          gap_(spec.window.gap),
          lateness_(spec.options.allowed_lateness),
          max_open_(spec.options.max_open),
          keys_(spec.window.max_keys),
          late_(std::move(late)) {}

    void add(T&& item, Clock::time_point, Emitter<output_type>& out) {
        const Clock::time_point t = std::invoke(ts_, std::as_const(item));
        const Clock::time_point t_end = later_by(t, gap_);
        const key_type key = std::invoke(key_, std::as_const(item));
        Sessions* ks = keys_.find(key);
        // The sessions the item's [t, t + gap) touches: [first, last).
        std::size_t first = 0;
        std::size_t last = 0;
        Clock::time_point start = t;
        Clock::time_point end = t_end;
        if (ks != nullptr) {
            auto& v = ks->sessions;
            while (first < v.size() && v[first].end <= t)
                ++first;
            last = first;
            while (last < v.size() && v[last].start < t_end)
                ++last;
            if (last > first) {
                start = std::min(start, v[first].start);
                end = std::max(end, v[last - 1].end);
            }
        }
        if (later_by(end, lateness_) <= watermark_) {  // its session has left: late
            hold();
            count_late();
            late_->offer(std::move(item));
            return;
        }
        // Everything that may throw (the user's add and merge, the limits, allocation) comes
        // before anything changes, so that an item refused leaves no trace.
        if (first == last && open_ == max_open_) too_many_open(stage_, max_open_, "sessions");
        // The key's due time moves only if this session is now due before its entry: then a heap
        // entry (a copy of the key) is made here, before anything changes; most items need none.
        const Clock::time_point due = end <= watermark_ ? later_by(end, lateness_) : end;
        std::optional<Due> entry;
        if (ks == nullptr || due < ks->queued) {
            if (due_.size() == due_.capacity()) due_.reserve(2 * due_.size() + 16);
            entry.emplace(Due{due, key});
        }
        if (last - first == 1) {
            // The common case, an item joining one session: added in place (an aggregation's
            // add leaves its accumulator as it was when it throws, as the built-in ones do), so
            // that a whole-window function's items are not copied per item.
            Session& s = ks->sessions[first];
            agg_.add(s.acc, std::as_const(item));
            s.start = start;
            s.end = end;
            ++s.items;
            s.fired = end <= watermark_;
        } else {
            join(key, ks, first, last, start, end, std::as_const(item));
        }
        hold();
        auto& v = ks->sessions;
        // A session the watermark has passed fires now, again if it had.
        if (v[first].fired) {
            const Session& s = v[first];
            guarded([&] {
                out.emit_with([&] { return output_type{key, start, end, agg_.result(s.acc)}; });
            });
        }
        if (entry) push_due(std::move(*entry), *ks);
    }

    void on_watermark(Watermark w, Emitter<output_type>& out) {
        if (w.time <= watermark_) return;
        watermark_ = w.time;
        while (!due_.empty() && due_.front().time <= watermark_) {
            std::pop_heap(due_.begin(), due_.end(), Later{});
            const Due d = std::move(due_.back());
            due_.pop_back();
            Sessions* ks = keys_.find(d.key);
            if (ks == nullptr || ks->queued != d.time) continue;  // stale
            ks->queued = Clock::time_point::max();
            settle(d.key, *ks, out);
        }
    }
    /// End of input: every session not fired fires once, by due time; then all leave.
    void finish(Emitter<output_type>& out) {
        late_->replica_done();
        watermark_ = Clock::time_point::max();
        std::sort_heap(due_.begin(), due_.end(), Later{});  // latest first
        while (!due_.empty()) {
            const Due d = std::move(due_.back());
            due_.pop_back();
            if (Sessions* ks = keys_.find(d.key)) settle(d.key, *ks, out);
        }
    }
    void discard() noexcept {
        keys_.clear();
        spare_.clear();
        due_.clear();
        open_ = 0;
        forget_held();
    }

  private:
    struct Session {
        Clock::time_point start;
        Clock::time_point end;  // the last item's time + gap
        Acc acc;
        std::uint64_t items = 0;
        bool fired = false;
    };
    struct Sessions {
        std::vector<Session> sessions;                        // by start, none overlapping
        Clock::time_point queued = Clock::time_point::max();  // its earliest entry in due_
    };
    struct Due {
        Clock::time_point time;
        key_type key;
    };
    struct Later {
        bool operator()(const Due& a, const Due& b) const noexcept { return a.time > b.time; }
    };

    [[nodiscard]] static Clock::time_point later_by(Clock::time_point t,
                                                    Clock::duration d) noexcept {
        return t > Clock::time_point::max() - d ? Clock::time_point::max() : t + d;
    }
    [[nodiscard]] Clock::time_point due_time(const Session& s) const noexcept {
        return s.fired ? later_by(s.end, lateness_) : s.end;
    }

    /// The item opens a session, or joins several into one: built aside, then committed with
    /// moves that do not throw.
    void join(const key_type& key, Sessions*& ks, std::size_t first, std::size_t last,
              Clock::time_point start, Clock::time_point end, const T& item) {
        Acc acc = agg_.init();
        std::uint64_t items = 1;
        if (ks != nullptr) {
            for (std::size_t i = first; i < last; ++i) {  // the touched sessions, oldest first
                acc = agg_.merge(acc, ks->sessions[i].acc);
                items += ks->sessions[i].items;
            }
        }
        agg_.add(acc, item);  // the item last, as it came last
        const bool new_key = ks == nullptr;
        if (new_key) {
            ks = &keys_.get(key, stage_, [&] {
                Sessions fresh;
                if (!spare_.empty()) {  // a vector of a key gone, with its capacity
                    fresh.sessions = std::move(spare_.back());
                    spare_.pop_back();
                } else if (spare_.capacity() < keys_.size() + 1) {
                    spare_.reserve(2 * (keys_.size() + 1));  // room to retire every key at once
                }
                return fresh;
            });
        }
        auto& v = ks->sessions;
        if (first == last) {
            try {
                v.reserve(v.size() + 1);
            } catch (...) {
                if (new_key) keys_.erase(key);
                throw;
            }
        }
        Session merged{start, end, std::move(acc), items, end <= watermark_};
        if (first == last) {
            v.insert(v.begin() + static_cast<std::ptrdiff_t>(first), std::move(merged));
            ++open_;
        } else {
            v[first] = std::move(merged);
            v.erase(v.begin() + static_cast<std::ptrdiff_t>(first + 1),
                    v.begin() + static_cast<std::ptrdiff_t>(last));
            open_ -= last - first - 1;
        }
    }

    /// Fires the key's sessions the watermark reached, lets go of those past lateness, and
    /// queues the key for its next due time.
    void settle(const key_type& key, Sessions& ks, Emitter<output_type>& out) {
        auto& v = ks.sessions;
        for (Session& s : v) {
            if (!s.fired && s.end <= watermark_) {
                s.fired = true;
                out.emit_with([&] { return output_type{key, s.start, s.end, agg_.result(s.acc)}; });
            }
        }
        const auto gone = std::remove_if(v.begin(), v.end(), [&](const Session& s) {
            if (!s.fired || later_by(s.end, lateness_) > watermark_) return false;
            release(s.items);
            return true;
        });
        open_ -= static_cast<std::size_t>(v.end() - gone);
        v.erase(gone, v.end());
        if (v.empty()) {
            spare_.push_back(std::move(v));  // so that a key coming back allocates nothing
            keys_.erase(key);                // ks is gone
            return;
        }
        schedule(key, ks);
    }

    /// Queues the key for its earliest due time if that is earlier than its entry.
    void schedule(const key_type& key, Sessions& ks) {
        Clock::time_point next = Clock::time_point::max();
        for (const Session& s : ks.sessions)
            next = std::min(next, due_time(s));
        if (next < ks.queued) push_due(Due{next, key}, ks);
    }
    /// Entries left stale by merges are dropped when they outnumber the sessions, so the heap
    /// stays within a few entries per session.
    void push_due(Due&& entry, Sessions& ks) {
        ks.queued = entry.time;
        due_.push_back(std::move(entry));  // reserved in add(): does not throw there
        std::push_heap(due_.begin(), due_.end(), Later{});
        if (due_.size() > 2 * open_ + 64) compact();
    }
    /// One entry per key, at its earliest due time.
    void compact() {
        due_.clear();
        keys_.for_each([&](const key_type& key, Sessions& ks) {
            ks.queued = Clock::time_point::max();
            for (const Session& s : ks.sessions)
                ks.queued = std::min(ks.queued, due_time(s));
            due_.push_back(Due{ks.queued, key});  // fits: fewer keys than entries before
        });
        std::make_heap(due_.begin(), due_.end(), Later{});
    }

    A agg_;
    KeyFn key_;
    TsFn ts_;
    Clock::duration gap_;
    Clock::duration lateness_;
    std::size_t max_open_;
    PerKey<key_type, Sessions> keys_;
    std::shared_ptr<LateOutput<T>> late_;
    Clock::time_point watermark_ = Clock::time_point::min();
    std::size_t open_ = 0;  // sessions of all keys
    std::vector<Due> due_;  // a min-heap by time (Later)
    std::vector<std::vector<Session>> spare_;
};

}  // namespace rill::detail
