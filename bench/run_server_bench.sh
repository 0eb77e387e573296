#!/usr/bin/env bash
# run_server_bench.sh — stube's HTTP/SSE server under load (issue #5), every
# scenario in one run, on loopback, the load generator on the same cores:
#
#   1. events/s and POST→SSE-patch latency, counter, in-memory store;
#   2. the same on the file store (default durability, then durable), next to
#      the file store's own standalone save rate for the same conversations;
#   3. 1,000 conversations with open SSE streams while events flow (paced);
#   4. 10,000 idle SSE streams: server RSS per stream, and event latency on
#      other conversations while they stay open.
#
#   bench/run_server_bench.sh [BUILD_DIR]     # default: ./build
#
# Needs the stube-demo and server_load targets. Environment (defaults):
#   CONVS (8)         conversations driven concurrently in 1 and 2
#   EVENTS (2000)     events per conversation in 1
#   FILE_EVENTS (250) events per conversation and slice on the file store
#   DURABLE_EVENTS (25) the same on the durable file store
#   SLICES (10)       slices of 2: the server and the store alone take turns,
#                     slice by slice, in one server_load --mode interleaved
#   ROUNDS (3)        such interleaved runs, each reported on its own
#   STREAMS (1000)    open streams in 3;  RATE (1000) events/s in 3, i.e. every
#                     conversation sends one event a second
#   IDLE (10000)      idle streams in 4;  IDLE_RATE (1000) events/s in 4
#   DATA (BUILD_DIR/server-bench-data): where the file stores write; put it
#                     on the disk you want to measure, not on a tmpfs.
#   THREADS (the demo's default) I/O threads of the server
#   WORKERS (the demo's default) threads that handle requests; 0 handles
#                     them on the I/O threads
#   NICE (0)          run the server and the loader at this nice level; a
#                     negative one (root) keeps other jobs on a shared
#                     machine from dominating the latency tail.
set -euo pipefail

build=${1:-build}
# shellcheck source=server_bench_lib.sh
source "$(dirname "$0")/server_bench_lib.sh"

convs=${CONVS:-8}
events=${EVENTS:-2000}
file_events=${FILE_EVENTS:-250}
durable_events=${DURABLE_EVENTS:-25}
slices=${SLICES:-10}
rounds=${ROUNDS:-3}
streams=${STREAMS:-1000}
rate=${RATE:-1000}
idle=${IDLE:-10000}
idle_rate=${IDLE_RATE:-1000}
data=${DATA:-$build/server-bench-data}
prio=(nice -n "${NICE:-0}")

# Each idle stream is one descriptor in the server and one in the loader
# (both raise their soft limit to the hard one themselves). The server's
# default connection cap (max_connections) is that limit less max(64, an
# eighth of it), kept for the store and the rest of the process; say up
# front when it is too low rather than failing half-way.
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]]; then
  reserve=$((hard / 8 > 64 ? hard / 8 : 64))
  if ((hard - reserve < idle + 512)); then
    echo "run_server_bench.sh: the hard descriptor limit ($hard) gives the server a connection" \
      "cap of $((hard - reserve)), below IDLE=$idle + 512; raise it (ulimit -Hn, as root)" \
      "or set IDLE lower" >&2
    exit 2
  fi
fi
ulimit -n "$hard"

mkdir -p "$data"
data=$(cd "$data" && pwd)
# Only what this script writes there: DATA may be a directory of the user's.
rm -rf "$data"/{file,file-alone,durable,durable-alone} "$data"/server.{log,out}
log="$data/server.log"
server_pid=
port=

stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

# Starts stube-demo on a free port with the given store; sets server_pid and port.
start_server() {
  stop_server
  "${prio[@]}" "$demo" --port 0 --store "$1" ${THREADS:+--threads "$THREADS"} \
    ${WORKERS:+--workers "$WORKERS"} \
    >"$data/server.out" 2>>"$log" &
  server_pid=$!
  port=$(listening_port "$data/server.out" "$server_pid")
  [[ -n $port ]] && return 0
  echo "run_server_bench.sh: stube-demo did not start; see $log" >&2
  exit 1
}

# The machine's CPU counters (/proc/stat: user nice system idle iowait irq
# softirq steal), to tell how busy both cores were during a scenario.
cpu_ticks() { awk '/^cpu / { print $2, $3, $4, $5, $6, $7, $8, $9; exit }' /proc/stat; }
busy_pct() {  # busy_pct BEFORE AFTER: share of the cores not idle or waiting on I/O
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " "); total = 0
    for (i = 1; i <= 8; i++) { d[i] = y[i] - x[i]; total += d[i] }
    printf "%.0f", total ? 100 * (total - d[4] - d[5]) / total : 0 }'
}

results=()
run() {  # run LABEL server_load-args...: one scenario, its key=value line kept
  local label=$1
  shift
  local line before
  before=$(cpu_ticks)
  line=$("${prio[@]}" "$load" "$@")
  line+=" machine_busy_pct=$(busy_pct "$before" "$(cpu_ticks)")"
  echo "$label: $line"
  results+=("$label $line")
}

