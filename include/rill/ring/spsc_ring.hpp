#pragma once
// SpscRing<T>: bounded single-producer single-consumer ring with batch and zero-copy operations.
//
// Correctness argument. `tail_` counts slots ever published, `head_` slots ever released; both
// only grow (mod 2^64) and each has a single writer: the producer writes tail_, the consumer
// head_. Slot i lives at storage[i & mask]. Invariant: 0 <= tail_ - head_ <= capacity.
//  * The producer constructs items in slots [tail, tail+k), then stores tail+k with release.
//    The consumer's acquire load of tail_ that sees tail+k therefore sees the constructed items.
//  * The consumer destroys (or moves out of) slots [head, head+k), then stores head+k with
//    release. The producer's acquire load of head_ that sees head+k therefore orders its reuse
//    of those slots after the consumer is done with them.
//  * Each side keeps a private copy of the other side's index (cached_head, cached_tail); the
//    copy is stale only towards "fuller" (producer) or "emptier" (consumer), which is safe, and
//    is refreshed only when it says there is not enough room or data for the request. So an
//    uncontended side touches the other side's cache line once per refill, not once per item.
//  * Each side also keeps its own index privately and only writes the published atomic, so the
//    line the other side polls is never read by its owner: measured, this made a round trip
//    1.3x faster than with index and private state sharing a line (BUILD.md).
// Unsigned wrap-around of the 64-bit counters is harmless: only differences are used.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "rill/detail/assert.hpp"
#include "rill/detail/cache_line.hpp"
#include "rill/detail/memory.hpp"
#include "rill/ring/detail/ring_capacity.hpp"
#include "rill/ring/detail/side_checks.hpp"
#include "rill/ring/ring_spans.hpp"

namespace rill {

/// Starting value of a ring's position counters. Only tests need anything but zero: seeding near
/// 2^64 exercises counter wrap-around.
struct RingIndexSeed {
    std::uint64_t value = 0;
};

template <class T>
class SpscRing {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "rill::SpscRing<T>: T must be nothrow move-constructible and destructible");

  public:
    using value_type = T;

    /// Throws std::invalid_argument unless capacity is a power of two in [1, 2^32].
    explicit SpscRing(std::size_t capacity) : SpscRing(capacity, RingIndexSeed{}) {}

    SpscRing(std::size_t capacity, RingIndexSeed seed) {
        detail::validate_ring_capacity("SpscRing", capacity, 1, sizeof(T));
        T* slots = static_cast<T*>(detail::allocate_aligned(capacity * sizeof(T), kSlotAlign));
        // relaxed: the ring is not shared yet; whoever receives it synchronizes with this thread.
        tail_.store(seed.value, std::memory_order_relaxed);
        head_.store(seed.value, std::memory_order_relaxed);  // relaxed: as above
        producer_.tail = producer_.cached_head = seed.value;
        consumer_.head = consumer_.cached_tail = seed.value;
        producer_.slots = consumer_.slots = slots;
        producer_.mask = consumer_.mask = capacity - 1;
    }

    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    /// Destroys the items still in the ring. No producer or consumer may be running.
    ~SpscRing() {
        // The caller guarantees both sides have stopped and synchronized with us.
        for (std::uint64_t i = consumer_.head; i != producer_.tail; ++i) {
            std::destroy_at(&consumer_.slots[i & consumer_.mask]);
        }
        detail::free_aligned(consumer_.slots, capacity() * sizeof(T), kSlotAlign);
    }

    [[nodiscard]] std::size_t capacity() const noexcept { return consumer_.mask + 1; }

    // ---- producer side -------------------------------------------------------------------

    /// Constructs one item from args; false when the ring is full.
    template <class... Args>
    [[nodiscard]] bool try_emplace(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<T, Args...>) {
        const RingSpans<T> slot = claim(1);
        if (slot.empty()) return false;
        std::construct_at(slot.first.data(), std::forward<Args>(args)...);
        publish(1);
        return true;
    }
    [[nodiscard]] bool try_push(T&& item) noexcept { return try_emplace(std::move(item)); }
    [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
        return try_emplace(item);
    }

