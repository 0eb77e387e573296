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
#   EVENTS (2000)     events per conversation in 1 and 2
#   DURABLE_EVENTS (250) events per conversation on the durable file store
#   STREAMS (1000)    open streams in 3;  RATE (1000) events/s in 3, i.e. every
#                     conversation sends one event a second
#   IDLE (10000)      idle streams in 4;  IDLE_RATE (1000) events/s in 4
#   DATA (BUILD_DIR/server-bench-data): where the file stores write; put it
#                     on the disk you want to measure, not on a tmpfs.
#   NICE (0)          run the server and the loader at this nice level; a
#                     negative one (root) keeps other jobs on a shared
#                     machine from dominating the latency tail.
set -euo pipefail

build=${1:-build}
demo="$build/examples/stube-demo"
load="$build/bench/server_load"
for exe in "$demo" "$load"; do
  [[ -x $exe ]] || { echo "run_server_bench.sh: no $exe (build stube-demo and server_load)" >&2; exit 2; }
done

convs=${CONVS:-8}
events=${EVENTS:-2000}
durable_events=${DURABLE_EVENTS:-250}
streams=${STREAMS:-1000}
rate=${RATE:-1000}
idle=${IDLE:-10000}
idle_rate=${IDLE_RATE:-1000}
data=${DATA:-$build/server-bench-data}
prio=(nice -n "${NICE:-0}")

# Each idle stream is one descriptor in the server and one in the loader
# (both raise their soft limit to the hard one themselves); say so up front
# rather than failing half-way.
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < idle + 512)); then
  echo "run_server_bench.sh: the hard descriptor limit ($hard) is below IDLE=$idle + 512;" \
    "raise it (ulimit -Hn, as root) or set IDLE lower" >&2
  exit 2
fi
ulimit -n "$hard"

rm -rf "$data"
mkdir -p "$data"
data=$(cd "$data" && pwd)
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
  "${prio[@]}" "$demo" --port 0 --store "$1" >"$data/server.out" 2>>"$log" &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|^stube-demo listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$data/server.out")
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run_server_bench.sh: stube-demo did not start; see $log" >&2
  exit 1
}

results=()
run() {  # run LABEL server_load-args...: one scenario, its key=value line kept
  local label=$1
  shift
  local line
  line=$("${prio[@]}" "$load" "$@")
  echo "$label: $line"
  results+=("$label $line")
}

echo "server benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, nice ${NICE:-0}," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file stores in $data ($(df -T "$data" | awk 'NR == 2 { print $2 " on " $1 }'))"

start_server memory:
run "1 memory" --port "$port" --server-pid "$server_pid" --mode events \
  --conversations "$convs" --events "$events"

start_server "file:$data/convs"
run "2 file" --port "$port" --server-pid "$server_pid" --mode events \
  --conversations "$convs" --events "$events" --store file
run "2 file-save" --mode save-rate --store "file:$data/standalone" \
  --conversations "$convs" --events "$events"

start_server "file:$data/convs-durable?durability=durable"
run "2 durable" --port "$port" --server-pid "$server_pid" --mode events \
  --conversations "$convs" --events "$durable_events" --store durable
run "2 durable-save" --mode save-rate --store "file:$data/standalone-durable?durability=durable" \
  --conversations "$convs" --events "$durable_events"

start_server memory:
run "3 streams" --port "$port" --server-pid "$server_pid" --mode streams \
  --streams "$streams" --concurrency 32 --rate "$rate" --total $((rate * 10))

start_server memory:
run "4 idle" --port "$port" --server-pid "$server_pid" --mode idle \
  --streams "$idle" --rate "$idle_rate" --total $((idle_rate * 5))
stop_server

# The table. Every figure comes from the lines above.
get() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
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
row "1 memory" "1. memory store, $convs conversations"
row "2 file" "2. file store (rename), $convs conversations"
row "2 durable" "2. file store (durable)"
row "3 streams" "3. $streams open streams, paced $rate/s"
row "4 idle" "4. $idle idle streams + 20 others, $idle_rate/s"
echo "(cpu_us/ev: server + loader CPU per event; cpu-bound/s: $(nproc) cores / that)"
echo

file=$(get "$(find_result "2 file")" events_per_s)
save=$(get "$(find_result "2 file-save")" saves_per_s)
dfile=$(get "$(find_result "2 durable")" events_per_s)
dsave=$(get "$(find_result "2 durable-save")" saves_per_s)
awk -v f="$file" -v s="$save" -v df="$dfile" -v ds="$dsave" 'BEGIN {
  printf "file store (rename):  server %d events/s, standalone save %d/s: %.0f%% (target >= 80%%)\n", f, s, 100 * f / s
  printf "file store (durable): server %d events/s, standalone save %d/s: %.0f%%\n", df, ds, 100 * df / ds
}'
i=$(find_result "4 idle")
echo "idle streams: $(get "$i" open_streams) open in $(get "$i" open_seconds) s;" \
  "server RSS $(get "$i" kib_per_stream) KiB per stream" \
  "(+ $(get "$i" kib_per_conversation) KiB per minted conversation; base $(get "$i" rss_base_kib) KiB)"
echo "targets: memory >= 10000 events/s; 1,000 streams p99 < 5 ms"