echo "server benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, nice ${NICE:-0}," \
  "threads ${THREADS:-default}, workers ${WORKERS:-default}," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file stores in $data ($(df -T "$data" | awk 'NR == 2 { print $2 " on " $1 }'))"

start_server memory:
run "1 memory" --port "$port" --server-pid "$server_pid" --mode events \
  --conversations "$convs" --events "$events"

# The server on the file store against the store alone: server_load saves
# with the same store itself between slices of events, so that a slow spell
# of the shared disk hits both alike (see interleaved_mode in server_load.cpp).
file_rounds() {  # file_rounds LABEL STORE-URL EVENTS-PER-CONVERSATION-AND-SLICE
  local label=$1 url=$2 n=$3 round
  start_server "file:$data/$label$url"
  for round in $(seq "$rounds"); do
    run "2 $label r$round" --port "$port" --server-pid "$server_pid" --mode interleaved \
      --conversations "$convs" --events "$n" --slices "$slices" --store "$label" \
      --alone-store "file:$data/$label-alone$url"
  done
  echo "  $label: server files average $(find "$data/$label" -name '*.edn' -printf '%s\n' |
    awk '{ s += $1; n++ } END { printf "%.0f", s / n }') bytes"
}
file_rounds file "" "$file_events"
file_rounds durable "?durability=durable" "$durable_events"

start_server memory:
run "3 streams" --port "$port" --server-pid "$server_pid" --mode streams \
  --streams "$streams" --concurrency 32 --rate "$rate" --total $((rate * 10))

start_server memory:
run "4 idle" --port "$port" --server-pid "$server_pid" --mode idle \
  --streams "$idle" --rate "$idle_rate" --total $((idle_rate * 5))
stop_server

# The table. Every figure comes from the lines above.
find_result() {
  local r
  for r in "${results[@]}"; do [[ $r == "$1 "* ]] && echo "$r"; done
  return 0
}
echo
printf '%-44s %10s %9s %9s %9s %14s\n' scenario events/s p50_ms p99_ms cpu_us/ev cpu-bound/s
row() {  # row LABEL DESCRIPTION
  local r
  r=$(find_result "$1")
  local cpu="-"
  [[ -n $(get "$r" server_cpu_us) ]] &&
    cpu=$(awk -v a="$(get "$r" server_cpu_us)" -v b="$(get "$r" loader_cpu_us)" 'BEGIN { printf "%.0f+%.0f", a, b }')
  printf '%-44s %10s %9s %9s %9s %14s\n' "$2" "$(get "$r" events_per_s)" "$(get "$r" p50_ms)" \
    "$(get "$r" p99_ms)" "$cpu" "$(get "$r" cpu_bound_events_per_s)"
}
# The median over the rounds of one key of label "2 LABEL rN".
round_median() {
  local round
  for round in $(seq "$rounds"); do get "$(find_result "2 $1 r$round")" "$2"; done | median
}
row "1 memory" "1. memory store, $convs conversations"
row "2 file r1" "2. file store (rename), server, round 1 of $rounds"
row "2 durable r1" "2. file store (durable), server, round 1"
row "3 streams" "3. $streams open streams, paced $rate/s"
row "4 idle" "4. $idle idle streams + 20 others, $idle_rate/s"
echo "(cpu_us/ev: server + loader CPU per event; cpu-bound/s: $(nproc) cores / that)"
echo
for label in file durable; do
  printf '%-8s file store: server %s events/s (%s us server CPU/event), store alone %s saves/s (%s us CPU/save);\n' \
    "$label" "$(round_median "$label" events_per_s)" "$(round_median "$label" server_cpu_us)" \
    "$(round_median "$label" saves_per_s)" "$(round_median "$label" save_cpu_us)"
  printf '         both cores busy (median): %s%% during the server slices, %s%% during the store alone\n' \
    "$(round_median "$label" server_busy_pct)" "$(round_median "$label" save_busy_pct)"
  printf '         server / store alone per round: %s%%; median %s%%%s\n' \
    "$(for round in $(seq "$rounds"); do get "$(find_result "2 $label r$round")" ratio_pct; done | tr '\n' ' ' | sed 's/ $//')" \
    "$(round_median "$label" ratio_pct)" "$([[ $label == file ]] && echo ' (target >= 80%)')"
  printf '         slice pairs per round (min median max): %s\n' \
    "$(for round in $(seq "$rounds"); do
      r=$(find_result "2 $label r$round")
      echo -n "$(get "$r" slice_ratio_min)/$(get "$r" slice_ratio_median)/$(get "$r" slice_ratio_max)% "
    done)"
done
i=$(find_result "4 idle")
echo "idle streams: $(get "$i" open_streams) open in $(get "$i" open_seconds) s;" \
  "server RSS $(get "$i" kib_per_stream) KiB per stream" \
  "(+ $(get "$i" kib_per_conversation) KiB per minted conversation; base $(get "$i" rss_base_kib) KiB)"
echo "targets: memory >= 10000 events/s; 1,000 streams p99 < 5 ms"
