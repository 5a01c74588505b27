#pragma once
// The operator of a count window (count_window(size, slide)) per key. Tumbling: an accumulator
// and a count per key, the window emitted when it reaches `size`. Sliding: a SlidingAggregator of
// the key's last `size` items, a result every `slide` items; an item is released when it leaves
// the last window that can contain it. O(1) amortized per item either way.

#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#include "rill/flow/emitter.hpp"
#include "rill/window/aggregation.hpp"
#include "rill/window/detail/per_key.hpp"
#include "rill/window/detail/window_ledger.hpp"
#include "rill/window/sliding_aggregator.hpp"
#include "rill/window/window_spec.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

template <class T, class A, class KeyFn>
class CountWindowOp : public WindowLedger {
    using Acc = typename A::accumulator;

  public:
    using key_type = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
    using output_type = Windowed<aggregation_result_t<A, T>, key_type, ItemPosition>;
    static constexpr bool kUsesClock = false;

    CountWindowOp(const CountWindow& spec, A agg, KeyFn key)
        : agg_(std::move(agg)),
          key_(std::move(key)),
          size_(spec.size),
          slide_(spec.slide == 0 ? spec.size : spec.slide),
          tumbling_(slide_ == size_),
          tumbles_(spec.max_keys),
          slides_(spec.max_keys) {}

    void add(T&& item, Clock::time_point, Emitter<output_type>& out) {
        const key_type key = std::invoke(key_, std::as_const(item));
        if (tumbling_) {
            Tumble& s = tumbles_.get(key, stage_, [&] { return Tumble{agg_.init()}; });
            agg_.add(s.acc, std::as_const(item));
            hold();
            if (++s.count == size_) guarded([&] { emit_tumble(key, s, out); });
        } else {
            Slide& s = slides_.get(key, stage_, [&] {
                return Slide{Window(size_, agg_), 0, slide_};
            });
            if (s.window.size() == size_) {
                s.window.evict();
                release(1);
            }
            s.window.push(std::as_const(item));
            hold();
            if (++s.seen == s.next_result) {
                s.next_result += slide_;
                guarded([&] { emit_slide(key, s, out); });
            }
        }
    }

    /// End of input: every key's partial window, once.
    void finish(Emitter<output_type>& out) {
        tumbles_.for_each([&](const key_type& key, Tumble& s) {
            if (s.count != 0) emit_tumble(key, s, out);
        });
        slides_.for_each([&](const key_type& key, Slide& s) {
            if (s.seen + slide_ != s.next_result) emit_slide(key, s, out);  // items since
            release(s.window.size());
        });
        tumbles_.clear();
        slides_.clear();
    }
    void discard() noexcept {
        tumbles_.clear();
        slides_.clear();
        forget_held();
    }

  private:
    using Window = SlidingAggregator<T, A>;
    struct Tumble {
        Acc acc;
        std::uint64_t count = 0;
        std::uint64_t start = 0;  // the key's position of the window's first item
    };
    struct Slide {
        Window window;
        std::uint64_t seen = 0;         // the key's items so far
        std::uint64_t next_result = 0;  // `seen` at the next result (no division per item)
    };

    void emit_tumble(const key_type& key, Tumble& s, Emitter<output_type>& out) {
        out.emit_with([&] {
            return output_type{key, s.start, s.start + s.count, agg_.result(s.acc)};
        });
        release(s.count);
        s.start += s.count;
        s.count = 0;
        s.acc = agg_.init();
    }
    void emit_slide(const key_type& key, const Slide& s, Emitter<output_type>& out) {
        out.emit_with([&] {
            return output_type{key, s.seen - s.window.size(), s.seen, s.window.result()};
        });
    }

    A agg_;
    KeyFn key_;
    std::uint64_t size_;
    std::uint64_t slide_;
    bool tumbling_;
    PerKey<key_type, Tumble> tumbles_;
    PerKey<key_type, Slide> slides_;
};

}  // namespace rill::detail
