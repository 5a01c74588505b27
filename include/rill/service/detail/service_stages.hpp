#pragma once
// The stages of a service's segment, around the user's callables: ServicePoller (the source, over
// the inlet queue), ServiceMap (CallStream::map) and ServiceRespond (CallStream::respond). Each
// holds the slot table, so that the table outlives the Calls the stage holds ("Lifetimes" at
// the top of rill/service/service.hpp).

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "rill/flow/detail/inlet_queue.hpp"
#include "rill/flow/detail/stage_base.hpp"
#include "rill/flow/detail/stage_traits.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_context.hpp"
#include "rill/service/detail/call_slot.hpp"

namespace rill::detail {

/// The service's source: the inlet queue, plus the slot table kept alive for the Calls in it.
template <class Req, class Resp>
class ServicePoller {
  public:
    using value_type = Call<Req, Resp>;

    ServicePoller(std::shared_ptr<ServiceSlots<Resp>> slots,
                  std::shared_ptr<InletQueue<Call<Req, Resp>>> queue)
        : slots_(std::move(slots)), inner_(std::move(queue)) {}

    void claim() const { inner_.claim(); }
    void unclaim() const noexcept { inner_.unclaim(); }
    void open(StageContext& context) { inner_.open(context); }
    SourceStatus poll(Emitter<value_type>& out, std::size_t max) { return inner_.poll(out, max); }
    /// The run stops or is cancelled: calls fail from now on, callers waiting for a slot return.
    void close_input() noexcept {
        slots_->close();
        inner_.close_input();
    }
    /// The run was cancelled: the queued Calls are destroyed, which answers them `dropped`.
    std::size_t cancel() noexcept { return inner_.cancel(); }

  private:
    // Declared first, destroyed last: the Calls in the queue point into the table.
    std::shared_ptr<ServiceSlots<Resp>> slots_;
    InletPoller<Call<Req, Resp>> inner_;
};

/// A map stage of the segment: applies f to the value, keeps the slot. If f throws, the caller
/// gets the exception and the stage counts the item errored (its policy is skip).
template <class T, class Resp, class F>
class ServiceMap {
  public:
    using Out = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;

    ServiceMap(F f, std::shared_ptr<ServiceSlots<Resp>> slots)
        : slots_(std::move(slots)), f_(std::move(f)) {}

    Call<Out, Resp> operator()(Call<T, Resp> call) {
        try {
            // f runs before the constructor takes the slot over.
            return Call<Out, Resp>(std::move(call), std::invoke(f_, std::move(call.value)));
        } catch (...) {
            call.fail(std::current_exception());
            throw;
        }
    }
    void open(StageContext& context) { run_open_hook(f_, context); }
    void close() { run_close_hook(f_); }

  private:
    std::shared_ptr<ServiceSlots<Resp>> slots_;  // outlives the stage's Calls (top of service.hpp)
    F f_;
};

/// The end of the segment: answers each caller with its value as a Resp.
template <class T, class Resp>
class ServiceRespond {
  public:
    explicit ServiceRespond(std::shared_ptr<ServiceSlots<Resp>> slots) : slots_(std::move(slots)) {}
    void operator()(Call<T, Resp> call) noexcept { call.answer(); }

  private:
    std::shared_ptr<ServiceSlots<Resp>> slots_;  // outlives the stage's Calls (top of service.hpp)
};

template <class Item, class Response>
struct response_type_mismatch {
    static_assert(dependent_false<Item>,
                  "rill: respond() needs the segment's items to convert to the service's "
                  "response type; see response_type_mismatch<item type, response type> above");
};

}  // namespace rill::detail
