#pragma once
// Emitter<T>: where a stage puts its outputs. emit() constructs the item straight into its
// destination window: the next stage's batch buffer when the two run as one task, or slots
// claimed in the ring to the next task. The window is handed over (published with one release,
// at most one notify) when it fills and at the end of every input batch, so a partial batch is
// never held back. When the ring is full the items wait in the emitter's overflow, which the task
// drains before it takes more input: that is how backpressure reaches a stage mid-batch. The
// overflow holds at most one batch: a 1:1 stage never needs more. A stage that expands (a
// flat_map or per_batch stage emitting many items per input, a source emitting past its `max`) and
// finds the overflow full waits inside emit() until the ring has room, its worker running its
// other tasks meanwhile (runtime/detail/help.hpp). So a stage's output holds at most its ring's
// capacity plus one batch, whatever one input expands to, and nothing is dropped. One exception
// keeps this deadlock-free: a step that its worker runs while helping another, unrelated one
// (not downstream of it) may not wait, and its overflow grows to hold what its step emits.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "rill/detail/assert.hpp"
#include "rill/detail/memory.hpp"
#include "rill/flow/detail/edge.hpp"
#include "rill/runtime/detail/help.hpp"

namespace rill {

namespace detail {

template <class T>
class Consumer {
  public:
    /// Processes a batch in place (items may be moved from); runs on the task's worker.
    virtual void consume(std::span<T> items) noexcept = 0;
    /// A watermark, after every item before it (flows with event time only).
    virtual void on_watermark(Watermark watermark) noexcept { static_cast<void>(watermark); }

  protected:
    ~Consumer() = default;
};

/// What a task needs of its last stage's emitter, whatever the item type.
class EmitterControl {
  public:
    [[nodiscard]] virtual bool has_overflow() const noexcept = 0;
    /// Moves overflow into the ring; returns whether anything moved.
    virtual bool flush_overflow() noexcept = 0;
    [[nodiscard]] virtual std::size_t overflow_size() const noexcept = 0;
    /// Publishes what was emitted so far, mid-batch, as far as the ring has room.
    virtual void publish_pending() noexcept = 0;

  protected:
    ~EmitterControl() = default;
};

template <class T>
class EmitterBinding;

}  // namespace detail

template <class T>
class Emitter final : public detail::EmitterControl {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "rill: stream items must be nothrow move-constructible and destructible");

  public:
    Emitter() = default;
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;
    ~Emitter() {
        if (buffer_ != nullptr) {
            std::destroy(buffer_, cur_);
            detail::free_aligned(buffer_, buffer_capacity_ * sizeof(T), alignof(T));
        }
        if (overflow_ != nullptr) {
            for (; overflow_count_ != 0; --overflow_count_)
                std::destroy_at(&overflow_[take_overflow_index()]);
            detail::free_aligned(overflow_, overflow_capacity_ * sizeof(T), alignof(T));
        }
    }

