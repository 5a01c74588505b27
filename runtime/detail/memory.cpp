#include "rill/detail/memory.hpp"

#include <dlfcn.h>

#include <atomic>
#include <new>

// Why dlopen. Debian's mimalloc is a shared library that defines malloc, free and operator new:
// linking it puts those definitions in the process's global scope ahead of glibc's, so every
// allocation of the application (and of every library it loads) would go to mimalloc. A library
// must not change its users' allocator behind their back. Loaded with RTLD_LOCAL, mimalloc's
// symbols resolve nobody else's references: rill reaches mi_malloc_aligned and mi_free through
// dlsym, and the application keeps its own malloc unless it links rill::mimalloc (CMake) to ask
// for the process-wide replacement.

namespace rill::detail {
namespace {

std::atomic<std::uint64_t> g_allocations{0};

struct Mimalloc {
    using Malloc = void* (*)(std::size_t, std::size_t);
    using Free = void (*)(void*);
    Malloc malloc_aligned = nullptr;
    Free free = nullptr;

    Mimalloc() noexcept {
#if !RILL_ALLOC_SYSTEM
        // Never closed: blocks it handed out may be freed until the process ends.
        void* lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
        if (lib == nullptr) return;
        auto* m = reinterpret_cast<Malloc>(dlsym(lib, "mi_malloc_aligned"));
        auto* f = reinterpret_cast<Free>(dlsym(lib, "mi_free"));
        if (m != nullptr && f != nullptr) {
            malloc_aligned = m;
            free = f;
        }
#endif
    }
};

const Mimalloc& mimalloc() noexcept {
    static const Mimalloc m;
    return m;
}

}  // namespace

void* allocate_aligned(std::size_t bytes, std::size_t alignment) {
    // relaxed: a statistic; tests read it with the allocating threads joined or quiescent.
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (const auto malloc_aligned = mimalloc().malloc_aligned) {
        void* p = malloc_aligned(bytes, alignment);
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }
    return ::operator new (bytes, std::align_val_t{alignment});
}

void free_aligned(void* p, std::size_t bytes, std::size_t alignment) noexcept {
    if (p == nullptr) return;
    if (const auto free = mimalloc().free) {
        free(p);
    } else {
        // Unsized: Clang declares the sized form only with -fsized-deallocation.
        static_cast<void>(bytes);
        ::operator delete (p, std::align_val_t{alignment});
    }
}

std::uint64_t allocation_count() noexcept {
    return g_allocations.load(std::memory_order_relaxed);  // relaxed: see allocate_aligned
}

std::string_view allocator_name() noexcept {
    return mimalloc().malloc_aligned != nullptr ? "mimalloc" : "operator new";
}

}  // namespace rill::detail
