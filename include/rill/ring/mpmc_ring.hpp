#pragma once
// MpmcRing<T>: bounded multi-producer multi-consumer ring with per-slot sequence numbers
// (D. Vyukov's design), extended to claim a run of slots with a single CAS.
//
// Correctness argument. Position p (a 64-bit counter, wrapping harmlessly) maps to slot p & mask.
// A slot's `seq` says whose turn it is for the position it will hold next:
//    seq == p      the slot is free for the producer of position p;
//    seq == p + 1  the item of position p is published, for the consumer of position p;
//    seq == p + C  the consumer of p is done; the slot is free for position p + C (next lap).
// Producers take positions from tail_, consumers from head_, by CAS. A producer first checks that
// the slots of positions [pos, pos + k) all have seq == position (acquire: pairs with the release
// store by which the previous lap's consumer freed the slot, so that consumer's reads and the
// destruction are done), then claims the run with one CAS tail_: pos -> pos + k. Only the owner of
// a position changes its slot's seq, so slots seen free stay free until the claimant publishes;
// if another producer claimed any of them first, tail_ has moved and the CAS fails. The CAS itself
// is relaxed: it only hands out positions, the data is published by the per-slot release stores
// (seq = p + 1) that consumers acquire. Consumers mirror this with head_ and seq == p + 1.
// Each producer's items take increasing positions and each consumer claims increasing
// positions, so items from one producer reach any one consumer in the order they were pushed.
// As in Vyukov's ring, "full" and "empty" are per slot: try_push fails while the consumer of the
// slot's previous lap is still moving its item out, even if other slots are free; try_pop fails
// while the producer of the next position is still writing, even if later positions are ready.
// Both conditions last as long as one item's move; callers that know there is room retry.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "rill/detail/cache_line.hpp"
#include "rill/detail/memory.hpp"
#include "rill/ring/detail/ring_capacity.hpp"
#include "rill/ring/spsc_ring.hpp"  // RingIndexSeed

namespace rill {

template <class T>
class MpmcRing {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "rill::MpmcRing<T>: T must be nothrow move-constructible and destructible");

  public:
    using value_type = T;

    /// Throws std::invalid_argument unless capacity is a power of two in [2, 2^32].
    explicit MpmcRing(std::size_t capacity) : MpmcRing(capacity, RingIndexSeed{}) {}

    MpmcRing(std::size_t capacity, RingIndexSeed seed) : mask_(capacity - 1) {
        // Capacity 1 would make "published at p" (p + 1) equal "free for the next lap" (p + C).
        detail::validate_ring_capacity("MpmcRing", capacity, 2, sizeof(Slot));
        slots_ = static_cast<Slot*>(detail::allocate_aligned(capacity * sizeof(Slot), kAlign));
        for (std::uint64_t p = seed.value; p != seed.value + capacity; ++p) {
            // relaxed: the ring is not shared yet.
            std::construct_at(&slot(p))->seq.store(p, std::memory_order_relaxed);
        }
        // relaxed: as above.
        head_.store(seed.value, std::memory_order_relaxed);
        tail_.store(seed.value, std::memory_order_relaxed);
    }

    MpmcRing(const MpmcRing&) = delete;
    MpmcRing& operator=(const MpmcRing&) = delete;

    /// Destroys the items still in the ring. No producer or consumer may be running.
    ~MpmcRing() {
        // relaxed: the caller guarantees every side has stopped and synchronized with us.
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        for (std::uint64_t p = head_.load(std::memory_order_relaxed); p != tail; ++p) {
            std::destroy_at(slot(p).item());
        }
        std::destroy_n(slots_, capacity());
        detail::free_aligned(slots_, capacity() * sizeof(Slot), kAlign);
    }

