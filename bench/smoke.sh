#!/usr/bin/env bash
# smoke.sh PATTERN COMMAND [ARGS...]: runs a benchmark with tiny inputs for
# ctest; passes when it exits 0 and its output (stdout and stderr) matches
# the extended regular expression PATTERN, read as one text.
set -uo pipefail
pattern=$1
shift
out=$("$@" 2>&1)
status=$?
printf '%s\n' "$out"
if ((status != 0)); then
  echo "smoke.sh: $1 exited with status $status" >&2
  exit 1
fi
if ! grep -qzE -- "$pattern" <<<"$out"; then
  echo "smoke.sh: the output of $1 does not match: $pattern" >&2
  exit 1
fi
