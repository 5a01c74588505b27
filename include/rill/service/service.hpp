#pragma once
// Service<Req, Resp>: request/response over a segment of a flow. Any number of application
// threads call(); each call gets a Reply, a future of its own response, with a deadline.
//
//   rill::Flow flow;
//   auto [quotes, requests] = flow.service<Order, Quote>("quote", {.max_in_flight = 256});
//   requests.map("price", [](Order o) { return price(o); })      // Order -> Priced
//           .map("quote", [](Priced p) { return Quote{p}; }, {.replicas = 2})
//           .respond("answer");                                  // Quote -> the caller
//   rill::Run run = runtime.start(flow);
//   rill::Reply<Quote> reply = quotes.call(order, std::chrono::milliseconds(5));
//   Quote q = reply.get();  // the response, or throws (see below)
//
// What a caller can get:
//  * the response its own request produced (never another caller's);
//  * the exception a stage of the segment threw for its request, rethrown as is (the stage
//    counts the item as errored and goes on: service stages always run with ErrorPolicy::skip,
//    so that one bad request does not end the run);
//  * CallError::timeout once the deadline passes without a response (a free slot counts too:
//    call() never waits past the deadline);
//  * CallError::dropped when the run is cancelled, fails, or misses its stop deadline before the
//    request was answered: every outstanding Reply then completes, none hangs;
//  * CallError::closed when the service was closed, or its run stopped or ended, before the call.
//
// Bounded: at most ServiceOptions::max_in_flight calls are outstanding. Each holds one
// preallocated slot from call() until both its caller and its request are done with it: the
// caller until its Reply is read or destroyed (a thread that keeps many unread Replies can fill
// the service by itself), the request until it leaves the flow (so a request whose caller timed
// out still counts, and the bound holds for what is inside the flow too). A full service fails
// try_call() and makes call() wait, by the options' WaitPolicy, for a free slot until the
// call's deadline. In steady state a call allocates nothing (the Resp type aside).
//
// The requests enter the flow through an inlet's queue (moodycamel::ConcurrentQueue, any number
// of producers) as detail::Call<T, Resp> items: the request value and a reference to its slot.
// A stage's value changes type along the segment; the slot reference travels with it. A Call
// destroyed while it still owns its slot, wherever that happens (a ring or the inlet emptied by
// a cancel, a stage's overflow, an item dropped on the floor), answers its caller with
// CallError::dropped: that is how a cancelled run completes every outstanding future without
// any bookkeeping of its own.
//
// Lifetimes: Service handles and Replies share the slot table; Calls point into it without
// owning it. A run ends only once its rings are drained, so after a run only the inlet queue
// can still hold Calls; every owner of the queue (the Service handles, the source object in the
// Flow and in the run) and every stage object of the segment holds the table too, and
// destroys its Calls before letting go of the table.
//
// Where the parts live: ServiceOptions in service_options.hpp, CallError in call_error.hpp,
// Reply in reply.hpp, CallStream in call_stream.hpp; the slot table (with its protocol) and
// detail::Call in detail/call_slot.hpp, the segment's stages in detail/service_stages.hpp, the
// deadline arithmetic in detail/service_clock.hpp. This header brings them all in.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "rill/flow/detail/inlet_queue.hpp"
#include "rill/flow/detail/stage_traits.hpp"
#include "rill/flow/flow.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/runtime/runtime.hpp"
#include "rill/service/call_error.hpp"
#include "rill/service/call_stream.hpp"
#include "rill/service/detail/call_slot.hpp"
#include "rill/service/detail/service_clock.hpp"
#include "rill/service/detail/service_stages.hpp"
#include "rill/service/reply.hpp"
#include "rill/service/service_options.hpp"

namespace rill {

/// A request/response service over a flow segment (see the top of this file). Copies share one
/// service; every member may be called from any number of threads. On a worker thread of a
/// Runtime nothing waits: call() and call_until() throw std::logic_error when they would wait
/// for a slot, Reply::get() and wait_until() when they would wait for the response (waiting
/// there could wait for the worker itself). Stages use try_call() and poll Reply::ready().
template <class Req, class Resp>
class Service {
  public:
    /// Calls with a deadline of now + timeout. Never throws for the call's outcome: that is
    /// in the Reply (std::bad_alloc and the logic_error above excepted).
    template <class Rep, class Period>
    [[nodiscard]] Reply<Resp> call(Req request, std::chrono::duration<Rep, Period> timeout) const {
        const auto now = detail::ServiceClock::now();
        return start(std::move(request), detail::deadline_after(now, timeout),
                     detail::timeout_for_message(timeout), true)
            .value();  // never empty when waiting
    }
    [[nodiscard]] Reply<Resp> call_until(Req request,
                                         detail::ServiceClock::time_point deadline) const {
        return start(std::move(request), deadline, std::chrono::nanoseconds{-1}, true).value();
    }
    /// As call(), but empty at once when no slot is free or the service is closed.
    template <class Rep, class Period>
    [[nodiscard]] std::optional<Reply<Resp>> try_call(
        Req request, std::chrono::duration<Rep, Period> timeout) const {
        const auto now = detail::ServiceClock::now();
        return start(std::move(request), detail::deadline_after(now, timeout),
                     detail::timeout_for_message(timeout), false);
    }

