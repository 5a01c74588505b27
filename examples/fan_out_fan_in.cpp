// The seed's fan-out/fan-in: a generator of 1..n, a CPU-bound "square" stage copied into several
// replicas that work in parallel (fan-out), and one sink that takes all their results (fan-in).
// In rill the fan-out and fan-in are options of the stage: {.replicas = N} deals the items to N
// copies of it, and {.ordered = true} hands the results on in input order. Prints how many items
// each replica took (from run.metrics()) and checks the sum against a serial computation.
//
//   fan_out_fan_in [--replicas=N] [--ordered=true|false] [--items=N]
//     --replicas=N   copies of the square stage, 1 to 64 (default 4)
//     --ordered      the sink gets the squares in input order (default: as they come)
//     --items=N      how many numbers, 1 to 2000000 (default 100000)

#include <rill/rill.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include "rill_cli/whole_number.hpp"

namespace {

/// The seed's processor sleeps to simulate CPU work; here it is real work: a dependent hash chain
/// of about a microsecond, whose result travels with the square so the sink can check it.
std::uint64_t digest(std::uint64_t n) noexcept {
    std::uint64_t h = n ^ 0x9e3779b97f4a7c15;
    for (int i = 0; i < 500; ++i) {
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93;
    }
    return h;
}

struct Squared {
    std::uint64_t n;
    std::uint64_t square;
    std::uint64_t digest;
};

int usage_error(const std::string& message) {
    std::fprintf(stderr, "fan_out_fan_in: %s\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t replicas = 4;
    bool ordered = false;
    std::uint64_t items = 100'000;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.starts_with("--replicas=")) {
            const auto v = rill::cli::whole_number(a.substr(11), 1, 64);
            if (!v) {
                return usage_error("--replicas='" + std::string(a.substr(11)) +
                                   "': expected a whole number from 1 to 64");
            }
            replicas = static_cast<std::size_t>(*v);
        } else if (a == "--ordered" || a == "--ordered=true") {
            ordered = true;
        } else if (a == "--ordered=false") {
            ordered = false;
        } else if (a.starts_with("--ordered=")) {
            return usage_error("--ordered='" + std::string(a.substr(10)) +
                               "': expected true or false");
        } else if (a.starts_with("--items=")) {
            const auto v = rill::cli::whole_number(a.substr(8), 1, 2'000'000);
            if (!v) {
                return usage_error("--items='" + std::string(a.substr(8)) +
                                   "': expected a whole number from 1 to 2000000");
            }
            items = *v;
        } else {
            return usage_error("unknown argument '" + std::string(a) +
                               "'; expected --replicas=N, --ordered=true|false or --items=N");
        }
    }

    rill::Runtime runtime;  // one pinned worker per CPU
    rill::Flow flow;
    std::uint64_t count = 0, squares = 0, digests = 0, out_of_order = 0;
    const auto start = std::chrono::steady_clock::now();
    flow.source("generate", rill::iota<std::uint64_t>(1, items + 1))
        .map("square",
             [](std::uint64_t n) noexcept {
                 return Squared{n, n * n, digest(n)};
             },
             {.replicas = replicas, .ordered = ordered})
        .sink("sum", [&](const Squared& s) noexcept {
            ++count;
            if (s.n != count) ++out_of_order;  // in input order, the n-th result is for n
            squares += s.square;
            digests += s.digest;
        });
    rill::Run run = runtime.start(flow);
    run.wait();  // rethrows a stage's error
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    // The serial answer: the sum of squares in closed form, the digests by a plain loop.
    const std::uint64_t expected_squares = items * (items + 1) * (2 * items + 1) / 6;
    std::uint64_t expected_digests = 0;
    for (std::uint64_t n = 1; n <= items; ++n)
        expected_digests += digest(n);

    const rill::FlowMetrics metrics = run.metrics();
    std::printf("fan_out_fan_in: %llu items, %zu %s replica%s of 'square' on %u workers, %.1f ms\n",
                static_cast<unsigned long long>(items), replicas, ordered ? "ordered" : "unordered",
                replicas == 1 ? "" : "s", runtime.workers(), ms);
    std::size_t rows = 0;
    for (const rill::StageMetrics& m : metrics.stages) {
        const bool replica_row = replicas == 1 ? m.name == "square" : m.name.starts_with("square[");
        if (!replica_row) continue;
        ++rows;
        std::printf("  %-12s worker %u: %llu items (%.1f%%)\n", m.name.c_str(), m.worker,
                    static_cast<unsigned long long>(m.in),
                    100.0 * static_cast<double>(m.in) / static_cast<double>(items));
    }
    const rill::StageMetrics all = metrics.sum("square");
    std::printf("  all replicas: %llu items; sink got %llu, %llu out of input order\n",
                static_cast<unsigned long long>(all.in), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(out_of_order));
    std::printf("sum of squares 1..%llu = %llu (expected %llu)\n",
                static_cast<unsigned long long>(items), static_cast<unsigned long long>(squares),
                static_cast<unsigned long long>(expected_squares));

    bool ok = true;
    const auto expect = [&ok](bool condition, const char* what) {
        if (!condition) {
            std::fprintf(stderr, "fan_out_fan_in: MISMATCH: %s\n", what);
            ok = false;
        }
    };
    expect(count == items, "the sink did not get every item exactly once");
    expect(squares == expected_squares, "the sum of squares differs from the closed form");
    expect(digests == expected_digests, "the digests differ from the serial loop's");
    expect(!ordered || out_of_order == 0, "an ordered stage delivered items out of order");
    expect(rows == replicas, "run.metrics() does not have one row per replica");
    expect(all.in == items && all.out == items, "the replicas' metrics do not add up to the items");
    expect(metrics.balanced(), "a stage's metrics are not balanced");
    if (ok) std::printf("ok: every result matches the serial computation\n");
    return ok ? 0 : 1;
}
