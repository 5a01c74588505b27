#pragma once
#include <cstddef>

namespace rill::detail {

/// Size of one cache line on the targets rill supports (x86-64, AArch64).
inline constexpr std::size_t kCacheLine = 64;

/// Distance that keeps two fields written by different threads from sharing a line. x86's
/// adjacent-line prefetcher moves lines in pairs, so two lines are the unit of false sharing.
inline constexpr std::size_t kFalseSharingRange = 2 * kCacheLine;

}  // namespace rill::detail
