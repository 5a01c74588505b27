#!/usr/bin/env bash
# The main job: builds the release preset, runs rill-perf-report with its defaults (the sweep of
# capacity x batch x wait policy x chaining x workers over the chain, cpu, pooled and latency
# workloads: a Markdown report on stdout, CSV, JSON and SVG files in build/perf-report), then
# bench_pipeline (the seed's pipeline, 10^7 items, on rill against oneTBB, thread-per-stage boost
# queues, a Go-style channel chain and a fused loop) on the cases BUILD.md reports, then
# bench_replicas (a 1 us CPU-bound stage with 1 and 2 replicas against a serial loop and oneTBB),
# then bench_windows (sliding sum and max against std::deque and a rescan; keyed tumbling windows
# on 1 and 2 replicas). Installs the Debian packages it needs first. About 3.5 minutes on the
# 2-core project machine; --quick 20 s.
#
#   scripts/main.sh [--quick] [--reps=N] [--all] [benchmark flags]
#     --quick   rill-perf-report --quick, bench_pipeline --quick and bench_replicas --quick
#     --reps=N  N runs per point / repetitions per benchmark
#     --all     every bench_pipeline case (5 more minutes), bench_replicas --explore (its
#               placement, batch and wait-policy alternatives, 2 more minutes), then bench_ring
#               (rings against peer queues) and bench_pool (the pool against allocators)
#     anything else goes to the benchmarks (--benchmark_filter=REGEX replaces the cases, --items=N)
#     but bench_replicas and bench_windows, which get only --quick and --reps=N
set -euo pipefail
cd "$(dirname "$0")/.."

report_args=()
bench_args=()
replicas_args=()
windows_args=()
all=0
for a in "$@"; do
    case $a in
    --quick)
        report_args+=(--quick)
        bench_args+=(--quick)
        replicas_args+=(--quick)
        windows_args+=(--quick)
        ;;
    --reps=*)
        report_args+=(--repeat "${a#--reps=}")
        bench_args+=("$a")
        replicas_args+=("$a")
        windows_args+=("$a")
        ;;
    --all)
        all=1
        replicas_args+=(--explore)
        ;;
    --benchmark_filter=*)
        filter=1
        bench_args+=("$a")
        ;;
    *) bench_args+=("$a") ;;
    esac
done
# The pipeline cases BUILD.md's figures come from: every peer's best and rill's large batches.
if [ "$all" -eq 0 ] && [ "${filter:-0}" -eq 0 ]; then
    bench_args+=("--benchmark_filter=rill/.*(cap:(1024|4096)/batch:(64|256)|one-worker|per-item)|fused|boost_spsc/cap:4096|tbb/tokens:16|channel/cap:4096")
fi

scripts/install-deps.sh
cmake --preset release >/dev/null
targets=(rill-perf-report bench_pipeline bench_replicas bench_windows)
[ "$all" -eq 1 ] && targets+=(bench_ring bench_pool)
cmake --build --preset release --target "${targets[@]}"

out=build/perf-report
start=$SECONDS
build/release/tools/perf-report/rill-perf-report --out "$out" "${report_args[@]}"
echo
echo "rill-perf-report took $((SECONDS - start)) s; its files are in $(pwd)/$out:"
ls -1 "$out" | sed "s|^|  $out/|"
echo

build/release/bench/pipeline/bench_pipeline "${bench_args[@]}"
build/release/bench/replicas/bench_replicas "${replicas_args[@]}"
build/release/bench/windows/bench_windows "${windows_args[@]}"
if [ "$all" -eq 1 ]; then
    build/release/bench/ring/bench_ring "${bench_args[@]}"
    build/release/bench/pool/bench_pool "${bench_args[@]}"
fi
