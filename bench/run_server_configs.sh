#!/usr/bin/env bash
# run_server_configs.sh — server configurations side by side on the file
# store, in one run: one stube-demo per configuration, all started at once;
# each round saves with the store alone once, then sends the same load to
# every server in turn. The disk of these machines has fast and slow spells
# (docs/PERFORMANCE.md), so only figures of the same round compare.
#
#   bench/run_server_configs.sh [BUILD_DIR] 'FLAGS A' 'FLAGS B' ...
#   e.g. bench/run_server_configs.sh build '--workers 2' '--workers 0 --threads 1'
#
# Environment (defaults): ROUNDS (5), CONVS (8) conversations driven
# concurrently, FILE_EVENTS (500) events per conversation and round,
# DATA (BUILD_DIR/server-configs-data) where the file stores write.
set -euo pipefail

build=${1:-build}
shift || true
(($# > 0)) || { echo "usage: run_server_configs.sh [BUILD_DIR] 'FLAGS' ['FLAGS' ...]" >&2; exit 2; }
# shellcheck source=server_bench_lib.sh
source "$(dirname "$0")/server_bench_lib.sh"
rounds=${ROUNDS:-5}
convs=${CONVS:-8}
events=${FILE_EVENTS:-500}
data=${DATA:-$build/server-configs-data}
configs=("$@")

mkdir -p "$data"
data=$(cd "$data" && pwd)
rm -rf "$data"/{alone,server-*,out-*,log-*}
pids=()
ports=()
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_all EXIT

for i in "${!configs[@]}"; do
  # Word splitting of the flags is wanted here.
  # shellcheck disable=SC2086
  "$demo" --port 0 --store "file:$data/server-$i" ${configs[$i]} >"$data/out-$i" 2>"$data/log-$i" &
  pids+=($!)
  port=$(listening_port "$data/out-$i" "${pids[-1]}")
  [[ -n $port ]] || { echo "run_server_configs.sh: stube-demo ${configs[$i]} did not start; see $data/log-$i" >&2; exit 1; }
  ports+=("$port")
done

echo "server configurations: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $rounds rounds of" \
  "$convs x $events events; file stores in $data"
declare -A ratios
for round in $(seq "$rounds"); do
  alone=$("$load" --mode save-rate --store "file:$data/alone" --conversations "$convs" --events "$events")
  saves=$(get "$alone" saves_per_s)
  line="round $round: alone $saves saves/s ($(get "$alone" cpu_us) us CPU/save)"
  for i in "${!configs[@]}"; do
    r=$("$load" --port "${ports[$i]}" --server-pid "${pids[$i]}" --mode events \
      --conversations "$convs" --events "$events" --store file)
    ratio=$(awk -v e="$(get "$r" events_per_s)" -v s="$saves" 'BEGIN { printf "%.0f", 100 * e / s }')
    ratios[$i]+="$ratio "
    line+=" | [${configs[$i]}] $(get "$r" events_per_s)/s ($(get "$r" server_cpu_us)+$(get "$r" loader_cpu_us) us) $ratio%"
  done
  echo "$line"
done
for i in "${!configs[@]}"; do
  echo "[${configs[$i]}] server / store alone per round: ${ratios[$i]% }; median $(tr ' ' '\n' <<<"${ratios[$i]}" |
    sed '/^$/d' | median)%"
done
