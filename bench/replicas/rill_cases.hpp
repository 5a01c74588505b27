#pragma once
// rill's cases of the replicas benchmark: source -> work (replicated) -> sink on a 2-worker
// runtime, with the knobs the benchmark compares (replicas, order, distribution, where the light
// source and sink run, batch and wait policy).

#include <rill/rill.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "replicas/workload.hpp"

namespace rill::bench {

/// Where the light source and sink run. Replica j of the work runs on worker j % 2.
enum class Ends : std::uint8_t {
    split,      ///< source on worker 0, sink on worker 1: each shares a core with one replica
    worker0,    ///< both on worker 0, with one replica; worker 1 runs only the other replica
    automatic,  ///< every stage placed by the runtime (which gives the split layout)
};

struct RillCase {
    std::size_t replicas = 2;
    bool ordered = false;
    Distribution distribution = Distribution::round_robin;
    Ends ends = Ends::split;
    std::size_t batch = 64;            ///< the work stage's batch: the chunk dealt to one replica
    std::size_t source_batch = 256;    ///< items the source emits per step
    std::size_t capacity = 1024;       ///< every ring
    std::optional<WaitPolicy> wait{};  ///< every stage's; default: the runtime's (spin_park)
    bool pinned = true;                ///< false: a runtime whose 2 workers float over the CPUs
};

/// The case's name under "rill/": replicas:N[/ordered|/unordered][/least_loaded], then any knob
/// that differs from the defaults.
[[nodiscard]] std::string describe(const RillCase& c);

/// Runs the flow once on the shared 2-worker runtime and returns what the sink saw.
[[nodiscard]] Outcome run_rill(std::uint64_t n, std::uint32_t rounds, const RillCase& c);

/// The 2-worker runtime the cases use (started on first use; its CPUs for the report), pinned
/// (one worker per CPU) or not.
[[nodiscard]] Runtime& replicas_runtime(bool pinned = true);

}  // namespace rill::bench
