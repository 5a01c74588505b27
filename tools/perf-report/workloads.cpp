#include "workloads.hpp"

#include <time.h>

#include <chrono>

#include "peers.hpp"

namespace rill::perf_report {

const std::vector<Workload>& workloads() {
    static const std::vector<Workload> all{chain_workload(), cpu_workload(), pooled_workload(),
                                           latency_workload()};
    return all;
}

const Workload* find_workload(const std::string& name) {
    for (const Workload& w : workloads()) {
        if (w.name == name) return &w;
    }
    return nullptr;
}

tbb::task_arena& peer_arena() {
    static tbb::task_arena arena(2);
    return arena;
}

perf::Sample time_run(std::uint64_t items, const std::function<bool()>& body) {
    const auto cpu_now = [] {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    };
    const double cpu0 = cpu_now();
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = body();
    const auto t1 = std::chrono::steady_clock::now();
    perf::Sample s;
    s.seconds = std::chrono::duration<double>(t1 - t0).count();
    s.cpu_seconds = cpu_now() - cpu0;
    s.items = items;
    s.checksum_ok = ok;
    return s;
}

}  // namespace rill::perf_report
