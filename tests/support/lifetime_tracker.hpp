#pragma once
// Tracked: a payload that counts its constructions, moves and destructions and detects a
// destruction of an object that is not alive (double destroy, or destroy of raw memory).

#include <atomic>
#include <cstdint>
#include <utility>

namespace rill::test {

struct LifetimeCounters {
    std::atomic<long> constructed{0}, move_constructed{0}, move_assigned{0}, destroyed{0},
        bad_destroy{0};
    long live() const { return constructed.load() - destroyed.load(); }
    void reset() { constructed = move_constructed = move_assigned = destroyed = bad_destroy = 0; }
};

struct Tracked {
    static constexpr std::uint64_t kAlive = 0xA11CEA11CEA11CEull;
    static constexpr std::uint64_t kDead = 0xDEADDEADDEADDEADull;

    static inline LifetimeCounters counters;

    std::uint64_t value = 0;
    std::uint64_t canary = kAlive;

    Tracked() noexcept { ++counters.constructed; }
    explicit Tracked(std::uint64_t v) noexcept : value(v) { ++counters.constructed; }
    Tracked(const Tracked& o) noexcept : value(o.value) { ++counters.constructed; }
    Tracked(Tracked&& o) noexcept : value(std::exchange(o.value, 0)) {
        ++counters.constructed;
        ++counters.move_constructed;
    }
    Tracked& operator=(const Tracked& o) noexcept {
        value = o.value;
        return *this;
    }
    Tracked& operator=(Tracked&& o) noexcept {
        value = std::exchange(o.value, 0);
        ++counters.move_assigned;
        return *this;
    }
    ~Tracked() {
        if (canary != kAlive) ++counters.bad_destroy;
        canary = kDead;
        ++counters.destroyed;
    }
    // Lets stress code treat Tracked and integers alike.
    explicit operator std::uint64_t() const noexcept { return value; }
};

}  // namespace rill::test
