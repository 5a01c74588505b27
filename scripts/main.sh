#!/usr/bin/env bash
# The main job: builds the release preset and runs the benchmarks against their peers: the seed's
# pipeline on the runtime (bench_pipeline), the rings (bench_ring), then the pool (bench_pool),
# each ending with a summary of medians, ratios and targets. Extra arguments go to all three
# (--quick, --reps=N, --benchmark_filter=REGEX). Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target bench_pipeline bench_ring bench_pool
build/release/bench/pipeline/bench_pipeline "$@"
build/release/bench/ring/bench_ring "$@"
build/release/bench/pool/bench_pool "$@"
