#pragma once
// The replicas benchmark's peers, on the workload of workload.hpp:
//   run_serial  one loop on the calling thread: source, work and sink as plain code, the baseline
//               the replicas must beat
//   run_halves  the machine's ceiling for two threads: each of two threads, pinned to the two
//               CPUs, runs the plain loop over half of the indices; no hand-off, no order
//   run_tbb     tbb::parallel_pipeline as TBB users write it: a serial_in_order source filter, the
//               work as a parallel filter, and a serial sink, in_order (keeps input order, as
//               rill's ordered replicas do) or out_of_order; `tokens` items in flight; in a
//               2-thread arena (the calling thread and one TBB worker, one per core), not pinned,
//               like the TBB peer of bench_pipeline.

#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <thread>

#include "common/affinity.hpp"
#include "replicas/workload.hpp"

namespace rill::bench {

inline Outcome run_serial(std::uint64_t n, std::uint32_t rounds) {
    Checker sink(true);
    for (std::uint64_t i = 0; i < n; ++i)
        sink(work(i, rounds));
    return sink.outcome();
}

inline Outcome run_halves(std::uint64_t n, std::uint32_t rounds) {
    Outcome half[2];
    {
        std::jthread threads[2];
        for (std::size_t k = 0; k < 2; ++k) {
            threads[k] = std::jthread([&half, k, n, rounds] {
                pin_this_thread(k);
                Checker sink(false);
                for (std::uint64_t i = k * n / 2; i < (k + 1) * n / 2; ++i)
                    sink(work(i, rounds));
                half[k] = sink.outcome();
            });
        }
    }
    return {half[0].sum + half[1].sum, half[0].count + half[1].count, true};
}

inline Outcome run_tbb(std::uint64_t n, std::uint32_t rounds, std::size_t tokens, bool in_order) {
    static tbb::task_arena arena(2);
    Checker sink(in_order);
    std::uint64_t next = 0;
    arena.execute([&] {
        tbb::parallel_pipeline(
            tokens,
            tbb::make_filter<void, std::uint64_t>(tbb::filter_mode::serial_in_order,
                                                  [&](tbb::flow_control& fc) -> std::uint64_t {
                                                      if (next == n) {
                                                          fc.stop();
                                                          return 0;
                                                      }
                                                      return next++;
                                                  }) &
                tbb::make_filter<std::uint64_t, Result>(
                    tbb::filter_mode::parallel,
                    [rounds](std::uint64_t i) { return work(i, rounds); }) &
                tbb::make_filter<Result, void>(in_order ? tbb::filter_mode::serial_in_order
                                                        : tbb::filter_mode::serial_out_of_order,
                                               [&sink](Result r) { sink(r); }));
    });
    return sink.outcome();
}

}  // namespace rill::bench
