#pragma once
#include <cstddef>
#include <span>

namespace rill {

/// A run of ring slots that may wrap around the end of the storage: `first` then `second`
/// (`second` is empty unless the run wraps). Returned by `claim` (slots to construct) and
/// `peek` (live items).
template <class T>
struct RingSpans {
    std::span<T> first;
    std::span<T> second;

    [[nodiscard]] std::size_t size() const noexcept { return first.size() + second.size(); }
    [[nodiscard]] bool empty() const noexcept { return first.empty(); }

    /// Slot i of the run, counting across the wrap.
    [[nodiscard]] T& operator[](std::size_t i) const noexcept {
        return i < first.size() ? first[i] : second[i - first.size()];
    }

    /// Calls f(T&) on every slot in order.
    template <class F>
    void for_each(F&& f) const {
        for (T& x : first)
            f(x);
        for (T& x : second)
            f(x);
    }
};

}  // namespace rill
