#!/usr/bin/env bash
# The main job: builds the release preset and runs the ring benchmark against its peers, ending
# with a summary of medians and ratios. Extra arguments go to the benchmark (--quick, --reps=N,
# --benchmark_filter=REGEX). Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target bench_ring
exec build/release/bench/ring/bench_ring "$@"
