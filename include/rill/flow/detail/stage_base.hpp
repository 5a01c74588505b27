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

#include "rill/flow/detail/edge.hpp"
#include "rill/flow/detail/run_state.hpp"
#include "rill/flow/detail/stage_counters.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_context.hpp"
#include "rill/flow/stage_options.hpp"

namespace rill::detail {

class StageBase {
  public:
    StageBase() = default;
    StageBase(const StageBase&) = delete;
    StageBase& operator=(const StageBase&) = delete;
    virtual ~StageBase() = default;

    /// The user's open(StageContext&) and close() hooks, when the stage object has them.
    virtual void open(StageContext&) {}
    virtual void close() {}

    /// An exception from the stage's code, for the item in hand: counts it (the caller counts)
    /// and applies the error policy. Returns whether to go on with the rest of the batch.
    [[nodiscard]] bool on_error() noexcept {
        if (on_error_policy.kind == ErrorPolicy::Kind::skip) return true;
        run->fail(name, std::current_exception());
        return false;
    }
    /// The run was aborted: n items taken from the input are dropped.
    void drop(std::size_t n) noexcept {
        bump(counters.in, n);
        bump(counters.dropped, n);
    }
    void begin_batch(std::size_t n) noexcept { bump(counters.in, n); }
    void end_batch(std::size_t out, std::size_t filtered, std::size_t errored,
                   std::size_t dropped) noexcept {
        bump(counters.out, out);
        if (filtered) bump(counters.filtered, filtered);
        if (errored) bump(counters.errored, errored);
        if (dropped) bump(counters.dropped, dropped);
    }
    void note_emitted(std::uint64_t total) noexcept {
        // relaxed: single writer, see StageCounters.
        counters.emitted.store(total, std::memory_order_relaxed);
    }

    // Set by Runtime::start.
    std::string name;
    unsigned worker = 0;
    std::size_t batch = 64;
    ErrorPolicy on_error_policy;
    std::optional<WaitPolicy> wait;
    std::chrono::microseconds poll_interval{0};
    RunState* run = nullptr;
    const EdgeBase* input = nullptr;  // the ring in front of the stage; null when chained
    bool opened = false;
    StageCounters counters;
};

template <class T>
class Producer {
  public:
    Emitter<T> out;
};

/// A source: emits up to `batch` items per pull.
class SourceStageBase : public StageBase {
  public:
    [[nodiscard]] virtual SourceStatus pull() noexcept = 0;
    /// On stop(): an inlet closes and drains what it accepted; other sources just end.
    [[nodiscard]] virtual bool drains_on_stop() const noexcept { return false; }
    /// Closes an inlet's queue; called from the thread that asks the run to stop or abort.
    virtual void close_input() noexcept {}
    /// On abort: an inlet counts what it holds as dropped.
    virtual void abandon() noexcept {}
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
