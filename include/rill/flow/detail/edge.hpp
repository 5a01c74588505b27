#pragma once
// Edge: the ring between two tasks, with the end-of-stream flag and the wake-ups of both ends.
// Behind ordered replicas it also carries the chunk frames (see fan_in_task.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "rill/detail/cache_line.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "rill/time/watermark.hpp"
#include "rill/wait/event_count.hpp"

namespace rill::detail {

/// A watermark in a ring's side channel: it comes after the first `position` items the producer
/// put into the ring (counted from the start of the run).
struct Mark {
    std::uint64_t position = 0;
    Watermark watermark;
};
/// Marks a side channel holds; a producer that finds it full keeps only its latest mark (a later
/// watermark supersedes an earlier one), so this bounds memory, not progress.
inline constexpr std::size_t kMarkRingCapacity = 64;

class EdgeBase {
  public:
    EdgeBase() = default;
    EdgeBase(const EdgeBase&) = delete;
    EdgeBase& operator=(const EdgeBase&) = delete;
    virtual ~EdgeBase() = default;

    [[nodiscard]] virtual std::size_t depth() const noexcept = 0;
    [[nodiscard]] virtual std::size_t capacity() const noexcept = 0;
    /// Producer side: whether the ring has a free slot now.
    [[nodiscard]] virtual bool has_room() const noexcept = 0;

    /// Producer: no more items. Everything published before is seen by a consumer that sees
    /// closed() true.
    void close() noexcept {
        // release: pairs with the acquire in closed(); orders every publish before it.
        closed_.store(true, std::memory_order_release);
        wake_consumer();
    }
    [[nodiscard]] bool closed() const noexcept {
        // acquire: pairs with the release in close().
        return closed_.load(std::memory_order_acquire);
    }

    /// Items the producer holds because the ring was full (its emitter's overflow), for metrics.
    void note_overflow(std::size_t n) noexcept {
        // relaxed: a statistic read by snapshots; single writer (the producer).
        overflow_.store(n, std::memory_order_relaxed);
    }
    [[nodiscard]] std::size_t overflow() const noexcept {
        return overflow_.load(std::memory_order_relaxed);  // relaxed: see note_overflow
    }

    // Null when both ends run on one worker: that worker steps both tasks in every pass and
    // waits only after a pass in which no task made progress, so nobody needs waking. That
    // needs every step that publishes into a ring (items, a frame, the close) or frees room in
    // one to report progress, whatever the order of the two tasks on the worker: then the pass
    // that published is followed by another, in which the other end sees it. (The worker's
    // wait also makes one more pass after announcing itself, which would catch a missed one.)
    EventCount* consumer_wake = nullptr;
    EventCount* producer_wake = nullptr;

    /// Ordered replicas only: after each chunk of its input, a replica pushes how many items it
    /// emitted for that chunk, so the fan-in knows where the chunk ends in the item ring.
    std::unique_ptr<SpscRing<std::uint64_t>> frames;

    /// Flows with an event_time stage: the watermarks, in order with the items (see Mark). The
    /// consumer delivers a mark once it has taken `position` items. Null otherwise: a flow
    /// without event time pays nothing for them.
    std::unique_ptr<SpscRing<Mark>> marks;

    /// After a publish or close: wakes the consumer's worker if it may be parked.
    void wake_consumer() noexcept { wake(consumer_wake); }
    /// After a release: wakes the producer's worker if it may be parked (on a full ring).
    void wake_producer() noexcept { wake(producer_wake); }

  private:
    static void wake(EventCount* events) noexcept {
        // has_waiters() is the notifier's half of EventCount's protocol: its fence orders the
        // publish or release just made before the read of the waiter count.
        if (events != nullptr && events->has_waiters()) events->notify_one();
    }

    alignas(kFalseSharingRange) std::atomic<bool> closed_{false};
    std::atomic<std::size_t> overflow_{0};
};

template <class T>
class Edge final : public EdgeBase {
  public:
    explicit Edge(std::size_t capacity) : ring(capacity) {}
    /// Items waiting for the consumer in the ring (what the producer holds for lack of room is
    /// overflow()).
    [[nodiscard]] std::size_t depth() const noexcept override { return ring.size_approx(); }
    [[nodiscard]] std::size_t capacity() const noexcept override { return ring.capacity(); }
    [[nodiscard]] bool has_room() const noexcept override {
        return ring.size_approx() < ring.capacity();
    }

    SpscRing<T> ring;
};

}  // namespace rill::detail
