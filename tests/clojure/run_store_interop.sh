#!/usr/bin/env bash
# run_store_interop.sh — stube's file store against the original's on-disk format.
#
#   tests/clojure/run_store_interop.sh PATH/TO/store_copy
#
# One JVM launch (store_interop.clj): Clojure writes conversations with pr-str
# into a directory the way the original file store does (temporary file, then
# rename), runs store_copy to load them with our file_store and save them into
# a second directory, and reads that directory back with clojure.edn; every
# conversation must equal the original. Directories are kept on failure.
set -euo pipefail

bin=${1:?usage: run_store_interop.sh PATH/TO/store_copy}
[[ -x $bin ]] || { echo "run_store_interop.sh: $bin is not an executable" >&2; exit 2; }
command -v clojure >/dev/null || { echo "run_store_interop.sh: the 'clojure' command is missing" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
if clojure "$here/store_interop.clj" "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$work"; then
  rm -rf "$work"
else
  echo "run_store_interop.sh: failed; directories kept in $work" >&2
  exit 1
fi
