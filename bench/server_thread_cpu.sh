#!/usr/bin/env bash
# server_thread_cpu.sh — where a server's CPU goes, thread by thread: starts
# stube-demo on a store, warms it up, sends one closed-loop load
# (server_load --mode events) and prints each thread's user and system CPU
# and context switches per event (from /proc/PID/task/*/stat and status).
#
#   bench/server_thread_cpu.sh [BUILD_DIR] [STORE]      e.g. build file:/tmp/stc
#
# Threads are listed in creation order: the main thread, the runtime's timer
# thread, the workers (ServerOptions::workers), the I/O threads
# (ServerOptions::threads) and, for the file store, its closer (the thread
# that releases replaced files; created by the first save).
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

# tid utime stime (clock ticks) voluntary nonvoluntary (context switches)
snapshot() {
  local t
  for t in $(ls "/proc/$pid/task" | sort -n); do
    read -r -a f <<<"$(sed 's/.*) //' "/proc/$pid/task/$t/stat")"
    echo "$t ${f[11]} ${f[12]} $(awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { printf "%s ", $2 }' \
      "/proc/$pid/task/$t/status")"
  done
}
snapshot >"$data/before"
"$load" --port "$port" --server-pid "$pid" --mode events --conversations "$convs" \
  --events "$events" --store file
snapshot >"$data/after"
join "$data/before" "$data/after" | awk -v n=$((convs * events)) -v hz="$(getconf CLK_TCK)" '{
  printf "thread %s: user %.1f us/event, system %.1f us/event, context switches %.2f voluntary + %.2f involuntary per event\n",
    $1, ($6 - $2) * 1e6 / hz / n, ($7 - $3) * 1e6 / hz / n, ($8 - $4) / n, ($9 - $5) / n }'
