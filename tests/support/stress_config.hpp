#pragma once
// Sizes for stress tests: full size in optimised builds, smaller under sanitizers and in debug
// builds. RILL_STRESS_ITEMS=N in the environment overrides the item count.

#include <cstdint>
#include <cstdlib>
#include <string>

namespace rill::test {

inline constexpr bool kSlowBuild =
#if defined(RILL_SANITIZED) || !defined(NDEBUG)
    true;
#else
    false;
#endif

/// `full` in an optimised build, `full / slow_divisor` in a sanitized or debug build, or the value
/// of RILL_STRESS_ITEMS.
inline std::uint64_t stress_items(std::uint64_t full, std::uint64_t slow_divisor = 100) {
    if (const char* env = std::getenv("RILL_STRESS_ITEMS")) return std::stoull(env);
    return kSlowBuild ? full / slow_divisor : full;
}

}  // namespace rill::test
