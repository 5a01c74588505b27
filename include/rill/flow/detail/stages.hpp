#pragma once
// The stage shapes: source, map, filter, flat_map, per_batch, sink (per item or per batch) and
// the pass-through of a merge. Each consuming stage fills in ConsumingStage's skeleton with its
// per-batch work: it processes the batch in place, emits into its Emitter, and accounts for
// every input exactly once. One try block per batch: the loop re-enters it after an item that
// threw when the policy says to skip.

#include <functional>
#include <span>
#include <type_traits>
#include <utility>

#include "rill/flow/detail/stage_base.hpp"
#include "rill/flow/detail/stage_hooks.hpp"

namespace rill::detail {

/// The skeleton every stage that consumes a stream shares: count the batch in, let the stage
/// kind do its work (`Derived::process(items)`, which says what became of the items besides
/// going out), hand over what it emitted, and account for every item of the batch. A new stage
/// kind (a window, a retrying stage) derives from this and writes process(). The user's timer
/// and end-of-input hooks (see stage_hooks.hpp) are run here for every kind.
template <class Derived, class In, class Out, class F>
class ConsumingStage : public UserStage<StageBase, F>,
                       public Consumer<In>,
                       public std::conditional_t<std::is_void_v<Out>, NoOutput, Producer<Out>> {
    static constexpr bool kTimed = has_on_timer<F, Out>();

  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept final {
        const std::size_t n = items.size();
        this->begin_batch(n);
        const Tally tally = static_cast<Derived&>(*this).process(items);
        if constexpr (!std::is_void_v<Out>) EmitterBinding<Out>::end_batch(this->out);
        this->finish_batch(n, tally);
        if constexpr (!std::is_void_v<Out>) this->note_emitted(this->out.emitted());
    }

    [[nodiscard]] bool has_timer() const noexcept final { return kTimed; }
    void refresh_timer() noexcept final {
        if constexpr (kTimed) {
            try {
                this->timer_at = std::as_const(this->f_).next_timer();
            } catch (...) {
                this->hook_failed();
            }
        }
    }
    void fire_timer(Clock::time_point now) noexcept final {
        if constexpr (kTimed) {
            try {
                if constexpr (std::is_void_v<Out>) {
                    this->f_.on_timer(now);
                } else {
                    this->f_.on_timer(now, this->out);
                }
            } catch (...) {
                this->hook_failed();
            }
            end_output();  // the task reads next_timer() again
            hook_done(false);
        } else {
            static_cast<void>(now);
        }
    }
    /// Event time: the user's on_watermark, then the watermark goes on, after what it emitted.
    void on_watermark(Watermark watermark) noexcept final {
        if constexpr (watermark_hook<F, Out>) {
            try {
                if constexpr (std::is_void_v<Out>) {
                    this->f_.on_watermark(watermark);
                } else {
                    this->f_.on_watermark(watermark, this->out);
                }
            } catch (...) {
                this->hook_failed();
            }
            hook_done(false);
        }
        if constexpr (!std::is_void_v<Out>) {
            this->out.emit_watermark(watermark);
            this->note_emitted(this->out.emitted());
        }
    }
    void finish() noexcept final {
        if constexpr (has_finish<F, Out>) {
            try {
                this->f_.finish(this->out);
            } catch (...) {
                this->hook_failed();
            }
            end_output();
            hook_done(true);
        }
    }

  private:
    /// Lets a stage kind account for what a hook did (a window releasing what it held).
    void hook_done(bool finished) noexcept {
        if constexpr (requires(Derived & d) { d.after_hook(finished); }) {
            static_cast<Derived&>(*this).after_hook(finished);
        }
    }
    /// Hands over what a hook emitted (to the chained stage, or into the ring).
    void end_output() noexcept {
        if constexpr (!std::is_void_v<Out>) {
            EmitterBinding<Out>::end_batch(this->out);
            this->note_emitted(this->out.emitted());
        }
    }
};

template <class In, class Out, class F>
class MapStage final : public ConsumingStage<MapStage<In, Out, F>, In, Out, F> {
  public:
    using ConsumingStage<MapStage, In, Out, F>::ConsumingStage;

    Tally process(std::span<In> items) noexcept {
        const std::size_t n = items.size();
        Tally tally;
        std::size_t i = 0;
        while (i < n) {
            // One output per input: construct straight into a run of free slots, a loop the
            // compiler keeps in registers (and may vectorize), committing once per run.
            const std::span<Out> slots = EmitterBinding<Out>::window(this->out, n - i);
            if (slots.empty()) break;  // full ring: the rest goes item by item to the overflow
            std::size_t k = 0;
            try {
                for (; k < slots.size(); ++k, ++i) {
                    std::construct_at(&slots[k], std::invoke(this->f_, std::move(items[i])));
                }
            } catch (...) {
                this->item_failed(i, n, tally);
            }
            EmitterBinding<Out>::commit(this->out, k);
        }
        this->each_item(i, n, tally, [&](std::size_t j) {
            this->out.emit(std::invoke(this->f_, std::move(items[j])));
        });
        return tally;
    }
};

template <class T, class F>
class FilterStage final : public ConsumingStage<FilterStage<T, F>, T, T, F> {
  public:
    using ConsumingStage<FilterStage, T, T, F>::ConsumingStage;

