#pragma once
// Pooled<T>: the owning handle of an object borrowed from an ObjectPool<T>. Move-only and
// pointer-sized; dropping it (on any thread) gives the object back to its pool.

#include <algorithm>
#include <cstdint>
#include <utility>

#include "rill/detail/cache_line.hpp"

namespace rill {

template <class T>
class ObjectPool;

namespace detail {

/// One pooled object with what its handle needs to find the way home. Aligned to a cache line
/// so that objects used by different threads never share one.
template <class T>
struct alignas(std::max(kCacheLine, alignof(T))) PoolSlot {
    PoolSlot(ObjectPool<T>* p, std::uint32_t i) : pool(p), index(i), value() {}
    ObjectPool<T>* pool;
    std::uint32_t index;
    T value;
};

}  // namespace detail

template <class T>
class Pooled {
  public:
    Pooled() noexcept = default;
    Pooled(Pooled&& other) noexcept : slot_(std::exchange(other.slot_, nullptr)) {}
    Pooled& operator=(Pooled&& other) noexcept {
        if (this != &other) {
            reset();
            slot_ = std::exchange(other.slot_, nullptr);
        }
        return *this;
    }
    Pooled(const Pooled&) = delete;
    Pooled& operator=(const Pooled&) = delete;
    ~Pooled() { reset(); }

    /// Gives the object back to its pool now; the handle becomes empty.
    void reset() noexcept {
        if (slot_ != nullptr) {
            detail::PoolSlot<T>* slot = std::exchange(slot_, nullptr);
            slot->pool->give_back(*slot);
        }
    }

    [[nodiscard]] T& operator*() const noexcept { return slot_->value; }
    [[nodiscard]] T* operator->() const noexcept { return &slot_->value; }
    [[nodiscard]] T* get() const noexcept { return slot_ == nullptr ? nullptr : &slot_->value; }
    [[nodiscard]] explicit operator bool() const noexcept { return slot_ != nullptr; }

  private:
    friend class ObjectPool<T>;
    explicit Pooled(detail::PoolSlot<T>* slot) noexcept : slot_(slot) {}

    detail::PoolSlot<T>* slot_ = nullptr;
};

}  // namespace rill

#include "rill/pool/object_pool.hpp"
