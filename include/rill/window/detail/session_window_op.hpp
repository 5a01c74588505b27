#pragma once
// The operator of processing-time session windows: a key's session runs from its first item
// until it has been quiet for `gap`; its window is [first item, last item + gap).
//
// Sessions live in a slab (indices stay valid as it grows; freed slots are reused, so nothing is
// allocated in steady state) threaded on a list ordered by their last item, oldest first: an item
// moves its session to the back in O(1), and since the clock never goes back the front is always
// the next to expire. The timer is the front's expiry; no scan over keys, ever.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/detail/deadline.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/window/aggregation.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/window_spec.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

template <class T, class A, class KeyFn>
class SessionWindowOp : public WindowLedger {
    using Acc = typename A::accumulator;
    using Index = std::uint32_t;
    static constexpr Index kNone = std::numeric_limits<Index>::max();

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, Clock::time_point>;
    static constexpr bool kUsesClock = true;

    SessionWindowOp(const SessionWindow& spec, A agg, KeyFn key)
        : agg_(std::move(agg)), key_(std::move(key)), gap_(spec.gap), index_(spec.max_keys) {}

    void add(T&& item, Clock::time_point now, Emitter<output_type>& out) {
        guarded([&] { expire(now, out); });
        const key_type key = std::invoke(key_, std::as_const(item));
        const Index i = index_.get(key, stage_, [&] { return open_session(key, now); });
        Session& s = *slab_[i];
        s.last = now;
        unlink(i);
        link_back(i);  // before the add, which may throw: an empty session still expires
        agg_.add(s.acc, std::as_const(item));
        ++s.count;
        hold();
    }

    [[nodiscard]] Clock::time_point next_timer() const noexcept {
        return front_ == kNone ? Clock::time_point::max() : expiry(*slab_[front_]);
    }
    void on_timer(Clock::time_point now, Emitter<output_type>& out) { expire(now, out); }
    void finish(Emitter<output_type>& out) {
        while (front_ != kNone)
            close(front_, out);
    }
    void discard() noexcept {
        while (front_ != kNone) {
            const Index i = front_;
            index_.erase(slab_[i]->key);
            unlink(i);
            free_slot(i);
        }
        forget_held();
    }

  private:
    struct Session {
        key_type key;
        Clock::time_point start;
        Clock::time_point last;
        Acc acc;
        std::uint64_t count = 0;
        Index prev = kNone;
        Index next = kNone;
    };

    [[nodiscard]] Clock::time_point expiry(const Session& s) const noexcept {
        return deadline_after(s.last, gap_);
    }

    /// Closes every session quiet for `gap` by `now`: at the front, oldest first.
    void expire(Clock::time_point now, Emitter<output_type>& out) {
        while (front_ != kNone && expiry(*slab_[front_]) <= now)
            close(front_, out);
    }

    void close(Index i, Emitter<output_type>& out) {
        Session& s = *slab_[i];
        if (s.count != 0)
            out.emit_with([&] {
                return output_type{s.key, s.start, expiry(s), agg_.result(s.acc)};
            });
        release(s.count);
        index_.erase(s.key);
        unlink(i);
        free_slot(i);
    }

    /// A new session's slot (not yet on the list: add() links it).
    Index open_session(const key_type& key, Clock::time_point now) {
        Index i = free_;
        if (i != kNone) {
            free_ = slab_[i]->next;
            slab_[i].emplace(Session{key, now, now, agg_.init()});
        } else {
            i = static_cast<Index>(slab_.size());
            slab_.emplace_back(Session{key, now, now, agg_.init()});
        }
        return i;
    }
    void free_slot(Index i) noexcept {
        slab_[i]->next = free_;  // the slot keeps its storage; its key and acc are dead weight
        free_ = i;
    }

    void unlink(Index i) noexcept {
        Session& s = *slab_[i];
        if (s.prev != kNone) {
            slab_[s.prev]->next = s.next;
        } else if (front_ == i) {
            front_ = s.next;
        }
        if (s.next != kNone) {
            slab_[s.next]->prev = s.prev;
        } else if (back_ == i) {
            back_ = s.prev;
        }
        s.prev = s.next = kNone;
    }
    void link_back(Index i) noexcept {
        Session& s = *slab_[i];
        s.prev = back_;
        s.next = kNone;
        if (back_ != kNone) {
            slab_[back_]->next = i;
        } else {
            front_ = i;
        }
        back_ = i;
    }

    A agg_;
    KeyFn key_;
    Clock::duration gap_;
    PerKey<key_type, Index> index_;             // key -> its session's slot
    std::vector<std::optional<Session>> slab_;  // sessions; freed ones chained through `next`
    Index front_ = kNone;                       // the session whose last item is oldest
    Index back_ = kNone;
    Index free_ = kNone;
};

}  // namespace rill::detail
