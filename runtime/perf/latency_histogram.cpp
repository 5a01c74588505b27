#include <algorithm>
#include <cmath>

#include "rill/perf/latency_histogram.hpp"

namespace rill::perf {

void LatencyHistogram::clear() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    max_ = 0;
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t b) noexcept {
    constexpr std::size_t kLinear = std::size_t{2} << kSubBits;
    constexpr std::size_t kSub = std::size_t{1} << kSubBits;
    if (b < kLinear) return b;
    const std::size_t shift = (b - kLinear) / kSub + 1;
    const std::uint64_t top = kSub + (b - kLinear) % kSub;
    return top << shift;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t b) noexcept {
    constexpr std::size_t kLinear = std::size_t{2} << kSubBits;
    if (b < kLinear) return b;
    if (b + 1 == kBuckets) return UINT64_MAX;  // the last bucket also takes everything above
    return bucket_low(b + 1) - 1;
}

double LatencyHistogram::quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen < rank) continue;
        const std::uint64_t low = bucket_low(b);
        const std::uint64_t high = std::min(bucket_high(b), max_);
        return (static_cast<double>(low) + static_cast<double>(high)) / 2;
    }
    return static_cast<double>(max_);
}

}  // namespace rill::perf
