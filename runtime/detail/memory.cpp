#include "rill/detail/memory.hpp"

#include <new>

#if !RILL_ALLOC_SYSTEM
#include <mimalloc.h>
#endif

namespace rill::detail {

void* allocate_aligned(std::size_t bytes, std::size_t alignment) {
#if RILL_ALLOC_SYSTEM
    return ::operator new (bytes, std::align_val_t{alignment});
#else
    void* p = mi_malloc_aligned(bytes, alignment);
    if (p == nullptr) throw std::bad_alloc();
    return p;
#endif
}

void free_aligned(void* p, [[maybe_unused]] std::size_t bytes,
                  [[maybe_unused]] std::size_t alignment) noexcept {
#if RILL_ALLOC_SYSTEM
    ::operator delete (p, bytes, std::align_val_t{alignment});
#else
    mi_free_size_aligned(p, bytes, alignment);
#endif
}

}  // namespace rill::detail
