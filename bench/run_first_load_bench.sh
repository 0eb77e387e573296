#!/usr/bin/env bash
# run_first_load_bench.sh — the file store's first load_all in a fresh
# process (a server's startup), with glibc's default heap and with
# transparent huge pages for the heap (GLIBC_TUNABLES=glibc.malloc.hugetlb=1),
# taking turns run by run.
#
#   bench/run_first_load_bench.sh [BUILD_DIR]     # default: ./build
#
# Environment: DOCS (5000), RUNS (7), DATA (BUILD_DIR/first-load-data: put it
# on the disk you want to measure). The page cache is warm (one untimed load
# first), as in run_store_bench.sh.
set -euo pipefail

build=${1:-build}
bench="$build/bench/store_bench"
[[ -x $bench ]] || { echo "run_first_load_bench.sh: no $bench (build store_bench first)" >&2; exit 2; }
docs=${DOCS:-5000}
runs=${RUNS:-7}
data=${DATA:-$build/first-load-data}
made_data=0
[[ -d $data ]] || made_data=1
# However the run ends, remove what it writes, and nothing else: DATA may be
# a directory of the user's.
cleanup() {
  rm -rf "$data/convs"
  if ((made_data)); then rmdir "$data" 2>/dev/null || true; fi
}
trap cleanup EXIT
rm -rf "$data/convs"
mkdir -p "$data"
"$bench" --fill="$data/convs" --docs="$docs"
"$bench" --load-once="$data/convs" >/dev/null  # warms the page cache (and sets atimes)

rate() { sed -n 's/.* per_s=\([0-9]*\).*/\1/p'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
plain=()
huge=()
for _ in $(seq "$runs"); do
  plain+=("$("$bench" --load-once="$data/convs" | rate)")
  huge+=("$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$bench" --load-once="$data/convs" | rate)")
done
echo "first load_all of $docs conversations in a fresh process, all cores, $runs runs each (conversations/s)"
echo "  default heap:                 ${plain[*]}  median $(printf '%s\n' "${plain[@]}" | median)"
echo "  glibc.malloc.hugetlb=1 (THP): ${huge[*]}  median $(printf '%s\n' "${huge[@]}" | median)"
echo "  THP setting: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
