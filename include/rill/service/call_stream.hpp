#pragma once
// CallStream<T, Resp>: a service's requests on their way through the flow
// (rill/service/service.hpp), mapped stage by stage and answered with respond().

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "rill/flow/detail/stage_traits.hpp"
#include "rill/flow/flow.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/service/detail/call_slot.hpp"
#include "rill/service/detail/service_stages.hpp"

namespace rill {

/// The requests of a service on their way through the flow: T is the current value's type.
/// map() transforms the value (each stage of the segment keeps the request's slot); respond()
/// ends the segment and answers each caller. StageOptions pass through (capacity, batch, worker,
/// replicas, ...) except on_error: service stages always skip, since the exception goes to the
/// caller that made the request.
template <class T, class Resp>
class CallStream {
  public:
    /// Out(T): one value per request. If f throws, that request's caller gets the exception
    /// from Reply::get() and the stage counts the item errored.
    template <class F>
    auto map(std::string name, F f, StageOptions options = {}) {
        if constexpr (!std::is_invocable_v<F&, T&&>) {
            detail::stage_cannot_take<T&&, F>();
            return *this;
        } else {
            using Out = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;
            static_assert(!std::is_void_v<Out>,
                          "rill: a service map must return its output; end the request stream "
                          "with respond()");
            static_assert(detail::check_item<Out>());
            options.on_error = ErrorPolicy::skip();
            Stream<detail::Call<Out, Resp>> next = stream_.map(
                std::move(name), detail::ServiceMap<T, Resp, F>(std::move(f), slots_), options);
            return CallStream<Out, Resp>(next, slots_);
        }
    }

    /// Ends the segment: each request's value, converted to Resp, answers its caller.
    void respond(std::string name, StageOptions options = {}) {
        if constexpr (!std::is_convertible_v<T, Resp>) {
            [[maybe_unused]] detail::response_type_mismatch<T, Resp> error;
        } else {
            options.on_error = ErrorPolicy::skip();
            stream_.sink(std::move(name), detail::ServiceRespond<T, Resp>(slots_), options);
        }
    }

  private:
    friend class Flow;
    template <class, class>
    friend class CallStream;

    CallStream(Stream<detail::Call<T, Resp>> stream,
               std::shared_ptr<detail::ServiceSlots<Resp>> slots) noexcept
        : stream_(stream), slots_(std::move(slots)) {}

    Stream<detail::Call<T, Resp>> stream_;
    std::shared_ptr<detail::ServiceSlots<Resp>> slots_;
};

}  // namespace rill