    void emit(T&& item) noexcept {
        if (cur_ != end_) [[likely]] {
            std::construct_at(cur_, std::move(item));
            ++cur_;
            return;
        }
        emit_slow(std::move(item));
    }
    void emit(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) { emit(T(item)); }
    template <class... Args>
    void emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
        emit_with([&] { return T(std::forward<Args>(args)...); });
    }

    /// Emits make(), constructed straight into the destination: no temporary to move, which a
    /// struct built field by field would otherwise be stored to and reloaded from (a window's
    /// result: the reload stalls on the stores).
    template <class Make>
    void emit_with(Make&& make) noexcept(noexcept(T(make()))) {
        if (cur_ != end_) [[likely]] {
            ::new (static_cast<void*>(cur_)) T(make());  // guaranteed elision
            ++cur_;
            return;
        }
        emit_slow(make());
    }

    /// Emits gen(), gen(), ... n times, constructing straight into the destination in runs.
    template <class Gen>
    void emit_n(std::size_t n, Gen&& gen) noexcept(noexcept(T(gen()))) {
        while (n != 0) {
            const std::span<T> slots = window(n);
            if (slots.empty()) {  // full ring: the rest goes to the overflow
                for (; n != 0; --n)
                    emit(gen());
                return;
            }
            T* p = slots.data();
            T* const stop = p + slots.size();
            if constexpr (noexcept(T(gen()))) {
                for (; p != stop; ++p)
                    std::construct_at(p, gen());
            } else {
                try {
                    for (; p != stop; ++p)
                        std::construct_at(p, gen());
                } catch (...) {
                    cur_ = p;  // keep what was built
                    throw;
                }
            }
            cur_ = p;
            n -= slots.size();
        }
    }

    /// Items handed downstream so far (delivered, published or waiting in overflow).
    [[nodiscard]] std::uint64_t emitted() const noexcept { return emitted_; }

    /// Sends a watermark downstream, after everything emitted so far (rill/time/watermark.hpp).
    /// Into a ring whose side channel is full it waits in the emitter, the latest one only,
    /// and goes when the task drains its overflow. Nothing in a flow without event time.
    void emit_watermark(Watermark watermark) noexcept {
        if (mode_ == Mode::chained) {
            deliver();
            next_->on_watermark(watermark);
            return;
        }
        if (mode_ != Mode::ring || edge_->marks == nullptr) return;
        end_batch();  // the position counts what is published or in the overflow
        pending_mark_ = detail::Mark{emitted_, watermark};
        mark_pending_ = true;
        static_cast<void>(push_mark());
    }

    [[nodiscard]] bool has_overflow() const noexcept override {
        return overflow_count_ != 0 || mark_pending_;
    }
    [[nodiscard]] std::size_t overflow_size() const noexcept override { return overflow_count_; }
    /// Publishes the written part of the window, then as much of the overflow as fits: what
    /// the stage emitted so far goes out while it waits mid-step (runtime/detail/help.hpp).
    /// Never called between a 1:1 stage's window() and its commit(): nothing waits in between.
    void publish_pending() noexcept override {
        if (mode_ != Mode::ring) return;
        end_batch();
        if (has_overflow()) static_cast<void>(flush_overflow());
    }

    bool flush_overflow() noexcept override {
        std::size_t moved = 0;
        while (overflow_count_ != 0) {
            const RingSpans<T> slots = edge_->ring.claim(overflow_count_);
            if (slots.empty()) break;
            const auto fill = [&](std::span<T> part) {
                for (T& slot : part) {
                    T& held = overflow_[take_overflow_index()];
                    std::construct_at(&slot, std::move(held));
                    std::destroy_at(&held);
                    --overflow_count_;
                }
            };
            fill(slots.first);
            fill(slots.second);
            edge_->ring.publish(slots.size());
            moved += slots.size();
        }
        edge_->note_overflow(overflow_count_);
        if (moved != 0) edge_->wake_consumer();
        // A mark may go before the items it follows are published: its position says where.
        const bool marked = push_mark();
        return moved != 0 || marked;
    }

  private:
    friend class detail::EmitterBinding<T>;
    enum class Mode : std::uint8_t { unbound, chained, ring };

    void emit_slow(T&& item) noexcept {
        for (;;) {
            if (refill()) {
                std::construct_at(cur_, std::move(item));
                ++cur_;
                return;
            }
            // Full ring: keep the item (and all after it, to keep order) until the task drains
            // them, up to one batch; past that, wait for room (see the top of this file).
            if (overflow_count_ < overflow_capacity_) break;
            if (!wait_for_room()) {
                grow_overflow();  // this step may not wait here: hold the rest instead
                break;
            }
            flush_overflow();
            if (overflow_count_ != 0) break;  // room for some, not all: room in the overflow
        }
        RILL_ASSERT(overflow_count_ < overflow_capacity_, "rill: Emitter overflow past its size");
        std::size_t at = overflow_head_ + overflow_count_;
        if (at >= overflow_capacity_) at -= overflow_capacity_;
        std::construct_at(&overflow_[at], std::move(item));
        ++overflow_count_;
        ++emitted_;
        edge_->note_overflow(overflow_count_);
    }

    /// False when this step may not wait for room (help.hpp says which steps may).
    [[nodiscard]] bool wait_for_room() noexcept {
        constexpr auto room = [](const void* edge) noexcept {
            return static_cast<const detail::EdgeBase*>(edge)->has_room();
        };
        return detail::help_until(room, edge_, detail::WaitFor::downstream_task);
    }

    /// Doubles the overflow, keeping its order. Only for a step that may not wait: allocates,
    /// and out of memory ends the process, as anywhere in a noexcept step.
    void grow_overflow() noexcept {
        const std::size_t capacity = overflow_capacity_ * 2;
        T* const grown =
            static_cast<T*>(detail::allocate_aligned(capacity * sizeof(T), alignof(T)));
        for (std::size_t k = 0; k < overflow_count_; ++k) {
            T& held = overflow_[take_overflow_index()];
            std::construct_at(&grown[k], std::move(held));
            std::destroy_at(&held);
        }
        detail::free_aligned(overflow_, overflow_capacity_ * sizeof(T), alignof(T));
        overflow_ = grown;
        overflow_capacity_ = capacity;
        overflow_head_ = 0;
    }

    [[nodiscard]] std::size_t take_overflow_index() noexcept {
        const std::size_t at = overflow_head_;
        overflow_head_ = at + 1 == overflow_capacity_ ? 0 : at + 1;
        return at;
    }

    /// Makes the window non-empty; false when the ring is full (emit into the overflow then).
    bool refill() noexcept {
        if (mode_ == Mode::chained) {
            deliver();
            return true;
        }
        RILL_ASSERT(mode_ == Mode::ring, "rill: Emitter used before its stage was connected");
        if (overflow_count_ != 0) return false;
        if (begin_ != nullptr) {
            // The window is used up: go on into the wrapped part of the claim, if any.
            written_ += static_cast<std::size_t>(cur_ - begin_);
            if (!second_.empty()) {
                set_window(second_);
                second_ = {};
                return true;
            }
            publish();
        }
        const RingSpans<T> slots = edge_->ring.claim(claim_size_);
        if (slots.empty()) return false;
        set_window(slots.first);
        second_ = slots.second;
        return true;
    }

    /// Up to n free contiguous slots to construct items in, then commit(); empty when the ring is
    /// full.
    std::span<T> window(std::size_t n) noexcept {
        if (cur_ == end_ && !refill()) return {};
        return {cur_, std::min(n, static_cast<std::size_t>(end_ - cur_))};
    }
    void commit(std::size_t k) noexcept { cur_ += k; }

    /// Ends an input batch: hands over everything emitted so far.
    void end_batch() noexcept {
        if (mode_ == Mode::chained) {
            deliver();
        } else if (begin_ != nullptr) {
            written_ += static_cast<std::size_t>(cur_ - begin_);
            publish();
        }
    }

    void deliver() noexcept {
        const auto n = static_cast<std::size_t>(cur_ - buffer_);
        if (n == 0) return;
        next_->consume(std::span<T>(buffer_, n));
        std::destroy(buffer_, buffer_ + n);
        cur_ = buffer_;
        emitted_ += n;
    }

    void publish() noexcept {
        begin_ = cur_ = end_ = nullptr;
        second_ = {};
        if (written_ == 0) return;
        edge_->ring.publish(written_);
        emitted_ += written_;
        written_ = 0;
        edge_->wake_consumer();
    }

    /// Pushes the pending watermark into the side channel; whether it went.
    bool push_mark() noexcept {
        if (!mark_pending_ || !edge_->marks->try_push(pending_mark_)) return false;
        mark_pending_ = false;
        edge_->wake_consumer();
        return true;
    }

    void set_window(std::span<T> w) noexcept {
        begin_ = cur_ = w.data();
        end_ = w.data() + w.size();
    }

    // The window emit() writes into: [cur_, end_) is free.
    T* cur_ = nullptr;
    T* end_ = nullptr;
    Mode mode_ = Mode::unbound;
    std::uint64_t emitted_ = 0;

    // chained: a batch buffer delivered to the next stage
    detail::Consumer<T>* next_ = nullptr;
    T* buffer_ = nullptr;
    std::size_t buffer_capacity_ = 0;

    // ring: claimed slots, written in order, published at the end of the batch
    detail::Edge<T>* edge_ = nullptr;
    T* begin_ = nullptr;
    std::span<T> second_;
    std::size_t written_ = 0;  // constructed in claimed slots before the current window
    std::size_t claim_size_ = 0;
    // Items that found the ring full, oldest first: a circular buffer of one batch, allocated
    // when the emitter is bound (larger only after a grow_overflow()).
    // [overflow_head_, + overflow_count_) modulo its capacity.
    T* overflow_ = nullptr;
    std::size_t overflow_capacity_ = 0;
    std::size_t overflow_head_ = 0;
    std::size_t overflow_count_ = 0;
    // A watermark the side channel had no room for (the latest; earlier ones are superseded).
    detail::Mark pending_mark_;
    bool mark_pending_ = false;
};

}  // namespace rill
