#pragma once
#include <cstddef>

namespace rill::detail {

/// Largest capacity a ring accepts: 2^32 slots. Far beyond any useful buffer, and it keeps the
/// 64-bit position counters more than 2^31 laps away from ambiguity.
inline constexpr std::size_t kMaxRingCapacity = std::size_t{1} << 32;

/// Throws std::invalid_argument naming `ring` and `capacity` unless capacity is a power of two in
/// [min_capacity, kMaxRingCapacity] and capacity * slot_bytes fits in memory.
void validate_ring_capacity(const char* ring, std::size_t capacity, std::size_t min_capacity,
                            std::size_t slot_bytes);

}  // namespace rill::detail
