#pragma once
// WaitPolicy: how a thread waits for a ring, a pool or a worker queue: spin (with `pause`), then
// yield the core, then park on an EventCount. Budgets are options because the right numbers
// depend on the machine (parking costs tens of microseconds on a virtual machine); use
// rill-perf-report to choose them.

#include <cstdint>
#include <string>
#include <string_view>

namespace rill {

struct WaitPolicy {
    enum class Mode : std::uint8_t {
        busy_spin,   ///< spin forever: lowest latency, burns its core
        spin_yield,  ///< spin `spin` rounds, then sched_yield() until ready
        spin_park,   ///< spin, yield `yield` times, then park (uses no CPU while parked)
        park,        ///< park at once
    };

    Mode mode = Mode::spin_park;
    std::uint32_t spin = 4096;  ///< pause rounds before yielding (spin_yield, spin_park)
    std::uint32_t yield = 8;    ///< sched_yield() calls before parking (spin_park)

    static constexpr std::uint32_t kMaxSpin = 1u << 24;
    static constexpr std::uint32_t kMaxYield = 1u << 16;

    [[nodiscard]] static constexpr WaitPolicy busy_spin() noexcept { return {Mode::busy_spin}; }
    [[nodiscard]] static constexpr WaitPolicy spin_yield(std::uint32_t spin = 4096) noexcept {
        return {Mode::spin_yield, spin, 0};
    }
    [[nodiscard]] static constexpr WaitPolicy spin_park(std::uint32_t spin = 4096,
                                                        std::uint32_t yield = 8) noexcept {
        return {Mode::spin_park, spin, yield};
    }
    [[nodiscard]] static constexpr WaitPolicy park() noexcept { return {Mode::park, 0, 0}; }

    /// Throws std::invalid_argument naming the field and its limit when a value is out of range.
    void validate() const;

    /// Parses what to_string() prints: "busy-spin", "spin-yield[:SPIN]", "spin-park[:SPIN[:YIELD]]"
    /// or "park". Throws std::invalid_argument naming the text and the accepted forms.
    [[nodiscard]] static WaitPolicy parse(std::string_view text);

    friend bool operator==(const WaitPolicy&, const WaitPolicy&) = default;
};

[[nodiscard]] std::string to_string(const WaitPolicy& policy);

}  // namespace rill
