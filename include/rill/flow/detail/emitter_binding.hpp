#pragma once
// EmitterBinding: the runtime's side of an Emitter (emitter.hpp), kept out of the public header:
// it connects an emitter to the next stage (chained) or to a ring, ends its batches, and gives a
// 1:1 stage the window of free slots it constructs its outputs in.

#include <algorithm>
#include <cstddef>
#include <span>

#include "rill/detail/memory.hpp"
#include "rill/flow/detail/edge.hpp"
#include "rill/flow/emitter.hpp"

namespace rill::detail {

template <class T>
class EmitterBinding {
  public:
    static void chain(Emitter<T>& e, Consumer<T>& next, std::size_t batch) {
        e.mode_ = Emitter<T>::Mode::chained;
        e.next_ = &next;
        e.buffer_capacity_ = batch;
        e.buffer_ = static_cast<T*>(allocate_aligned(batch * sizeof(T), alignof(T)));
        e.cur_ = e.buffer_;
        e.end_ = e.buffer_ + batch;
    }
    static void ring(Emitter<T>& e, Edge<T>& edge, std::size_t batch) {
        e.mode_ = Emitter<T>::Mode::ring;
        e.edge_ = &edge;
        e.claim_size_ = std::min(batch, edge.ring.capacity());
        e.overflow_capacity_ = std::max<std::size_t>(batch, 1);
        e.overflow_ =
            static_cast<T*>(allocate_aligned(e.overflow_capacity_ * sizeof(T), alignof(T)));
    }
    static void end_batch(Emitter<T>& e) noexcept { e.end_batch(); }
    [[nodiscard]] static std::span<T> window(Emitter<T>& e, std::size_t n) noexcept {
        return e.window(n);
    }
    static void commit(Emitter<T>& e, std::size_t k) noexcept { e.commit(k); }
    [[nodiscard]] static bool bound(const Emitter<T>& e) noexcept {
        return e.mode_ != Emitter<T>::Mode::unbound;
    }
};

}  // namespace rill::detail
