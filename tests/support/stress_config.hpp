#pragma once
// Sizes for stress tests: full size in optimised builds, smaller under sanitizers and in debug
// builds. RILL_STRESS_ITEMS=N in the environment overrides the item count.

#include <cstdint>
#include <cstdlib>
#include <string>

namespace rill::test {

// rill's RILL_SANITIZED, and the compilers' own macros for a sanitized build made without it.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RILL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RILL_TEST_SANITIZED 1
#endif
#endif

inline constexpr bool kSlowBuild =
#if defined(RILL_SANITIZED) || defined(RILL_TEST_SANITIZED) || !defined(NDEBUG)
    true;
#else
    false;
#endif

/// `full` in an optimised build, `full / slow_divisor` (at least 1) in a sanitized or debug build,
/// or the value of RILL_STRESS_ITEMS.
inline std::uint64_t stress_items(std::uint64_t full, std::uint64_t slow_divisor = 100) {
    if (const char* env = std::getenv("RILL_STRESS_ITEMS")) return std::stoull(env);
    const std::uint64_t n = kSlowBuild ? full / slow_divisor : full;
    return n == 0 ? 1 : n;
}

}  // namespace rill::test
