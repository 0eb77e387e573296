#!/usr/bin/env bash
# run_file_store_ab.sh — A/B of the file store's save path in two builds: the
# server on the file store (closed loop, as in run_server_bench.sh scenario 2)
# and the store alone, the builds taking turns round by round so that a slow
# spell of the shared disk hits both.
#
#   bench/run_file_store_ab.sh A_BUILD B_BUILD [ROUNDS]     # default 5 rounds
#
# Each build needs the stube-demo and server_load targets. A build of an
# older commit: git worktree add ../old <commit>, link node_modules into it,
# then configure and build it like the main one.
set -euo pipefail
a=${1:?A_BUILD}
b=${2:?B_BUILD}
rounds=${3:-5}
data=$(mktemp -d "${TMPDIR:-/tmp}/stube-ab.XXXXXX")
declare -A build port pid
build[A]=$a
build[B]=$b

cleanup() {
  for v in A B; do
    [[ -n ${pid[$v]:-} ]] && kill "${pid[$v]}" 2>/dev/null && wait "${pid[$v]}" 2>/dev/null
  done
  rm -rf "$data"
}
trap cleanup EXIT

for v in A B; do
  "${build[$v]}/examples/stube-demo" --port 0 --store "file:$data/server-$v" \
    >"$data/out-$v" 2>"$data/log-$v" &
  pid[$v]=$!
  for _ in $(seq 100); do
    port[$v]=$(sed -n 's|^stube-demo listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$data/out-$v")
    [[ -n ${port[$v]} ]] && break
    sleep 0.1
  done
  [[ -n ${port[$v]} ]] || { echo "run_file_store_ab.sh: stube-demo of $v did not start" >&2; exit 1; }
done

echo "A = $a, B = $b; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for v in A B; do
    "${build[$v]}/bench/server_load" --port "${port[$v]}" --server-pid "${pid[$v]}" --mode events \
      --conversations 8 --events 500 --store file |
      awk -v v="$v" -v r="$r" '{ print "round " r " " v " server " $5 " " $11 }'
  done
  for v in A B; do
    rm -rf "$data/alone"
    "${build[$v]}/bench/server_load" --mode save-rate --store "file:$data/alone" \
      --conversations 8 --events 500 |
      awk -v v="$v" -v r="$r" '{ print "round " r " " v " alone  " $5 " " $6 }'
  done
done
