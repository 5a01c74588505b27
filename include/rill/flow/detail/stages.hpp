#pragma once
// The stage shapes: source, map, filter, flat_map, batch, sink. Each processes a batch in place,
// emits into its Emitter, and accounts for every input exactly once. One try block per batch:
// the loop re-enters it after an item that threw when the policy says to skip.

#include <functional>
#include <span>
#include <utility>

#include "rill/flow/detail/stage_base.hpp"

namespace rill::detail {

template <class In, class Out, class F>
class MapStage final : public UserStage<StageBase, F>, public Consumer<In>, public Producer<Out> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept override {
        const std::size_t n = items.size();
        this->begin_batch(n);
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
        EmitterBinding<Out>::end_batch(this->out);
        this->finish_batch(n, tally);
        this->note_emitted(this->out.emitted());
    }
};

template <class T, class F>
class FilterStage final : public UserStage<StageBase, F>, public Consumer<T>, public Producer<T> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<T> items) noexcept override {
        const std::size_t n = items.size();
        this->begin_batch(n);
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, n, tally, [&](std::size_t j) {
            if (std::invoke(this->f_, std::as_const(items[j]))) {
                this->out.emit(std::move(items[j]));
            } else {
                ++tally.filtered;
            }
        });
        EmitterBinding<T>::end_batch(this->out);
        this->finish_batch(n, tally);
        this->note_emitted(this->out.emitted());
    }
};

template <class In, class Out, class F>
class FlatMapStage final : public UserStage<StageBase, F>,
                           public Consumer<In>,
                           public Producer<Out> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept override {
        const std::size_t n = items.size();
        this->begin_batch(n);
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, n, tally, [&](std::size_t j) {
            std::invoke(this->f_, std::move(items[j]), this->out);
        });
        EmitterBinding<Out>::end_batch(this->out);
        this->finish_batch(n, tally);
        this->note_emitted(this->out.emitted());
    }
};

/// Takes the whole input batch at once; an exception fails the batch as a whole.
template <class In, class Out, class F>
class BatchStage final : public UserStage<StageBase, F>, public Consumer<In>, public Producer<Out> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept override {
        this->begin_batch(items.size());
        const Tally tally =
            this->whole_batch(items.size(), [&] { std::invoke(this->f_, items, this->out); });
        EmitterBinding<Out>::end_batch(this->out);
        this->finish_batch(items.size(), tally);
        this->note_emitted(this->out.emitted());
    }
};

template <class In, class F>
class SinkStage final : public UserStage<StageBase, F>, public Consumer<In> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept override {
        const std::size_t n = items.size();
        this->begin_batch(n);
        Tally tally;
        std::size_t i = 0;
        this->each_item(i, n, tally,
                        [&](std::size_t j) { std::invoke(this->f_, std::move(items[j])); });
        this->finish_batch(n, tally);
    }
};

/// A sink that takes the whole input batch at once; an exception fails the batch as a whole.
template <class In, class F>
class BatchSinkStage final : public UserStage<StageBase, F>, public Consumer<In> {
  public:
    using UserStage<StageBase, F>::UserStage;

    void consume(std::span<In> items) noexcept override {
        this->begin_batch(items.size());
        const Tally tally = this->whole_batch(items.size(), [&] { std::invoke(this->f_, items); });
        this->finish_batch(items.size(), tally);
    }
};

/// Passes items on: the stage of a merge, and the hidden `name.merge` behind replicas that
/// feed more than one stage.
template <class T>
class MergeStage final : public StageBase, public Consumer<T>, public Producer<T> {
  public:
    void consume(std::span<T> items) noexcept override {
        const std::size_t n = items.size();
        begin_batch(n);
        std::size_t i = 0;
        this->out.emit_n(n, [&]() noexcept { return std::move(items[i++]); });
        EmitterBinding<T>::end_batch(this->out);
        finish_batch(n, {});
        note_emitted(this->out.emitted());
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

    [[nodiscard]] bool drains_on_stop() const noexcept override {
        return requires(S & s) {
            s.close_input();
        };
    }
    void close_input() noexcept override {
        if constexpr (requires(S & s) { s.close_input(); }) this->f_.close_input();
    }
    void abandon() noexcept override {
        if constexpr (requires(S & s) { s.abandon(); }) this->drop(this->f_.abandon());
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
