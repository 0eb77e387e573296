#!/usr/bin/env bash
# server_thread_cpu.sh — where a server's CPU goes, thread by thread: starts
# stube-demo on a store, warms it up, sends one closed-loop load
# (server_load --mode events) and prints each thread's user and system CPU
# and context switches per event (from /proc/PID/task/*/stat and status).
#
#   bench/server_thread_cpu.sh [BUILD_DIR] [STORE]      e.g. build file:/tmp/stc
#
# Threads are listed by name (see src/common/thread_name.hpp): stube-io,
# stube-worker, stube-timer, stube-closer (the file store's release of
# replaced files), and the main thread under the program's name.
# Environment (defaults): CONVS (8) conversations, EVENTS (2000) per
# conversation, FLAGS (none) more stube-demo flags.
set -euo pipefail

build=${1:-build}
# shellcheck source=server_bench_lib.sh
source "$(dirname "$0")/server_bench_lib.sh"
data=$(mktemp -d)
store=${2:-file:$data/convs}
convs=${CONVS:-8}
events=${EVENTS:-2000}

# Word splitting of FLAGS is wanted here.
# shellcheck disable=SC2086
"$demo" --port 0 --store "$store" ${FLAGS:-} >"$data/out" 2>"$data/log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
port=$(listening_port "$data/out" "$pid")
[[ -n $port ]] || { echo "server_thread_cpu.sh: stube-demo did not start; see $data/log" >&2; exit 1; }
"$load" --port "$port" --server-pid "$pid" --mode events --conversations "$convs" --events 100 \
  --store file >/dev/null

# tid utime stime (clock ticks) voluntary nonvoluntary (context switches) name
snapshot() {
  local t
  for t in $(ls "/proc/$pid/task" | sort); do  # sorted as join wants
    read -r -a f <<<"$(sed 's/.*) //' "/proc/$pid/task/$t/stat")"
    echo "$t ${f[11]} ${f[12]} $(awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { printf "%s ", $2 }' \
      "/proc/$pid/task/$t/status")$(cat "/proc/$pid/task/$t/comm")"
  done
}
snapshot >"$data/before"
"$load" --port "$port" --server-pid "$pid" --mode events --conversations "$convs" \
  --events "$events" --store file
snapshot >"$data/after"
join "$data/before" "$data/after" | awk -v n=$((convs * events)) -v hz="$(getconf CLK_TCK)" '{
  printf "%-12s (thread %s): user %.1f us/event, system %.1f us/event, context switches %.2f voluntary + %.2f involuntary per event\n",
    $6, $1, ($7 - $2) * 1e6 / hz / n, ($8 - $3) * 1e6 / hz / n, ($9 - $4) / n, ($10 - $5) / n }'