    /// Calls fail with CallError::closed from now on; requests already accepted are answered,
    /// and the run can complete once they are (the service's source ends).
    void close() const noexcept {
        slots_->close();
        queue_->close();
    }
    [[nodiscard]] bool closed() const noexcept { return slots_->closed(); }
    /// Calls outstanding at some moment during the call (a request whose caller gave up counts
    /// until it leaves the flow).
    [[nodiscard]] std::size_t in_flight() const noexcept { return slots_->in_flight(); }
    [[nodiscard]] std::size_t max_in_flight() const noexcept { return slots_->max_in_flight(); }
    [[nodiscard]] const std::string& name() const noexcept { return slots_->name(); }

  private:
    friend class Flow;
    using Slots = detail::ServiceSlots<Resp>;
    using ReplyState = typename Reply<Resp>::State;

    Service(std::shared_ptr<Slots> slots,
            std::shared_ptr<detail::InletQueue<detail::Call<Req, Resp>>> queue) noexcept
        : slots_(std::move(slots)), queue_(std::move(queue)) {}

    std::optional<Reply<Resp>> start(Req&& request, detail::ServiceClock::time_point deadline,
                                     std::chrono::nanoseconds timeout, bool wait) const {
        const auto failed = [&](ReplyState state) {
            return wait ? std::optional<Reply<Resp>>(
                              Reply<Resp>(slots_, state, 0, deadline, timeout))
                        : std::nullopt;
        };
        if (slots_->closed()) return failed(ReplyState::closed);
        std::uint32_t index = 0;
        if (const std::optional<std::uint32_t> free = slots_->try_acquire()) {
            index = *free;
        } else if (!wait) {
            return std::nullopt;
        } else {
            if (detail::on_worker_thread()) detail::throw_on_worker(slots_->name(), "call");
            switch (slots_->acquire_until(deadline, index)) {
                case Slots::Acquire::slot:
                    break;
                case Slots::Acquire::timeout:
                    return failed(ReplyState::no_slot);
                case Slots::Acquire::closed:
                    return failed(ReplyState::closed);
            }
        }
        // The caller's half first: if the push throws, the Reply gives the call up and the
        // destroyed Call answers `dropped`, and the slot is recycled.
        Reply<Resp> reply(slots_, ReplyState::waiting, index, deadline, timeout);
        detail::Call<Req, Resp> call(slots_.get(), index, std::move(request));
        // The queue holds max_in_flight items and each holds a slot: only a close fails this.
        if (!queue_->try_push(std::move(call))) {
            call.answer_closed();
            if (!wait) return std::nullopt;  // ~Reply recycles the slot
        }
        return reply;
    }

    // Declared first, destroyed last: the Calls in the queue point into the table.
    std::shared_ptr<Slots> slots_;
    std::shared_ptr<detail::InletQueue<detail::Call<Req, Resp>>> queue_;
};

/// What Flow::service() returns: the handle callers use, and the stream of their requests, to
/// be mapped and finally answered with respond().
template <class Req, class Resp>
struct ServiceEntry {
    Service<Req, Resp> service;
    CallStream<Req, Resp> requests;
};

/// The source stage is named after the service; `source_options` places it (worker, batch...).
/// The inlet in front of it holds max_in_flight requests: every queued request owns a slot, so
/// it never fills, and a call never waits for it.
template <class Req, class Resp, class Options>
ServiceEntry<Req, Resp> Flow::service(std::string name, Options options,
                                      StageOptions source_options) {
    static_assert(std::is_same_v<Options, ServiceOptions>,
                  "rill: Flow::service takes its options as a rill::ServiceOptions");
    static_assert(detail::check_item<Req>());
    static_assert(std::is_move_constructible_v<Resp> && std::is_nothrow_destructible_v<Resp>,
                  "rill: a service's response type must be move-constructible and "
                  "nothrow-destructible");
    detail::validate_service_options(name, options);
    auto slots = std::make_shared<detail::ServiceSlots<Resp>>(name, options);
    const InletOptions inlet{.capacity = options.max_in_flight, .wait = options.wait};
    auto queue = std::make_shared<detail::InletQueue<detail::Call<Req, Resp>>>(name, inlet);
    source_options.poll_interval = std::chrono::microseconds{0};  // pushes wake the source
    Stream<detail::Call<Req, Resp>> stream =
        source(std::move(name), detail::ServicePoller<Req, Resp>(slots, queue), source_options);
    return ServiceEntry<Req, Resp>{Service<Req, Resp>(slots, std::move(queue)),
                                   CallStream<Req, Resp>(stream, std::move(slots))};
}

}  // namespace rill
