#!/usr/bin/env bash
# The main job: sets everything up (scripts/setup.sh: packages, npm ci,
# configure + build), then runs the demo server on a durable file store under
# ./var/convs. Conversations survive a restart or a crash of the server.
#
#   bash scripts/run.sh [--port 8080] [other stube-demo options]
#
# A --store of your own (e.g. --store sqlite:var/convs.db) replaces the
# default durable file store.
#
# Open the printed URL; stop with Ctrl-C (the server saves and exits cleanly).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${STUBE_BUILD_DIR:-build}

# Only the demo: the tests and benchmarks are the test command's business.
STUBE_BUILD_TARGETS=${STUBE_BUILD_TARGETS:-stube-demo} bash scripts/setup.sh
store=(--store "file:var/convs?durability=durable")
for arg in "$@"; do
  [[ $arg == --store || $arg == --store=* ]] && store=()
done
# var/ is not in git: made here for the default store (which makes its own
# convs/) and for one of yours under it (SQLite does not make directories).
mkdir -p var
exec "$build_dir/examples/stube-demo" "${store[@]}" "$@"
