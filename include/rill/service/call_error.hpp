#pragma once
// CallError: why a call to a service (rill/service/service.hpp) produced no response: timeout,
// dropped or closed. The errors are built out of line (runtime/service.cpp): they format
// messages that name the service.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rill {

/// Why a call produced no response. The message names the service and says what happened.
class CallError : public std::runtime_error {
  public:
    enum class Kind : std::uint8_t {
        timeout,  ///< the deadline passed before the response (or before a free slot)
        dropped,  ///< the run was cancelled, failed or stopped before the request was answered
        closed,   ///< the service was closed (or its run ended) before the call
    };

    CallError(Kind kind, std::string service, const std::string& what);

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] const std::string& service() const noexcept { return service_; }

  private:
    Kind kind_;
    std::string service_;
};

[[nodiscard]] std::string_view to_string(CallError::Kind kind) noexcept;

namespace detail {

/// "rill service '<service>': ", the start of every message about a service.
[[nodiscard]] std::string service_prefix(const std::string& service);
/// The errors a Reply throws (built out of line: they format messages).
[[nodiscard]] CallError no_response_error(const std::string& service,
                                          std::chrono::nanoseconds timeout);
[[nodiscard]] CallError no_slot_error(const std::string& service, std::chrono::nanoseconds timeout,
                                      std::size_t max_in_flight);
[[nodiscard]] CallError dropped_error(const std::string& service);
[[nodiscard]] CallError closed_error(const std::string& service);
/// A blocking call on a worker thread: std::logic_error naming the service and what to use.
[[noreturn]] void throw_on_worker(const std::string& service, const char* what);

}  // namespace detail
}  // namespace rill
