#pragma once
// Command-line numbers for rill's examples, benchmarks and tools: one strict parser, so that
// every program accepts and rejects the same spellings ("12" yes; "-1", " 1", "1e3", "12x" no).

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace rill::cli {

/// text as a whole number from lo to hi, or nullopt: digits only, all of text.
[[nodiscard]] inline std::optional<std::uint64_t> whole_number(std::string_view text,
                                                               std::uint64_t lo,
                                                               std::uint64_t hi) noexcept {
    std::uint64_t v = 0;
    const char* const last = text.data() + text.size();
    // from_chars takes no sign, space or prefix; on overflow it reports out of range.
    const auto [end, ec] = std::from_chars(text.data(), last, v);
    if (text.empty() || ec != std::errc{} || end != last || v < lo || v > hi) return std::nullopt;
    return v;
}

/// What to say about a value that is not one: "expected a whole number from lo to hi".
[[nodiscard]] inline std::string expected_whole_number(std::uint64_t lo, std::uint64_t hi) {
    return "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
}

}  // namespace rill::cli
