#pragma once
// ObjectPool<T>: a fixed set of T objects, built once up front and reused, taken and returned
// from any threads without locks or allocation. Exhaustion never allocates: try_acquire() comes
// back empty and acquire() waits (spin, yield, park) until an object is returned, which is
// backpressure. The pool must outlive its handles: destroying it while a Pooled<T> still holds
// an object aborts with a message, and it may be destroyed only after every thread that returned
// objects has synchronized with the destroying thread (joined it, for example).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <type_traits>

#include "rill/detail/memory.hpp"
#include "rill/pool/detail/pool_core.hpp"
#include "rill/pool/pool_options.hpp"
#include "rill/pool/pool_stats.hpp"
#include "rill/pool/pooled.hpp"
#include "rill/wait/wait_policy.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define RILL_POOL_POISON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RILL_POOL_POISON 1
#endif
#endif
#ifdef RILL_POOL_POISON
#include <sanitizer/asan_interface.h>
#endif

namespace rill {

template <class T>
class ObjectPool {
    static_assert(std::is_default_constructible_v<T>,
                  "rill::ObjectPool<T>: T is built up front with T(), so it must have one");

  public:
    /// Runs on every returned object before it is reused (clear a buffer, keep its capacity).
    /// Runs on the returning thread; must not throw.
    using ResetHook = std::function<void(T&)>;

    /// Builds options.capacity objects with T(). Throws std::invalid_argument for bad options.
    explicit ObjectPool(PoolOptions options, ResetHook on_return = {})
        : core_(options), reset_(std::move(on_return)) {
        const std::size_t n = core_.capacity();
        slots_ = static_cast<Slot*>(detail::allocate_aligned(n * sizeof(Slot), alignof(Slot)));
        std::size_t built = 0;
        try {
            for (; built < n; ++built) {
                std::construct_at(&slots_[built], this, static_cast<std::uint32_t>(built));
                poison(slots_[built]);
            }
        } catch (...) {
            destroy_slots(built);
            throw;
        }
    }

    ObjectPool(const ObjectPool&) = delete;
    ObjectPool& operator=(const ObjectPool&) = delete;

    /// Wakes and fails waiting acquire() calls, then frees the objects. Aborts with a message if
    /// a Pooled<T> still holds one: handles must not outlive their pool. An acquire() call may
    /// overlap the destruction only while it waits: one that may still find an object without
    /// waiting is not counted, so close() the pool and join such threads first.
    ~ObjectPool() {
        core_.close();
        core_.wait_until_no_waiters();
        const PoolStats s = core_.stats();
        if (s.in_use != 0) {
            std::fprintf(stderr,
                         "rill: ObjectPool destroyed while %zu of its %zu objects are still held "
                         "by Pooled handles; a pool must outlive its handles\n",
                         s.in_use, s.capacity);
            std::abort();
        }
        destroy_slots(core_.capacity());
    }

    [[nodiscard]] std::size_t capacity() const noexcept { return core_.capacity(); }

    /// An object, or an empty handle when every object is in use (or the pool is closed). Never
    /// waits, so it can also come back empty for the instant another thread is moving the last
    /// free object; acquire() waits that out.
    [[nodiscard]] Pooled<T> try_acquire() noexcept {
        const std::uint32_t index = core_.try_take();
        return index != detail::kNoIndex ? hand_out(index) : Pooled<T>{};
    }

    /// An object, waiting by `policy` until one is returned. Empty only at `deadline`. Throws
    /// std::runtime_error if the pool is closed before or while it waits.
    [[nodiscard]] Pooled<T> acquire(const WaitPolicy& policy = {},
                                    std::chrono::steady_clock::time_point deadline =
                                        std::chrono::steady_clock::time_point::max()) {
        const std::uint32_t index = core_.take(policy, deadline);
        return index != detail::kNoIndex ? hand_out(index) : Pooled<T>{};
    }

    /// Fails later acquire() calls and those waiting (they wake and throw); one that finds an
    /// object at once while close() runs may still get it. Returns still work.
    void close() noexcept { core_.close(); }

    [[nodiscard]] PoolStats stats() noexcept { return core_.stats(); }

  private:
    using Slot = detail::PoolSlot<T>;
    friend class Pooled<T>;

    Pooled<T> hand_out(std::uint32_t index) noexcept {
        Slot& slot = slots_[index];
        unpoison(slot);
        return Pooled<T>(&slot);
    }

    void give_back(Slot& slot) noexcept {
        if (reset_) reset_(slot.value);
        poison(slot);
        core_.put(slot.index);
    }

    // Under ASan a returned object's bytes are poisoned, so a use after return is reported.
    static void poison([[maybe_unused]] Slot& slot) noexcept {
#ifdef RILL_POOL_POISON
        ASAN_POISON_MEMORY_REGION(&slot.value, sizeof(T));
#endif
    }
    static void unpoison([[maybe_unused]] Slot& slot) noexcept {
#ifdef RILL_POOL_POISON
        ASAN_UNPOISON_MEMORY_REGION(&slot.value, sizeof(T));
#endif
    }

    void destroy_slots(std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i) {
            unpoison(slots_[i]);
            std::destroy_at(&slots_[i]);
        }
        detail::free_aligned(slots_, core_.capacity() * sizeof(Slot), alignof(Slot));
    }

    detail::PoolCore core_;
    ResetHook reset_;
    Slot* slots_ = nullptr;
};

static_assert(sizeof(Pooled<int>) == sizeof(void*), "Pooled<T> is one pointer");

}  // namespace rill
