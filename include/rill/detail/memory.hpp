#pragma once
#include <cstddef>

namespace rill::detail {

/// Aligned storage for rill's internal structures (ring slots, pools). Goes through mimalloc,
/// except in sanitizer builds, which use operator new so that ASan/TSan see every byte.
/// Throws std::bad_alloc on failure.
[[nodiscard]] void* allocate_aligned(std::size_t bytes, std::size_t alignment);
void free_aligned(void* p, std::size_t bytes, std::size_t alignment) noexcept;

}  // namespace rill::detail
