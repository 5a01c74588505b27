#include "rill/service/service_options.hpp"

#include <stdexcept>
#include <string>

#include "rill/service/call_error.hpp"

namespace rill::detail {

void validate_service_options(std::string_view service, const ServiceOptions& options) {
    const std::string name(service);
    if (options.max_in_flight == 0 || options.max_in_flight > kMaxServiceInFlight) {
        throw std::invalid_argument(service_prefix(name) + "max_in_flight " +
                                    std::to_string(options.max_in_flight) + " is outside [1, " +
                                    std::to_string(kMaxServiceInFlight) + "]");
    }
    try {
        options.wait.validate();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(service_prefix(name) + "wait: " + e.what());
    }
}

}  // namespace rill::detail
