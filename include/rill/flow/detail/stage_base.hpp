#pragma once
// StageBase: what every stage of a running flow has: its name and place, its options, its
// counters, and the hooks. Stages are created per run from the prototypes in the Flow.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rill/flow/detail/edge.hpp"
#include "rill/flow/detail/emitter_binding.hpp"
#include "rill/flow/detail/run_state.hpp"
#include "rill/flow/detail/stage_counters.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_context.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/time/clock.hpp"

namespace rill::detail {

/// What became of the items of one input batch, besides going out.
struct Tally {
    std::size_t filtered = 0;
    std::size_t errored = 0;
    std::size_t dropped = 0;
    std::size_t held = 0;  // kept by the stage, counted when they leave it (held_output())
};

class StageBase {
  public:
    StageBase() = default;
    StageBase(const StageBase&) = delete;
    StageBase& operator=(const StageBase&) = delete;
    virtual ~StageBase() = default;

    /// The user's open(StageContext&) and close() hooks, when the stage object has them.
    virtual void open(StageContext&) {}
    virtual void close() {}
    /// Called once the whole run has ended, however it ended (also for a stage whose open()
    /// never ran), from the thread that ended it.
    virtual void run_ended() noexcept {}
    /// What the stage holds for lack of room that is not in an Emitter, if it can hold any: the
    /// task flushes it, as it flushes its emitters' overflow, before it takes more input.
    [[nodiscard]] virtual EmitterControl* held_output() noexcept { return nullptr; }

    /// Timers: whether the user's object has on_timer(); then the task fires it once the clock
    /// reaches timer_at, which refresh_timer() reads from the object's next_timer() after open,
    /// after every batch and after every on_timer.
    [[nodiscard]] virtual bool has_timer() const noexcept { return false; }
    virtual void refresh_timer() noexcept {}
    virtual void fire_timer(Clock::time_point now) noexcept { static_cast<void>(now); }
    /// End of input (not on cancel): the user's finish(Emitter&), which may emit.
    virtual void finish() noexcept {}
    /// End of input on cancel: a stage that holds items (a window) counts them as dropped.
    virtual void cancel_held() noexcept {}
    /// An exception from on_timer, next_timer or finish belongs to no item: it fails the run,
    /// whatever the error policy.
    void hook_failed() noexcept {
        timer_at = Clock::time_point::max();
        run->fail(name, std::current_exception());
    }

    /// An exception from the stage's code, for the item in hand: counts it (the caller counts)
    /// and applies the error policy. Returns whether to go on with the rest of the batch.
    [[nodiscard]] bool on_error() noexcept {
        if (on_error_policy.kind == ErrorPolicy::Kind::skip) return true;
        run->fail(name, std::current_exception());
        return false;
    }
    /// The item at i threw: counts it, applies the policy (under fail fast the rest of the
    /// batch is dropped) and moves i past it.
    void item_failed(std::size_t& i, std::size_t n, Tally& tally) noexcept {
        ++i;
        ++tally.errored;
        if (!on_error()) {
            tally.dropped = n - i;
            i = n;
        }
    }
    /// Runs item(j) for j in [i, n), one try block for the lot, re-entered after an item that
    /// threw when the policy says to go on.
    template <class Item>
    void each_item(std::size_t& i, std::size_t n, Tally& tally, Item&& item) noexcept {
        while (i < n) {
            try {
                for (; i < n; ++i)
                    item(i);
            } catch (...) {
                item_failed(i, n, tally);
            }
        }
    }
    /// Runs a stage that takes the whole batch: an exception fails all n items.
    template <class Body>
    [[nodiscard]] Tally whole_batch(std::size_t n, Body&& body) noexcept {
        try {
            body();
            return {};
        } catch (...) {
            static_cast<void>(on_error());
            return {.errored = n};
        }
    }

    /// The run was cancelled: n items taken from the input are dropped.
    void drop(std::size_t n) noexcept {
        bump(counters.in, n);
        bump(counters.dropped, n);
    }
    void begin_batch(std::size_t n) noexcept { bump(counters.in, n); }
    /// Accounts for the n items of a batch: whatever the tally does not claim went out.
    void finish_batch(std::size_t n, const Tally& t) noexcept {
        bump(counters.out, n - t.filtered - t.errored - t.dropped - t.held);
        if (t.filtered) bump(counters.filtered, t.filtered);
        if (t.errored) bump(counters.errored, t.errored);
        if (t.dropped) bump(counters.dropped, t.dropped);
    }
    void note_emitted(std::uint64_t total) noexcept {
        // relaxed: single writer, see StageCounters.
        counters.emitted.store(total, std::memory_order_relaxed);
    }

    // Set by Runtime::start.
    std::string name;   // the metrics row's: `stage`, or `stage[j]` for replica j
    std::string stage;  // the node's
    unsigned worker = 0;
    std::size_t batch = 64;
    ErrorPolicy on_error_policy;
    std::optional<WaitPolicy> wait;
    std::chrono::microseconds poll_interval{0};
    std::size_t replica = 0;  // which copy of a replicated stage this is
    std::size_t replicas = 1;
    RunState* run = nullptr;
    std::vector<const EdgeBase*> inputs;  // the rings in front of the stage; none when chained
    bool opened = false;
    Clock::time_point timer_at = Clock::time_point::max();  // see has_timer()
    StageCounters counters;
};

template <class T>
class Producer {
  public:
    using output_type = T;
    Emitter<T> out;
};

/// The output of a stage that has none (a sink): no output_type, which is how nodes tell sinks.
class NoOutput {};

/// A source: emits up to `batch` items per pull.
class SourceStageBase : public StageBase {
  public:
    [[nodiscard]] virtual SourceStatus pull() noexcept = 0;
    /// On stop(): an inlet closes and drains what it accepted; other sources just end.
    [[nodiscard]] virtual bool delivers_accepted_on_stop() const noexcept { return false; }
    /// Closes an inlet's queue; called from the thread that asks the run to stop or cancel.
    virtual void close_input() noexcept {}
    /// On cancel: an inlet counts what it holds as dropped.
    virtual void cancel() noexcept {}
};

template <class F>
void run_open_hook(F& f, StageContext& context) {
    if constexpr (requires { f.open(context); }) f.open(context);
}
template <class F>
void run_close_hook(F& f) {
    if constexpr (requires { f.close(); }) f.close();
}

/// A stage around a user object F, forwarding the hooks.
template <class Base, class F>
class UserStage : public Base {
  public:
    explicit UserStage(F f) : f_(std::move(f)) {}
    void open(StageContext& context) override { run_open_hook(f_, context); }
    void close() override { run_close_hook(f_); }

  protected:
    F f_;
};

}  // namespace rill::detail
