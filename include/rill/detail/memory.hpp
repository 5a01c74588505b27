#pragma once
// rill's own allocations: ring slots, pool objects and caches, emitter buffers, service slots,
// KeyedState tables. All go through allocate_aligned, so that one counter sees them all.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rill::detail {

/// Aligned storage for rill's internal structures. Uses mimalloc, loaded privately (its malloc
/// does not replace the application's; see runtime/detail/memory.cpp), or the aligned global
/// operator new where mimalloc is not installed and in sanitizer builds (so that ASan and TSan
/// see every byte). Throws std::bad_alloc on failure.
[[nodiscard]] void* allocate_aligned(std::size_t bytes, std::size_t alignment);
void free_aligned(void* p, std::size_t bytes, std::size_t alignment) noexcept;

/// Calls of allocate_aligned so far in this process, from every thread: what the zero-allocation
/// tests compare before and after a run, in every build.
[[nodiscard]] std::uint64_t allocation_count() noexcept;
/// What serves allocate_aligned: "mimalloc" or "operator new".
[[nodiscard]] std::string_view allocator_name() noexcept;

}  // namespace rill::detail
