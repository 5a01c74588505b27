#pragma once
// LatencyHistogram: records nanosecond latencies into log-linear buckets allocated up front, so a
// sink can record every item without allocating. Values below 64 ns are exact; above, each
// power of two is split into 32 buckets (a percentile is within about 3% of the true value).
// One writer at a time; read it after the run (Run::wait() orders the writer's stores before).
//
//   auto hist = std::make_shared<rill::perf::LatencyHistogram>();
//   stream.sink("sink", [hist](Stamped s) { hist->record(now_ns() - s.sent_ns); });
//   ... run.wait();  hist->percentiles() -> rill::perf::Latency {p50, p99, p99.9}

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rill/perf/sweep.hpp"

namespace rill::perf {

class LatencyHistogram {
  public:
    static constexpr unsigned kSubBits = 5;   ///< 32 buckets per power of two above 64 ns
    static constexpr unsigned kMaxBits = 42;  ///< values up to 2^42 ns (73 minutes) are kept apart
    static constexpr std::size_t kBuckets =
        (std::size_t{2} << kSubBits) + (kMaxBits - kSubBits - 1) * (std::size_t{1} << kSubBits);

    LatencyHistogram() : counts_(kBuckets, 0) {}

    void record(std::uint64_t ns) noexcept {
        ++counts_[bucket(ns)];
        ++count_;
        if (ns > max_) max_ = ns;
    }

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    void clear() noexcept;

    /// The value at quantile q (0 < q <= 1): the midpoint of the bucket holding the
    /// ceil(q * count)-th smallest value, capped at the largest value recorded. 0 when empty.
    [[nodiscard]] double quantile(double q) const noexcept;
    /// p50, p99 and p99.9.
    [[nodiscard]] Latency percentiles() const noexcept {
        return {quantile(0.50), quantile(0.99), quantile(0.999)};
    }

    /// The bucket of a value, and the lowest and highest value a bucket holds (for tests).
    [[nodiscard]] static std::size_t bucket(std::uint64_t ns) noexcept {
        constexpr std::uint64_t kLinear = std::uint64_t{2} << kSubBits;  // 64: exact below
        if (ns < kLinear) return static_cast<std::size_t>(ns);
        const auto width = static_cast<unsigned>(std::bit_width(ns));  // >= kSubBits + 2
        if (width > kMaxBits) return kBuckets - 1;
        const unsigned shift = width - kSubBits - 1;  // >= 1
        const std::uint64_t top = ns >> shift;        // 32..63
        return static_cast<std::size_t>(kLinear + (shift - 1) * (std::uint64_t{1} << kSubBits) +
                                        (top - (std::uint64_t{1} << kSubBits)));
    }
    [[nodiscard]] static std::uint64_t bucket_low(std::size_t b) noexcept;
    [[nodiscard]] static std::uint64_t bucket_high(std::size_t b) noexcept;

  private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace rill::perf
