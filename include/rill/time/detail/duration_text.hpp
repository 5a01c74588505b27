#pragma once
// A duration as exact nanoseconds ("250000ns") for the errors that name a bad option's value.

#include <chrono>
#include <string>

#include "rill/time/clock.hpp"

namespace rill::detail {

[[nodiscard]] inline std::string duration_text(Clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) + "ns";
}

}  // namespace rill::detail