    /// Constructs up to n items from *first, *(first+1), ... (pass a move_iterator to move) with
    /// one acquire and one release. Returns how many were pushed.
    template <std::input_iterator It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept(
        std::is_nothrow_constructible_v<T, std::iter_reference_t<It>>) {
        const RingSpans<T> slots = claim(n);
        std::size_t done = 0;
        if constexpr (std::is_nothrow_constructible_v<T, std::iter_reference_t<It>>) {
            for (; done < slots.size(); ++done, ++first)
                std::construct_at(&slots[done], *first);
        } else {
            try {
                for (; done < slots.size(); ++done, ++first) {
                    std::construct_at(&slots[done], *first);
                }
            } catch (...) {
                publish(done);  // the items built before the throw stay pushed
                throw;
            }
        }
        publish(done);
        return done;
    }

    /// Zero-copy write: up to n free slots, uninitialized. Construct items in them in order
    /// (std::construct_at, or plain assignment for trivially copyable types), then publish(k).
    /// Returns an empty run when the ring is full.
    [[nodiscard]] RingSpans<T> claim(std::size_t n) noexcept {
        producer_.owner.check("SpscRing: producer side used by a second thread");
        const std::uint64_t tail = producer_.tail;
        const std::size_t cap = producer_.mask + 1;
        std::size_t free_slots = cap - static_cast<std::size_t>(tail - producer_.cached_head);
        if (free_slots < n) {
            // acquire: pairs with the consumer's release store of head_ in release(); slots below
            // the loaded head are no longer read by the consumer and may be rebuilt.
            producer_.cached_head = head_.load(std::memory_order_acquire);
            free_slots = cap - static_cast<std::size_t>(tail - producer_.cached_head);
        }
        const std::size_t k = std::min(n, free_slots);
        producer_.debug.remember(k);
        return span_at(producer_.slots, producer_.mask, tail, k);
    }

    /// Makes the first k claimed slots (which the caller has constructed) visible to the consumer.
    void publish(std::size_t k) noexcept {
        producer_.debug.check_and_forget(k, "SpscRing::publish: more slots than claimed");
        if (k == 0) return;
        producer_.tail += k;
        // release: publishes the constructed items; pairs with the consumer's acquire load of
        // tail_ in peek().
        tail_.store(producer_.tail, std::memory_order_release);
    }

    // ---- consumer side -------------------------------------------------------------------

    /// Moves the oldest item into out; false when the ring is empty.
    [[nodiscard]] bool try_pop(T& out) noexcept {
        static_assert(std::is_nothrow_move_assignable_v<T>,
                      "SpscRing::try_pop(T&) needs nothrow move assignment; use try_pop()");
        const RingSpans<T> item = peek(1);
        if (item.empty()) return false;
        out = std::move(item.first[0]);
        release(1);
        return true;
    }
    [[nodiscard]] std::optional<T> try_pop() noexcept {
        const RingSpans<T> item = peek(1);
        if (item.empty()) return std::nullopt;
        std::optional<T> out{std::move(item.first[0])};
        release(1);
        return out;
    }

