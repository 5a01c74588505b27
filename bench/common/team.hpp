#pragma once
// Team: the threads of one multi-threaded benchmark. Helper k (k >= 1) is pinned to CPU slot k and
// runs its role once per round; the benchmark's own thread is pinned to slot 0 and runs its role
// in round(). A round ends when every role has returned, so a timed round covers the whole
// transfer, drain included. Threads are created once, outside the timed loop.

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "common/affinity.hpp"
#include "rill/detail/cpu_relax.hpp"

namespace rill::bench {

/// How a thread waits for a peer queue in a benchmark: pause while it has a core of its own,
/// yield when threads outnumber cores.
class Spin {
  public:
    explicit Spin(bool oversubscribed) : oversubscribed_(oversubscribed) {}
    void operator()() const noexcept {
        if (oversubscribed_) {
            std::this_thread::yield();
        } else {
            detail::cpu_relax();
        }
    }

  private:
    bool oversubscribed_;
};

class Team {
  public:
    explicit Team(std::vector<std::function<void()>> helper_roles)
        // More threads than cores (MPMC 2P2C on two cores): waiting gives the core away.
        : pin_(0), idle_(helper_roles.size() + 1 > allowed_cpus().size()) {
        for (std::size_t k = 0; k < helper_roles.size(); ++k) {
            threads_.emplace_back([this, k, role = std::move(helper_roles[k])] {
                pin_this_thread(k + 1);
                for (std::uint64_t seen = 0;;) {
                    std::uint64_t g;
                    // acquire: pairs with the release bump in round(): the round's setup is seen.
                    while ((g = generation_.load(std::memory_order_acquire)) == seen)
                        idle();
                    if (g == kStop) return;
                    seen = g;
                    role();
                    // release: the role's effects are visible to the thread waiting in round().
                    finished_.fetch_add(1, std::memory_order_release);
                }
            });
        }
    }

    ~Team() {
        // release: pairs with the helpers' acquire load.
        generation_.store(kStop, std::memory_order_release);
        for (auto& t : threads_)
            t.join();
    }

    /// Starts a round on every helper, runs main_role here, then waits for the helpers.
    template <class F>
    void round(F&& main_role) {
        // relaxed: only this thread writes generation_ and reads finished_ here.
        const std::uint64_t target = finished_.load(std::memory_order_relaxed) + threads_.size();
        // release: publishes the round's setup to the helpers.
        generation_.fetch_add(1, std::memory_order_release);
        main_role();
        // acquire: pairs with the helpers' release increment.
        while (finished_.load(std::memory_order_acquire) != target)
            idle();
    }

  private:
    static constexpr std::uint64_t kStop = ~std::uint64_t{0};

    void idle() const noexcept { idle_(); }

    ScopedPin pin_;
    Spin idle_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::uint64_t> finished_{0};
    std::vector<std::thread> threads_;
};

}  // namespace rill::bench
