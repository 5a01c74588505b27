#pragma once
// rill-perf-report's command line: parsed and checked before anything runs, so that a mistake
// costs one line on stderr and exit code 2, not a sweep.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "rill/wait/wait_policy.hpp"

namespace rill::perf_report {

/// A bad argument. The message names it: "--capacity 100: not a power of two from 2 to 65536".
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Largest --capacity: the pooled workload holds two rings' worth of 1 KiB payloads.
inline constexpr std::size_t kMaxCapacity = std::size_t{1} << 16;
inline constexpr std::uint64_t kMaxItems = 10'000'000'000;
inline constexpr unsigned kMaxRepeat = 1000;
inline constexpr std::uint64_t kMaxRate = 100'000'000;

struct Options {
    std::vector<std::string> workloads;  ///< names, in the order given; default: all
    // Unset: the workload's own default grid (or its quick grid with --quick).
    std::optional<std::vector<std::size_t>> capacities;
    std::optional<std::vector<std::size_t>> batches;
    std::optional<std::vector<WaitPolicy>> waits;
    std::optional<std::vector<bool>> chained;
    std::optional<std::vector<unsigned>> workers;
    std::optional<std::uint64_t> items;
    std::optional<unsigned> repeat;
    std::optional<std::uint64_t> rate;
    std::filesystem::path out = "perf-report";
    bool json = false;   ///< JSON on stdout instead of the Markdown report
    bool peers = false;  ///< also run oneTBB and the channel chain on each workload
    bool quick = false;
    bool help = false;
};

/// Throws UsageError. `cpus`: CPUs the process may run on (the limit of --workers).
[[nodiscard]] Options parse_args(const std::vector<std::string>& args, unsigned cpus);

/// Creates --out (and its parents) and checks that a file can be written in it; throws
/// UsageError naming the directory otherwise.
void prepare_out_dir(const std::filesystem::path& out);

[[nodiscard]] std::string help_text();

}  // namespace rill::perf_report
