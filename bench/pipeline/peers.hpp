#pragma once
// The peers of the pipeline benchmark, all running the seed's workload: source iota 1..n
// (uint64_t) -> x*2 -> x+1 -> sum. Each returns the sum; the caller checks it against
// expected_sum(n).
//   run_fused             one loop, no stages: the upper bound
//   run_tbb_pipeline      tbb::parallel_pipeline, one item per filter call, in a 2-thread arena
//   run_boost_spsc_chain  thread per stage, linked by boost::lockfree::spsc_queue
//   run_channel_chain     thread per stage, linked by a mutex + condition variable channel: the
//                         seed's Go design in C++
// The TBB pipeline and the channel chain are the generic ones of peer_chains.hpp, which
// rill-perf-report runs on its own workloads.
// The thread-per-stage peers are not pinned: they run 4 threads on 2 CPUs, and pinning two
// threads to each CPU would stop the scheduler from moving a runnable stage to an idle CPU, a
// handicap no user of these designs has.

#include <benchmark/benchmark.h>
#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <utility>

#include "peers/peer_chains.hpp"
#include "rill/detail/cpu_relax.hpp"

namespace rill::bench {

/// The sum over x = 1..n of 2x+1, which is n(n+2); modulo 2^64 like the pipelines' own sums.
constexpr std::uint64_t expected_sum(std::uint64_t n) {
    return n * (n + 2);
}
static_assert(expected_sum(0) == 0 && expected_sum(1) == 3 && expected_sum(3) == 3 + 5 + 7);

/// The whole workload as one loop.
inline std::uint64_t run_fused(std::uint64_t n) {
    // A known n would let the compiler fold the loop to a constant; and even for an unknown n,
    // clang's scalar evolution turns the sum of 2x+1 into n(n+2). Xor with a zero it cannot see
    // keeps the per-item work (as values arriving from a source would) and still vectorizes.
    benchmark::DoNotOptimize(n);
    std::uint64_t zero = 0;
    benchmark::DoNotOptimize(zero);
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t x = (i + 1) ^ zero;
        sum += x * 2 + 1;
    }
    return sum;
}

/// The seed's source: 1, 2, ..., n.
inline auto iota_source(std::uint64_t n) {
    return [produced = std::uint64_t{0}, n]() mutable -> std::optional<std::uint64_t> {
        if (produced == n) return std::nullopt;
        return ++produced;
    };
}

/// The pipeline as TBB users write it (see tbb_pipeline), in one 2-thread arena for every call:
/// the calling thread plus one worker, one per core of the machine.
inline std::uint64_t run_tbb_pipeline(std::uint64_t n, std::size_t tokens) {
    static tbb::task_arena arena(2);
    std::uint64_t sum = 0;
    tbb_pipeline(
        arena, tokens, iota_source(n), [&sum](std::uint64_t x) { sum += x; },
        [](std::uint64_t x) { return x * 2; }, [](std::uint64_t x) { return x + 1; });
    return sum;
}

/// How a chain stage waits on an empty or full queue: a few pauses in case the other side is about
/// to act, then yield, because 4 threads share 2 cores and a spinning thread can hold back the
/// very stage it waits for.
class Backoff {
  public:
    void operator()() noexcept {
        if (spins_ < kSpins) {
            ++spins_;
            detail::cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }

  private:
    static constexpr int kSpins = 16;
    int spins_ = 0;
};

/// One link of the boost chain. The end of the stream is a flag, not a sentinel value, so that
/// every uint64_t can be an item.
class BoostLink {
  public:
    explicit BoostLink(std::size_t capacity) : q_(capacity) {}

    void send(std::uint64_t v) {
        Backoff wait;
        while (!q_.push(v))
            wait();
    }

    void close() noexcept {
        // release: every push happens-before a receiver's acquire load that sees the flag.
        closed_.store(true, std::memory_order_release);
    }

    /// Takes the next item; false once the link is closed and drained.
    bool receive(std::uint64_t& v) {
        Backoff wait;
        while (!q_.pop(v)) {
            // acquire: pairs with close(). Once the flag is seen every item is in the queue, so
            // a queue still empty after it stays empty.
            if (closed_.load(std::memory_order_acquire)) return q_.pop(v);
            wait();
        }
        return true;
    }

  private:
    boost::lockfree::spsc_queue<std::uint64_t> q_;
    alignas(64) std::atomic<bool> closed_{false};
};

/// Runs source and the two maps on their own threads and the sum on the calling thread, linked by
/// SPSC queues of the given capacity, one item per push and pop. Not pinned (see the top).
inline std::uint64_t run_boost_spsc_chain(std::uint64_t n, std::size_t capacity) {
    BoostLink doubled_in(capacity), incremented_in(capacity), summed_in(capacity);
    std::jthread source([&] {
        for (std::uint64_t i = 0; i < n; ++i)
            doubled_in.send(i + 1);
        doubled_in.close();
    });
    std::jthread doubler([&] {
        for (std::uint64_t x; doubled_in.receive(x);)
            incremented_in.send(x * 2);
        incremented_in.close();
    });
    std::jthread incrementer([&] {
        for (std::uint64_t x; incremented_in.receive(x);)
            summed_in.send(x + 1);
        summed_in.close();
    });
    std::uint64_t sum = 0;
    for (std::uint64_t x; summed_in.receive(x);)
        sum += x;
    return sum;
}

/// The seed's design: a thread per stage (the sum on the calling thread) and a channel between
/// each pair. Not pinned (see the top).
inline std::uint64_t run_channel_chain(std::uint64_t n, std::size_t capacity) {
    std::uint64_t sum = 0;
    channel_chain(
        capacity, iota_source(n), [&sum](std::uint64_t x) { sum += x; },
        [](std::uint64_t x) { return x * 2; }, [](std::uint64_t x) { return x + 1; });
    return sum;
}

}  // namespace rill::bench
