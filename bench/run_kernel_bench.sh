#!/usr/bin/env bash
# run_kernel_bench.sh — the kernel and runtime figures of docs/PERFORMANCE.md
# in one table: the pure fold, the runtime on one and on two cores, history
# snapshots against conversation size, and render throughput.
#
#   bench/run_kernel_bench.sh [BUILD_DIR]     # default: ./build
#
# Runs kernel_bench twice: pinned to CPU 0 (everything), then on CPUs 0,1
# (the runtime benchmarks only). Every figure is the median of REPS (default
# 5) repetitions of MIN_TIME (default 1) seconds each, so a burst of other
# load on the machine moves it less. STRICT=1 makes a missed target fail.
set -euo pipefail

build=${1:-build}
bench="$build/bench/kernel_bench"
[[ -x $bench ]] || { echo "run_kernel_bench.sh: no $bench (build the kernel_bench target first)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "run_kernel_bench.sh: taskset (util-linux) is missing" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "run_kernel_bench.sh: needs 2 CPUs for the two-core figures" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # output-file cpus filter
  taskset -c "$2" "$bench" --benchmark_min_time="${MIN_TIME:-1}" --benchmark_filter="$3" \
    --benchmark_repetitions="${REPS:-5}" --benchmark_report_aggregates_only=true \
    --benchmark_format=csv >"$1" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
}
run "$work/one.csv" 0 .
run "$work/two.csv" 0,1 'BM_Runtime'

# One column of one benchmark's median from Google Benchmark's CSV (names
# are quoted).
field() {  # file benchmark-name column
  awk -F, -v want="\"$2_median\"" -v c="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == want { print $(col[c]); exit }' "$1"
}
per_s() { field "$1" "$2" items_per_second | awk '{ printf "%.0f", $1 }'; }
ns() { field "$1" "$2" cpu_time | awk '{ printf "%.0f", $1 }'; }
kb() { field "$work/one.csv" "$1" label | tr -dc 0-9 | awk '{ printf "%.0f", $1 / 1000 }'; }
mbps() { field "$work/one.csv" "$1" bytes_per_second | awk '{ printf "%.1f", $1 / 1e6 }'; }
verdict() {  # value target
  if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v >= t) }'; then echo ok; else echo MISS; fi
}

sizes=("1/1" "1/100" "1/1000" "100/100")
{
echo "kernel_bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "medians of ${REPS:-5} repetitions"
echo
echo "pure fold, counter 'inc' (one core)            events/s"
for h in 20 0; do
  v=$(per_s "$work/one.csv" "BM_FoldCounter/$h")
  printf '  dispatch, history_limit=%-3s %24s   target >= 200000/core: %s\n' "$h" "$v" "$(verdict "$v" 200000)"
done
echo
# A runtime row: wall-clock events/s, events per CPU-second (wall figure
# scaled by real/CPU time, so other load on the machine cancels out) and the
# cores the process actually got (CPU/real time).
runtime_cells() {  # file benchmark-name
  local items real cpu
  items=$(field "$1" "$2" items_per_second)
  real=$(field "$1" "$2" real_time)
  cpu=$(field "$1" "$2" cpu_time)
  awk -v i="$items" -v r="$real" -v c="$cpu" 'BEGIN { printf "%9.0f %9.0f %5.2f", i, i * r / c, c / r }'
}
echo "runtime, counter, in-memory store:"
echo "  events/s of wall time, events per CPU-second, cores the process got"
printf '  %-36s %-27s %s\n' "" "one core (taskset -c 0)" "two cores (taskset -c 0,1)"
printf '  %-36s %9s %9s %5s   %9s %9s %5s\n' "" wall/s cpu-s cores wall/s cpu-s cores
runtime_row() {  # label benchmark-name
  printf '  %-36s %s   %s\n' "$1" "$(runtime_cells "$work/one.csv" "$2")" \
    "$(runtime_cells "$work/two.csv" "$2")"
}
for t in 1 2 4; do
  runtime_row "$t client thread(s), own conversations" \
    "BM_RuntimeCounter/process_time/real_time/threads:$t"
done
runtime_row "2 client threads, one conversation" \
  "BM_RuntimeOneConversation/process_time/real_time/threads:2"
echo
echo "conversation size vs cost (one core; ns per operation)"
printf '  %-22s' "frames / EDN size"
for s in "${sizes[@]}"; do printf '%14s' "${s%%/*} fr/$(kb "BM_PushHistory/$s") KB"; done
printf '%16s\n' "1 MB / 1 KB"
for b in BM_PushHistory BM_FoldVsConversationSize BM_DeepCopySnapshot; do
  case $b in
    BM_PushHistory) label="history snapshot" ;;
    BM_FoldVsConversationSize) label="whole event (fold)" ;;
    BM_DeepCopySnapshot) label="deep copy (reference)" ;;
  esac
  printf '  %-22s' "$label"
  for s in "${sizes[@]}"; do printf '%14s' "$(ns "$work/one.csv" "$b/${s}")"; done
  awk -v a="$(ns "$work/one.csv" "$b/1/1000")" -v b="$(ns "$work/one.csv" "$b/1/1")" \
    'BEGIN { printf "%15.1fx\n", a / b }'
done
echo
echo "render (one core)                               MB/s of HTML"
for r in 10 1000; do
  printf '  table of %4d rows %31s\n' "$r" "$(mbps "BM_RenderTable/$r")"
done
} | tee "$work/table.txt"
if [[ ${STRICT:-0} == 1 ]] && grep -q MISS "$work/table.txt"; then exit 1; fi
