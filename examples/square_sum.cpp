// The seed's first pipeline, generator -> square -> sum, on rill: two pinned workers, the stages
// connected by rings, and the per-stage accounting printed at the end.
//
//   square_sum [count]

#include <rill/rill.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <span>
#include <string>
#include "rill_cli/whole_number.hpp"

int main(int argc, char** argv) {
    std::uint64_t count = 1'000'000;
    if (argc > 2) {
        std::fprintf(stderr, "usage: square_sum [count]\n");
        return 2;
    }
    if (argc == 2) {
        const auto n = rill::cli::whole_number(argv[1], 1, 3'000'000);
        if (!n) {
            std::fprintf(stderr,
                         "square_sum: count '%s': %s (larger squares overflow the 64-bit sum)\n",
                         argv[1], rill::cli::expected_whole_number(1, 3'000'000).c_str());
            return 2;
        }
        count = *n;
    }

    rill::Runtime runtime;  // one worker per CPU this process may use, each pinned and named
    rill::Flow flow;
    std::uint64_t sum = 0;
    flow.source("generate", rill::iota<std::uint64_t>(1, count + 1))
        .map("square", [](std::uint64_t n) { return n * n; })
        .sink("sum", [&sum](std::uint64_t n) { sum += n; });
    rill::Run run = runtime.start(flow);
    run.wait();  // rethrows the first error of a fail-fast stage, naming it

    const std::uint64_t expected = count * (count + 1) * (2 * count + 1) / 6;
    std::cout << "sum of squares 1.." << count << " = " << sum << '\n' << run.metrics();
    return sum == expected && run.metrics().balanced() ? 0 : 1;
}
