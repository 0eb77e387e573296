#!/usr/bin/env bash
# run_pg_bench.sh — the PostgreSQL store against a local throwaway server
# (tests/postgres/with_postgres.sh, with fsync on: the server's default
# durability), printing one table of rates (docs/PERFORMANCE.md records
# none of its figures yet).
#
#   bench/run_pg_bench.sh [BUILD_DIR]      # default: ./build
#
# Environment: DOCS (5000), ROUNDS (3), THREADS (4); STUBE_PG_DURABLE=0 turns
# the server's fsync off (what the store costs without the disk's flush).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/bench/pg_store_bench"
[[ -x $bench ]] || { echo "run_pg_bench.sh: no $bench (build the pg_store_bench target first)" >&2; exit 2; }
bench=$(cd "$(dirname "$bench")" && pwd)/$(basename "$bench")

echo "$(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
STUBE_PG_DURABLE=${STUBE_PG_DURABLE:-1} bash "$here/../tests/postgres/with_postgres.sh" bash -c \
  '"$0" --conninfo="$STUBE_PG_CONNINFO" --docs="$1" --rounds="$2" --threads="$3"' \
  "$bench" "${DOCS:-5000}" "${ROUNDS:-3}" "${THREADS:-4}"
