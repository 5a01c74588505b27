#include "rill/service/call_error.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace rill {
namespace {

/// "5 ms", "250 us", "1500 ns", "2 s": the largest unit that states the timeout exactly.
std::string describe(std::chrono::nanoseconds timeout) {
    const auto n = timeout.count();
    if (n != 0 && n % 1'000'000'000 == 0) return std::to_string(n / 1'000'000'000) + " s";
    if (n != 0 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + " ms";
    if (n != 0 && n % 1'000 == 0) return std::to_string(n / 1'000) + " us";
    return std::to_string(n) + " ns";
}

std::string within(std::chrono::nanoseconds timeout) {
    if (timeout.count() < 0) return "before the call's deadline";
    return "within " + describe(timeout);
}

}  // namespace

CallError::CallError(Kind kind, std::string service, const std::string& what)
    : std::runtime_error(what), kind_(kind), service_(std::move(service)) {}

std::string_view to_string(CallError::Kind kind) noexcept {
    switch (kind) {
        case CallError::Kind::timeout:
            return "timeout";
        case CallError::Kind::dropped:
            return "dropped";
        case CallError::Kind::closed:
            return "closed";
    }
    return "unknown";
}

namespace detail {

std::string service_prefix(const std::string& service) {
    return "rill service '" + service + "': ";
}

CallError no_response_error(const std::string& service, std::chrono::nanoseconds timeout) {
    return CallError(CallError::Kind::timeout, service,
                     service_prefix(service) + "no response " + within(timeout));
}

CallError no_slot_error(const std::string& service, std::chrono::nanoseconds timeout,
                        std::size_t max_in_flight) {
    return CallError(CallError::Kind::timeout, service,
                     service_prefix(service) + "no free slot " + within(timeout) + ": all " +
                         std::to_string(max_in_flight) +
                         " calls of ServiceOptions::max_in_flight are outstanding");
}

CallError dropped_error(const std::string& service) {
    return CallError(CallError::Kind::dropped, service,
                     service_prefix(service) +
                         "the request was dropped: the run was cancelled or stopped before it "
                         "was answered");
}

CallError closed_error(const std::string& service) {
    return CallError(CallError::Kind::closed, service,
                     service_prefix(service) + "the service is closed");
}

void throw_on_worker(const std::string& service, const char* what) {
    throw std::logic_error(service_prefix(service) + what +
                           " would wait on a worker thread, which could wait for its own worker; "
                           "use try_call() and poll Reply::ready() there");
}

}  // namespace detail
}  // namespace rill
