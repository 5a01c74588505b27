#include "rill/wait/wait_policy.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

namespace rill {
namespace {

constexpr std::string_view kForms =
    "expected busy-spin, spin-yield[:SPIN], spin-park[:SPIN[:YIELD]] or park";

std::uint32_t parse_budget(std::string_view text, std::string_view whole) {
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
        throw std::invalid_argument("wait policy '" + std::string(whole) + "': '" +
                                    std::string(text) + "' is not a non-negative integer");
    }
    return value;
}

}  // namespace

void WaitPolicy::validate() const {
    if (mode > Mode::park) {
        throw std::invalid_argument("WaitPolicy.mode " + std::to_string(static_cast<int>(mode)) +
                                    " is not one of busy_spin, spin_yield, spin_park, park");
    }
    if (spin > kMaxSpin) {
        throw std::invalid_argument("WaitPolicy.spin " + std::to_string(spin) +
                                    " exceeds the limit of " + std::to_string(kMaxSpin) +
                                    " pause rounds");
    }
    if (yield > kMaxYield) {
        throw std::invalid_argument("WaitPolicy.yield " + std::to_string(yield) +
                                    " exceeds the limit of " + std::to_string(kMaxYield) +
                                    " yields");
    }
}

WaitPolicy WaitPolicy::parse(std::string_view text) {
    const std::size_t colon = text.find(':');
    const std::string_view name = text.substr(0, colon);
    std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
    auto next_budget = [&](std::uint32_t fallback) {
        if (rest.empty()) return fallback;
        const std::size_t c = rest.find(':');
        const std::uint32_t v = parse_budget(rest.substr(0, c), text);
        rest = c == std::string_view::npos ? "" : rest.substr(c + 1);
        return v;
    };
    WaitPolicy p;
    const WaitPolicy defaults;
    if (name == "busy-spin" && colon == std::string_view::npos) {
        p = busy_spin();
    } else if (name == "spin-yield") {
        p = spin_yield(next_budget(defaults.spin));
    } else if (name == "spin-park") {
        const std::uint32_t spin = next_budget(defaults.spin);
        p = spin_park(spin, next_budget(defaults.yield));
    } else if (name == "park" && colon == std::string_view::npos) {
        p = park();
    } else {
        throw std::invalid_argument("wait policy '" + std::string(text) +
                                    "': " + std::string(kForms));
    }
    if (!rest.empty()) {
        throw std::invalid_argument("wait policy '" + std::string(text) + "': too many budgets; " +
                                    std::string(kForms));
    }
    p.validate();
    return p;
}

std::string to_string(const WaitPolicy& p) {
    switch (p.mode) {
        case WaitPolicy::Mode::busy_spin:
            return "busy-spin";
        case WaitPolicy::Mode::spin_yield:
            return "spin-yield:" + std::to_string(p.spin);
        case WaitPolicy::Mode::spin_park:
            return "spin-park:" + std::to_string(p.spin) + ":" + std::to_string(p.yield);
        case WaitPolicy::Mode::park:
            return "park";
    }
    return "invalid(" + std::to_string(static_cast<int>(p.mode)) + ")";
}

}  // namespace rill
