#!/usr/bin/env bash
# Records a rill benchmark with perf (software cpu-clock events, frame-pointer call graphs) and
# prints where the time went per thread and per symbol.
#
#   tools/perf-record.sh [benchmark-binary] [benchmark args...]
#   default: build/profile/bench/ring/bench_ring --quick --benchmark_filter=spsc/single/rill
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v perf >/dev/null; then
    echo "perf-record.sh: perf is not installed (Debian package linux-perf)" >&2
    exit 2
fi
if [ $# -eq 0 ]; then
    cmake --preset profile >/dev/null
    cmake --build build/profile --target bench_ring
    set -- build/profile/bench/ring/bench_ring --quick --benchmark_filter=spsc/single/rill
fi
[ -x "$1" ] || { echo "perf-record.sh: '$1' is not an executable benchmark" >&2; exit 2; }

out=build/perf
mkdir -p "$out"
perf record -e cpu-clock -F 4999 --call-graph fp -o "$out/perf.data" -- "$@" >"$out/bench.log"
perf report -i "$out/perf.data" --no-children --sort comm,symbol --stdio 2>/dev/null | head -n 60
echo "perf data: $out/perf.data (perf report -i $out/perf.data)"
