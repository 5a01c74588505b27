#pragma once
// What the ring tests need to know about each ring type.

#include <cstddef>
#include <vector>

#include "rill/ring/mpmc_ring.hpp"
#include "rill/ring/spsc_ring.hpp"

namespace rill::test {

template <class Ring>
struct RingTraits;

template <class T>
struct RingTraits<SpscRing<T>> {
    static constexpr const char* name = "SpscRing";
    static constexpr std::size_t min_capacity = 1;
    static inline const std::vector<int> producer_counts{1};
    static inline const std::vector<int> consumer_counts{1};
};

template <class T>
struct RingTraits<MpmcRing<T>> {
    static constexpr const char* name = "MpmcRing";
    static constexpr std::size_t min_capacity = 2;
    static inline const std::vector<int> producer_counts{1, 2, 4};
    static inline const std::vector<int> consumer_counts{1, 2, 4};
};

}  // namespace rill::test
