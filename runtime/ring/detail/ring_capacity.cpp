#include "rill/ring/detail/ring_capacity.hpp"

#include <bit>
#include <limits>
#include <stdexcept>
#include <string>

namespace rill::detail {

void validate_ring_capacity(const char* ring, std::size_t capacity, std::size_t min_capacity,
                            std::size_t slot_bytes) {
    const std::string what = std::string(ring) + " capacity " + std::to_string(capacity);
    if (capacity < min_capacity) {
        throw std::invalid_argument(
            what + " is too small: expected a power of two >= " + std::to_string(min_capacity));
    }
    if (capacity > kMaxRingCapacity ||
        capacity > std::numeric_limits<std::size_t>::max() / slot_bytes) {
        throw std::invalid_argument(what + " is too large: expected at most " +
                                    std::to_string(kMaxRingCapacity) + " slots");
    }
    if (!std::has_single_bit(capacity)) {
        throw std::invalid_argument(what + " is not a power of two (try " +
                                    std::to_string(std::bit_ceil(capacity)) + ")");
    }
}

}  // namespace rill::detail