    Tally process(std::span<T> items) noexcept {
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, items.size(), tally, [&](std::size_t j) {
            if (std::invoke(this->f_, std::as_const(items[j]))) {
                this->out.emit(std::move(items[j]));
            } else {
                ++tally.filtered;
            }
        });
        return tally;
    }
};

template <class In, class Out, class F>
class FlatMapStage final : public ConsumingStage<FlatMapStage<In, Out, F>, In, Out, F> {
  public:
    using ConsumingStage<FlatMapStage, In, Out, F>::ConsumingStage;

    Tally process(std::span<In> items) noexcept {
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, items.size(), tally, [&](std::size_t j) {
            std::invoke(this->f_, std::move(items[j]), this->out);
        });
        return tally;
    }
};

/// Takes the whole input batch at once; an exception fails the batch as a whole.
template <class In, class Out, class F>
class PerBatchStage final : public ConsumingStage<PerBatchStage<In, Out, F>, In, Out, F> {
  public:
    using ConsumingStage<PerBatchStage, In, Out, F>::ConsumingStage;

    Tally process(std::span<In> items) noexcept {
        return this->whole_batch(items.size(), [&] { std::invoke(this->f_, items, this->out); });
    }
};

template <class In, class F>
class SinkStage final : public ConsumingStage<SinkStage<In, F>, In, void, F> {
  public:
    using ConsumingStage<SinkStage, In, void, F>::ConsumingStage;

    Tally process(std::span<In> items) noexcept {
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, items.size(), tally,
                        [&](std::size_t j) { std::invoke(this->f_, std::move(items[j])); });
        return tally;
    }
};

/// A sink that takes the whole input batch at once; an exception fails the batch as a whole.
template <class In, class F>
class BatchSinkStage final : public ConsumingStage<BatchSinkStage<In, F>, In, void, F> {
  public:
    using ConsumingStage<BatchSinkStage, In, void, F>::ConsumingStage;

    Tally process(std::span<In> items) noexcept {
        return this->whole_batch(items.size(), [&] { std::invoke(this->f_, items); });
    }
};

/// The stage object of a merge: nothing of the user's.
struct PassThrough {};

/// Passes items on: the stage of a merge, and the hidden `name.merge` behind replicas that
/// feed more than one stage.
template <class T>
class MergeStage final : public ConsumingStage<MergeStage<T>, T, T, PassThrough> {
  public:
    MergeStage() : ConsumingStage<MergeStage, T, T, PassThrough>(PassThrough{}) {}

    Tally process(std::span<T> items) noexcept {
        std::size_t i = 0;
        this->out.emit_n(items.size(), [&]() noexcept { return std::move(items[i++]); });
        return {};
    }
};

/// A source over a PollingSource S. For a source, `in` counts polls' items plus failed polls.
template <class T, class S>
class SourceStage final : public UserStage<SourceStageBase, S>, public Producer<T> {
  public:
    using UserStage<SourceStageBase, S>::UserStage;

    [[nodiscard]] SourceStatus pull() noexcept override {
        const std::uint64_t before = this->out.emitted();
        SourceStatus status = SourceStatus::more;
        std::size_t errored = 0;
        try {
            status = this->f_.poll(this->out, this->batch);
        } catch (...) {
            errored = 1;
            if (!this->on_error()) status = SourceStatus::done;
        }
        EmitterBinding<T>::end_batch(this->out);
        const std::uint64_t produced = this->out.emitted() - before;
        this->begin_batch(produced + errored);
        this->finish_batch(produced + errored, {.errored = errored});
        this->note_emitted(this->out.emitted());
        return status;
    }

    [[nodiscard]] bool delivers_accepted_on_stop() const noexcept override {
        return requires(S & s) {
            s.close_input();
        };
    }
    void close_input() noexcept override {
        if constexpr (requires(S & s) { s.close_input(); }) this->f_.close_input();
    }
    void cancel() noexcept override {
        if constexpr (requires(S & s) { s.cancel(); }) this->drop(this->f_.cancel());
    }
};

/// A callable returning std::optional<T> as a PollingSource.
template <class F>
class OptionalPoller {
  public:
    using value_type = typename std::remove_cvref_t<std::invoke_result_t<F&>>::value_type;
    explicit OptionalPoller(F f) : f_(std::move(f)) {}

    SourceStatus poll(Emitter<value_type>& out, std::size_t max) {
        for (std::size_t i = 0; i < max; ++i) {
            auto item = std::invoke(f_);
            if (!item) return SourceStatus::done;
            out.emit(std::move(*item));
        }
        return SourceStatus::more;
    }
    void open(StageContext& context) { run_open_hook(f_, context); }
    void close() { run_close_hook(f_); }

  private:
    F f_;
};

}  // namespace rill::detail