    [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

    /// Constructs one item from args; false when the ring is full (args are then untouched).
    template <class... Args>
    [[nodiscard]] bool try_emplace(Args&&... args) noexcept {
        // A claimed position must be published, so construction cannot be allowed to throw; and
        // building a temporary first would consume rvalue args even when the ring is full.
        static_assert(std::is_nothrow_constructible_v<T, Args...>,
                      "MpmcRing::try_emplace: constructing T from these arguments may throw; "
                      "build the item first and try_push(std::move(item))");
        std::uint64_t pos = 0;
        if (claim(tail_, 0, 1, pos) == 0) return false;
        publish(pos, std::forward<Args>(args)...);
        return true;
    }
    [[nodiscard]] bool try_push(T&& item) noexcept { return try_emplace(std::move(item)); }
    [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
        if constexpr (std::is_nothrow_copy_constructible_v<T>) {
            return try_emplace(item);
        } else {
            T copy(item);  // may throw, before anything is claimed; `item` stays as it was
            return try_emplace(std::move(copy));
        }
    }

    /// Constructs up to n items from *first, *(first+1), ... (pass a move_iterator to move) with
    /// one CAS. Returns how many were pushed.
    template <std::input_iterator It>
    [[nodiscard]] std::size_t try_push_n(It first, std::size_t n) noexcept {
        static_assert(std::is_nothrow_constructible_v<T, std::iter_reference_t<It>>,
                      "MpmcRing::try_push_n: building T from the iterator may throw; pass a "
                      "std::move_iterator or push items one by one");
        std::uint64_t pos = 0;
        const std::size_t k = claim(tail_, 0, n, pos);
        for (std::size_t i = 0; i < k; ++i, ++first)
            publish(pos + i, *first);
        return k;
    }

    /// Moves the oldest available item into out; false when the ring is empty.
    [[nodiscard]] bool try_pop(T& out) noexcept {
        static_assert(std::is_nothrow_move_assignable_v<T>,
                      "MpmcRing::try_pop(T&) needs nothrow move assignment; use try_pop()");
        return try_pop_n(&out, 1) == 1;
    }
    [[nodiscard]] std::optional<T> try_pop() noexcept {
        std::uint64_t pos = 0;
        if (claim(head_, 1, 1, pos) == 0) return std::nullopt;
        std::optional<T> out{std::move(*slot(pos).item())};
        consume(pos);
        return out;
    }

    /// Moves up to n items to *out, *(out+1), ... with one CAS. Returns how many were popped.
    template <class OutIt>
    [[nodiscard]] std::size_t try_pop_n(OutIt out, std::size_t n) noexcept {
        static_assert(std::is_nothrow_assignable_v<std::iter_reference_t<OutIt>, T&&>,
                      "MpmcRing::try_pop_n: assigning to *out may throw; pop into a T array");
        std::uint64_t pos = 0;
        const std::size_t k = claim(head_, 1, n, pos);
        for (std::size_t i = 0; i < k; ++i, ++out) {
            *out = std::move(*slot(pos + i).item());
            consume(pos + i);
        }
        return k;
    }

    /// Items in the ring at some moment during the call; exact only when every side is idle.
    [[nodiscard]] std::size_t size_approx() const noexcept {
        // relaxed: an estimate; head is read first so the difference is never negative except by
        // a race with consumers, which the clamp absorbs.
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        const auto n = static_cast<std::int64_t>(tail - head);
        return n <= 0 ? 0 : std::min(static_cast<std::size_t>(n), capacity());
    }
    [[nodiscard]] bool empty_approx() const noexcept { return size_approx() == 0; }

  private:
    struct Slot {
        std::atomic<std::uint64_t> seq;
        alignas(T) unsigned char storage[sizeof(T)];
        /// The live item (only between publish and consume).
        T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };
    static constexpr std::size_t kAlign = alignof(Slot) > detail::kCacheLine ? alignof(Slot)
                                                                             : detail::kCacheLine;

    Slot& slot(std::uint64_t pos) const noexcept { return slots_[pos & mask_]; }

    /// Claims up to n consecutive positions from `counter` whose slots have seq == position + lag
    /// (lag 0: free for a producer; lag 1: published for a consumer). Returns how many, the first
    /// in `pos`. 0 when the first slot is not ready (ring full for producers, empty for consumers).
    std::size_t claim(std::atomic<std::uint64_t>& counter, std::uint64_t lag, std::size_t n,
                      std::uint64_t& pos) noexcept {
        if (n == 0) return 0;  // the scan below would find no slot and retry for ever
        // relaxed: the counter only hands out positions; slot data is ordered by `seq`.
        pos = counter.load(std::memory_order_relaxed);
        for (;;) {
            std::size_t k = 0;
            std::int64_t behind = 0;
            for (; k < n; ++k) {
                // acquire: pairs with the release store of seq in publish() (consumers) or
                // consume() (producers): the slot's previous owner is done with it.
                const std::uint64_t seq = slot(pos + k).seq.load(std::memory_order_acquire);
                behind = static_cast<std::int64_t>(seq - (pos + k + lag));
                if (behind != 0) break;
            }
            if (k == 0) {
                // behind < 0: the slot still waits for the previous lap (full / empty).
                // behind > 0: another thread took `pos`; re-read the counter and retry.
                if (behind < 0) return 0;
                // relaxed: as above.
                pos = counter.load(std::memory_order_relaxed);
                continue;
            }
            // relaxed on both outcomes: as above. Failure reloads pos.
            if (counter.compare_exchange_weak(pos, pos + k, std::memory_order_relaxed,
                                              std::memory_order_relaxed)) {
                return k;
            }
        }
    }

    template <class... Args>
    void publish(std::uint64_t pos, Args&&... args) noexcept {
        Slot& s = slot(pos);
        // No T lives in the slot yet, so no launder: construct into the raw storage.
        std::construct_at(reinterpret_cast<T*>(s.storage), std::forward<Args>(args)...);
        // release: publishes the item; pairs with a consumer's acquire load in claim().
        s.seq.store(pos + 1, std::memory_order_release);
    }

    void consume(std::uint64_t pos) noexcept {
        Slot& s = slot(pos);
        std::destroy_at(s.item());
        // release: the slot is free for position pos + C; pairs with a producer's acquire load
        // in claim().
        s.seq.store(pos + capacity(), std::memory_order_release);
    }

    alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> head_{0};
    alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> tail_{0};
    alignas(detail::kFalseSharingRange) Slot* slots_ = nullptr;
    std::size_t mask_;
};

}  // namespace rill
