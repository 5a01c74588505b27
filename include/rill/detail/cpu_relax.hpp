#pragma once

namespace rill::detail {

/// One spin-wait iteration: tells the core we are spinning (frees the sibling hyperthread,
/// avoids the memory-order mis-speculation flush when the awaited line changes).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    asm volatile("" ::: "memory");
#endif
}

}  // namespace rill::detail
