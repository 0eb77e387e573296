#!/usr/bin/env bash
# run_edn_bench.sh — stube's EDN reader/printer against Clojure's, same corpus.
#
#   bench/run_edn_bench.sh [BUILD_DIR]        # default: ./build
#
# Dumps the benchmark corpus (bench/corpus.hpp, 500 conversations) to a file,
# runs edn_bench and bench/reference/edn_reference.clj on it, both pinned to
# one core, and prints MB/s (10^6 bytes of compact EDN text per second) side
# by side with the ratio and the targets. STRICT=1 makes a missed target fail.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/bench/edn_bench"
[[ -x $bench ]] || { echo "run_edn_bench.sh: no $bench (build the edn_bench target first)" >&2; exit 2; }
command -v clojure >/dev/null || { echo "run_edn_bench.sh: the 'clojure' command is missing" >&2; exit 2; }

pin=()
if command -v taskset >/dev/null && [[ $(nproc) -gt 1 ]]; then pin=(taskset -c 1); fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bench" --dump="$work/corpus.edn"
"${pin[@]}" "$bench" --benchmark_min_time="${MIN_TIME:-2}" --benchmark_format=csv \
  >"$work/stube.csv" 2>"$work/stube.err" || { cat "$work/stube.err" >&2; exit 1; }
"${pin[@]}" clojure "$here/reference/edn_reference.clj" "$work/corpus.edn" \
  "${WARMUP:-8}" "${MEASURE:-8}" >"$work/clojure.txt"

# bytes_per_second of one benchmark from Google Benchmark's CSV, in MB/s.
stube_mbps() {
  awk -F, -v want="\"$1\"" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == want { printf "%.1f", $(col["bytes_per_second"]) / 1e6 }' "$work/stube.csv"
}
clojure_mbps() { awk -v key="$1" '$1 == key { print $2 }' "$work/clojure.txt"; }

read_s=$(stube_mbps BM_Read)
# Clojure's pr-str makes a new string per document, so the write row (ratio
# and target) is BM_WriteNewString's; BM_Write, one reused buffer, is the
# printer alone and shown below it.
write_s=$(stube_mbps BM_WriteNewString)
write_buffer_s=$(stube_mbps BM_Write)
pretty_s=$(stube_mbps BM_Pretty)
read_c=$(clojure_mbps clojure_read_mbps)
write_c=$(clojure_mbps clojure_write_mbps)

verdict() {  # value target
  if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v >= t) }'; then echo "ok"; else echo "MISS"; fi
}
row() {  # label stube clojure target-mbps
  local ratio
  ratio=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", a / b }')
  printf '%-8s %12s %12s %8sx   target >= %s MB/s: %s   >= 20x: %s\n' "$1" "$2" "$3" "$ratio" \
    "$4" "$(verdict "$2" "$4")" "$(verdict "$ratio" 20)"
}

{
head -n 1 "$work/clojure.txt"
printf '%-8s %12s %12s %9s\n' "" "stube MB/s" "Clojure MB/s" "ratio"
row read "$read_s" "$read_c" 300
row write "$write_s" "$write_c" 600
printf '%-8s %12s   (edn::write into one reused buffer: the printer alone)\n' "" "$write_buffer_s"
printf '%-8s %12s   (edn::pretty, per byte of compact text)\n' pretty "$pretty_s"
} | tee "$work/table.txt"
if [[ ${STRICT:-0} == 1 ]] && grep -q MISS "$work/table.txt"; then exit 1; fi
