#!/usr/bin/env bash
# run_interop.sh — stube's EDN against the real Clojure reader (edn_interop.clj).
#
#   tests/clojure/run_interop.sh PATH/TO/stube-edn
#
# One JVM launch: the Clojure script generates the cases, runs stube-edn on
# them and reads stube's output back. Case files are left in a temporary
# directory when the test fails, for inspection.
set -euo pipefail

bin=${1:?usage: run_interop.sh PATH/TO/stube-edn}
[[ -x $bin ]] || { echo "run_interop.sh: $bin is not an executable" >&2; exit 2; }
command -v clojure >/dev/null || { echo "run_interop.sh: the 'clojure' command is missing" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
if clojure "$here/edn_interop.clj" "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$work"; then
  rm -rf "$work"
else
  echo "run_interop.sh: failed; case files kept in $work" >&2
  exit 1
fi
