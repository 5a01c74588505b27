#pragma once
// The replicas benchmark's workload: a light source of indices 0..n-1, a CPU-bound stage of about
// 1 us per item, and a light sink that adds up the results (and, for ordered cases, checks that
// they arrive in index order). The CPU-bound stage is a dependent multiply-xorshift chain whose
// length is calibrated once at start so that one item takes about 1 us on this machine.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

namespace rill::bench {

/// Items per iteration: the 2*10^5 (about 0.2 s of serial work), 2*10^4 with --quick.
constexpr std::uint64_t kItems = 200'000;
constexpr std::uint64_t kQuickItems = 20'000;

/// What the CPU-bound stage hands to the sink: the index it worked on and the result.
struct Result {
    std::uint64_t seq;
    std::uint64_t value;
};

/// The CPU-bound stage: `rounds` steps of a dependent chain (each step needs the previous one, so
/// neither the compiler nor the CPU can overlap them, and no closed form exists). Out of line, so
/// that every case, serial or parallel, runs the very same machine code per item.
[[gnu::noinline]] inline std::uint64_t spin_hash(std::uint64_t x, std::uint32_t rounds) noexcept {
    std::uint64_t h = x ^ 0x9e3779b97f4a7c15;
    for (std::uint32_t i = 0; i < rounds; ++i) {
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93;
    }
    return h ^ (h >> 29);
}

inline Result work(std::uint64_t i, std::uint32_t rounds) noexcept {
    return {i, spin_hash(i, rounds)};
}

/// What every case must return: the sum of the results (mod 2^64), and for ordered cases whether
/// the sink saw the indices 0, 1, 2, ... in order.
struct Outcome {
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    bool in_order = true;
};

/// The sink every case uses, serial loop included.
class Checker {
  public:
    explicit Checker(bool check_order) noexcept : check_order_(check_order) {}
    void operator()(const Result& r) noexcept {
        out_.sum += r.value;
        if (check_order_ && r.seq != out_.count) out_.in_order = false;
        ++out_.count;
    }
    [[nodiscard]] const Outcome& outcome() const noexcept { return out_; }

  private:
    bool check_order_;
    Outcome out_;
};

/// Nanoseconds per call of f(), the fastest of `tries` timings of `calls` calls.
template <class F>
double fastest_ns_per_call(int tries, std::uint64_t calls, F&& f) {
    double best = 1e300;
    for (int t = 0; t < tries; ++t) {
        const auto start = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < calls; ++i)
            f(i);
        const std::chrono::duration<double, std::nano> took =
            std::chrono::steady_clock::now() - start;
        best = std::min(best, took.count() / static_cast<double>(calls));
    }
    return best;
}

struct Calibration {
    std::uint32_t rounds = 0;
    double ns_per_item = 0;  // measured with `rounds`
};

/// Chooses the chain length that takes `target_ns` per item on this machine, or measures the
/// given `rounds`. Each timing is the fastest of a few, so that a busy neighbour does not make the
/// work shorter than asked; the length is refined three times against the measured time per item.
inline Calibration calibrate(double target_ns, std::uint32_t rounds = 0) {
    std::uint64_t sink = 0;
    const auto per_item = [&](std::uint32_t r) {
        const auto calls = static_cast<std::uint64_t>(std::max(100.0, 4e6 / r));
        return fastest_ns_per_call(7, calls, [&](std::uint64_t i) { sink += spin_hash(i, r); });
    };
    const bool fixed = rounds != 0;
    if (!fixed) rounds = 4096;
    double ns = per_item(rounds);
    for (int pass = 0; !fixed && pass < 3; ++pass) {
        rounds = static_cast<std::uint32_t>(std::max(1.0, std::round(rounds * target_ns / ns)));
        ns = per_item(rounds);
    }
    benchmark::DoNotOptimize(sink);
    return {rounds, ns};
}

/// The sum every case must produce for n items, computed once by a plain loop.
inline std::uint64_t expected_sum(std::uint64_t n, std::uint32_t rounds) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i)
        sum += spin_hash(i, rounds);
    return sum;
}

/// What is wrong with an iteration's outcome against the expected sum, count and order ("" when
/// nothing is). A case that gets one ends the binary with mismatch() (common/bench_main.hpp): a
/// benchmark that computes the wrong thing must not report a speed.
inline std::string check(const Outcome& got, std::uint64_t n, std::uint64_t expected,
                         bool ordered) {
    if (got.count != n) {
        return "expected " + std::to_string(n) + " items, got " + std::to_string(got.count);
    }
    if (got.sum != expected) {
        return "checksum expected " + std::to_string(expected) + ", got " + std::to_string(got.sum);
    }
    if (ordered && !got.in_order) return "items reached the sink out of order";
    return "";
}

}  // namespace rill::bench
