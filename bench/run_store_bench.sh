#!/usr/bin/env bash
# run_store_bench.sh — stube's file and SQLite stores, the raw-I/O floor and
# the original Clojure algorithm on the same conversations, in one table.
#
#   bench/run_store_bench.sh [BUILD_DIR]      # default: ./build
#
# Environment: DOCS (5000), ROUNDS (3), DURABLE_DOCS (1000), THREADS (8,32: the
# thread counts of the parallel saves), MEMORY (100000;
# 0 skips the memory figure), DATA (BUILD_DIR/bench-data: put it on the disk
# you want to measure, not a tmpfs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/bench/store_bench"
[[ -x $bench ]] || { echo "run_store_bench.sh: no $bench (build the store_bench target first)" >&2; exit 2; }
command -v clojure >/dev/null || { echo "run_store_bench.sh: the 'clojure' command is missing" >&2; exit 2; }

docs=${DOCS:-5000}
rounds=${ROUNDS:-3}
data=${DATA:-$build/bench-data}
made_data=0
[[ -d $data ]] || made_data=1
mkdir -p "$data"
data=$(cd "$data" && pwd)
# However the run ends, remove what it writes, and nothing else: DATA may be
# a directory of the user's. (store_bench removes its directories itself
# when it fails; these names cover it being killed.)
cleanup() {
  rm -rf "$data"/{corpus.edn,reference.txt,reference,reference-warmup} \
    "$data"/{floor,floor-later,rename,durable,sqlite-full,sqlite-normal,parallel,memory}
  if ((made_data)); then rmdir "$data" 2>/dev/null || true; fi
}
trap cleanup EXIT
echo "filesystem: $(df -T "$data" | awk 'NR == 2 { print $2 " on " $1 }')"

"$bench" --dump="$data/corpus.edn" --docs="$docs"
clojure "$here/reference/store_reference.clj" "$data/corpus.edn" "$data/reference" "$rounds" \
  >"$data/reference.txt"
"$bench" --dir="$data" --docs="$docs" --rounds="$rounds" --durable-docs="${DURABLE_DOCS:-1000}" \
  --threads="${THREADS:-8,32}" \
  --memory="${MEMORY:-100000}" --reference="$data/reference.txt"