    /// Moves up to n items to *out, *(out+1), ... with one acquire and one release.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t n) noexcept {
        static_assert(std::is_nothrow_assignable_v<std::iter_reference_t<OutIt>, T&&>,
                      "SpscRing::try_pop_n: assigning to *out may throw; pop into a T array");
        const RingSpans<T> items = peek(n);
        items.for_each([&](T& x) {
            *out = std::move(x);
            ++out;
        });
        release(items.size());
        return items.size();
    }

    /// Zero-copy read: up to max_items live items, oldest first, to be processed in place and then
    /// released. Empty when the ring is empty.
    [[nodiscard]] RingSpans<T> peek(
        std::size_t max_items = std::numeric_limits<std::size_t>::max()) noexcept {
        consumer_.owner.check("SpscRing: consumer side used by a second thread");
        const std::uint64_t head = consumer_.head;
        std::size_t ready = static_cast<std::size_t>(consumer_.cached_tail - head);
        if (ready < max_items) {
            // acquire: pairs with the producer's release store of tail_ in publish(); the items
            // below the loaded tail are fully constructed.
            consumer_.cached_tail = tail_.load(std::memory_order_acquire);
            ready = static_cast<std::size_t>(consumer_.cached_tail - head);
        }
        const std::size_t k = std::min(max_items, ready);
        consumer_.debug.remember(k);
        return span_at(consumer_.slots, consumer_.mask, head, k);
    }

    /// Destroys the first k peeked items and hands their slots back to the producer.
    void release(std::size_t k) noexcept {
        consumer_.debug.check_and_forget(k, "SpscRing::release: more items than peeked");
        if (k == 0) return;
        const std::uint64_t head = consumer_.head;
        if constexpr (!std::is_trivially_destructible_v<T>) {
            for (std::uint64_t i = head; i != head + k; ++i) {
                std::destroy_at(&consumer_.slots[i & consumer_.mask]);
            }
        }
        consumer_.head = head + k;
        // release: the slots are free (items destroyed); pairs with the producer's acquire load
        // of head_ in claim().
        head_.store(head + k, std::memory_order_release);
    }

    // ---- either side ---------------------------------------------------------------------

    /// Items in the ring at some moment during the call; exact only when both sides are idle.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // acquire on both: a consistent-enough pair; head is read first so the result never
        // exceeds capacity by more than what was published in between (clamped below).
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire);  // acquire: as above
        const auto n = static_cast<std::size_t>(tail - head);
        return n > capacity() ? capacity() : n;
    }
    [[nodiscard]] bool empty_approx() const noexcept { return size_approx() == 0; }

  private:
    static constexpr std::size_t kSlotAlign = alignof(T) > detail::kCacheLine ? alignof(T)
                                                                              : detail::kCacheLine;

    static RingSpans<T> span_at(T* slots, std::size_t mask, std::uint64_t pos,
                                std::size_t n) noexcept {
        const std::size_t start = static_cast<std::size_t>(pos) & mask;
        const std::size_t first = std::min(n, mask + 1 - start);
        return {{slots + start, first}, {slots, n - first}};
    }

    // Layout: four false-sharing ranges. Each side's private state (its own index, its cached
    // copy of the other's, and its own copy of slots/mask) is touched by that side only; the
    // published indices tail_ and head_ each sit alone, written by their owner and read by the
    // other side only when its cache runs out. A side never reads a line the other side writes,
    // except the one index it must read to make progress.
    struct alignas(detail::kFalseSharingRange) ProducerSide {
        std::uint64_t tail = 0;  // private copy of tail_
        std::uint64_t cached_head = 0;
        T* slots = nullptr;
        std::size_t mask = 0;
        [[no_unique_address]] detail::ThreadOwner owner;
        [[no_unique_address]] detail::RunSize debug;  // slots claimed, checked by publish()
    };
    struct alignas(detail::kFalseSharingRange) ConsumerSide {
        std::uint64_t head = 0;  // private copy of head_
        std::uint64_t cached_tail = 0;
        T* slots = nullptr;
        std::size_t mask = 0;
        [[no_unique_address]] detail::ThreadOwner owner;
        [[no_unique_address]] detail::RunSize debug;  // items peeked, checked by release()
    };
    static_assert(sizeof(ProducerSide) == detail::kFalseSharingRange &&
                      sizeof(ConsumerSide) == detail::kFalseSharingRange,
                  "each side of an SpscRing must fill exactly one false-sharing range");

    ProducerSide producer_;
    ConsumerSide consumer_;
    alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> tail_{0};  // producer publishes
    alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> head_{0};  // consumer publishes
};

}  // namespace rill
