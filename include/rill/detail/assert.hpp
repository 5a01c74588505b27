#pragma once
// RILL_ASSERT: internal invariant and misuse checks. On by default in builds without NDEBUG;
// force with -DRILL_CHECKS=1 or 0. A failed check prints its message and aborts.

#ifndef RILL_CHECKS
#ifdef NDEBUG
#define RILL_CHECKS 0
#else
#define RILL_CHECKS 1
#endif
#endif

namespace rill::detail {
[[noreturn]] void assert_fail(const char* expr, const char* message, const char* file,
                              int line) noexcept;
/// Prints "rill: <message>" and aborts: misuse that cannot be reported by an exception.
[[noreturn]] void fatal(const char* message) noexcept;
}  // namespace rill::detail

#if RILL_CHECKS
#define RILL_ASSERT(cond, message) \
    ((cond) ? static_cast<void>(0) \
            : ::rill::detail::assert_fail(#cond, message, __FILE__, __LINE__))
#else
#define RILL_ASSERT(cond, message) static_cast<void>(0)
#endif
