#pragma once
// Allocation counting for the zero-allocation tests: a global operator new that counts every call,
// and AllocationCount, which reads it together with rill's own allocator (rill::detail::
// allocate_aligned: ring slots, emitter buffers, call slots, KeyedState tables, pools), which
// does not go through operator new outside sanitized builds. A test takes a count before and after
// its measured phase and requires both deltas to be zero.
// It replaces the program's operator new, so include it in one file of an executable of its own.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <ostream>

#include "rill/detail/memory.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
    // relaxed: a counter compared at two moments by one thread, the others quiescent or joined.
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (n == 0) n = 1;
    void* p = align <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
}  // namespace

// GCC inlines these into new and delete expressions (at -O1 under TSan) and then warns that
// free() gets what operator new returned: true by design, these are the replacements.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    return counted_alloc(n, alignof(std::max_align_t));
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace rill::test {

/// Allocations so far in the process, by both routes. Subtract two readings for what happened in
/// between. In sanitized builds rill's allocator is operator new, so its calls count in both.
struct AllocationCount {
    std::uint64_t global_new = 0;  ///< calls of the global operator new
    std::uint64_t rill = 0;        ///< calls of rill::detail::allocate_aligned

    [[nodiscard]] static AllocationCount now() noexcept {
        // relaxed: see counted_alloc.
        return {g_allocations.load(std::memory_order_relaxed), rill::detail::allocation_count()};
    }
    [[nodiscard]] AllocationCount operator-(const AllocationCount& before) const noexcept {
        return {global_new - before.global_new, rill - before.rill};
    }
    /// True when neither route allocated (for a difference of two readings).
    [[nodiscard]] bool none() const noexcept { return global_new == 0 && rill == 0; }
    friend std::ostream& operator<<(std::ostream& out, const AllocationCount& c) {
        return out << c.global_new << " operator new, " << c.rill
                   << " rill::detail::allocate_aligned";
    }
};

}  // namespace rill::test
