#pragma once
// Pinning for benchmarks: logical thread k runs on the k-th CPU (mod count) of the process's
// affinity mask, so benchmarks respect taskset/cgroups limits.

#include <pthread.h>
#include <sched.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace rill::bench {

inline std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) throw std::runtime_error("sched_getaffinity");
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
    return cpus;
}

/// Pins the calling thread to allowed_cpus()[k % count].
inline void pin_this_thread(std::size_t k) {
    static const std::vector<int> cpus = allowed_cpus();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[k % cpus.size()], &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        throw std::runtime_error("pthread_setaffinity_np to CPU " +
                                 std::to_string(cpus[k % cpus.size()]) + " failed");
    }
}

/// Pins the calling thread for its lifetime and restores its previous mask on destruction.
class ScopedPin {
  public:
    explicit ScopedPin(std::size_t k) {
        pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_);
        pin_this_thread(k);
    }
    ~ScopedPin() { pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_); }
    ScopedPin(const ScopedPin&) = delete;
    ScopedPin& operator=(const ScopedPin&) = delete;

  private:
    cpu_set_t saved_{};
};

}  // namespace rill::bench
