#!/usr/bin/env bash
# Sets everything up and runs every check CI runs:
#   1. warnings-as-errors RelWithDebInfo build + ctest          (build/)
#   2. the README's main-job command (scripts/run.sh) end to end (tests/main_job.sh)
#   3. the same suite under AddressSanitizer + UBSan             (build-asan/)
#   4. the runtime, server and store tests under ThreadSanitizer (build-tsan/)
#   5. the fuzzers, FUZZ_SECONDS (here default 40) each         (build-fuzz/)
#   6. clang-format check of every C++ source
# Prints "N passed, N failed" (ctest totals of the three runs) as its last line and
# exits non-zero when anything failed. A test that fails is run once more on
# its own, to tell a flaky test from a broken one in the summary (FLAKY or
# FAILED; the first failure's output stays in the log and in
# <build>/ctest.log): either way the run fails. A race or a memory error
# that shows only sometimes is still a bug.
#
# Environment: STUBE_BUILD_DIR (default: build) names the main build tree;
# the others are "<it>-asan", "<it>-tsan" and "<it>-fuzz".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${STUBE_BUILD_DIR:-build}
asan_dir=${build_dir}-asan
tsan_dir=${build_dir}-tsan
export STUBE_BUILD_DIR=$build_dir
export STUBE_FUZZ_DIR=${build_dir}-fuzz
# Three fuzzers: 40 s each keeps the whole run near half an hour.
export FUZZ_SECONDS=${FUZZ_SECONDS:-40}

total_passed=0
total_failed=0
failed_steps=()
# The tail of each failed test's output, printed again just above the summary:
# CI may keep only the end of a long log, and a flaky test's first failure
# is the one that says what went wrong.
failure_tails=$(mktemp)
trap 'rm -f "$failure_tails"' EXIT

# keep_failure_tails NAME LOG: the last 60 lines of each failed test's output
# in LOG (ctest --output-on-failure prints it after the test's status line,
# up to the next "Start" or status line), at most three tests.
keep_failure_tails() {
  local name=$1 log=$2
  awk -v suite="$name" '
    function flush() { if (n) { print "--- " suite ": " head; s = (n > 60 ? n - 59 : 1); for (i = s; i <= n; i++) print buf[i] }; n = 0 }
    /^ *[0-9]+\/[0-9]+ Test +#[0-9]+:/ { flush(); grab = ($0 ~ /\*\*\*/) && kept++ < 3; head = $0; next }
    /^ *Start +[0-9]+:/ || /^[0-9]+% tests passed/ { flush(); grab = 0; next }
    grab { buf[++n] = $0 }
    END { flush() }' "$log" >>"$failure_tails" || true
}

# Adds the totals of one ctest log ("95% tests passed, 1 tests failed out of 20").
count_ctest() {
  local log=$1 line failed total
  line=$(grep -aE '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -z $line ]]; then
    return 1
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  total_passed=$((total_passed + total - failed))
  total_failed=$((total_failed + failed))
}

# run_suite NAME DIR CMAKE_ARGS...: configure, build and ctest one tree.
# SUITE_TARGETS (space-separated) builds only those targets, SUITE_CTEST
# (e.g. "-L store") passes arguments to ctest.
run_suite() {
  local name=$1 dir=$2
  shift 2
  local t0=$SECONDS
  local targets=() ctest_args=()
  read -r -a targets <<<"${SUITE_TARGETS:-}"
  read -r -a ctest_args <<<"${SUITE_CTEST:-}"
  ((${#targets[@]})) && targets=(--target "${targets[@]}")
  echo "=== $name: configure + build in $dir"
  if ! cmake -S . -B "$dir" -G Ninja "$@" || ! cmake --build "$dir" -j2 "${targets[@]}"; then
    failed_steps+=("$name build")
    return
  fi
  echo "=== $name: built in $((SECONDS - t0))s; ctest"
  local log=$dir/ctest.log
  local status=0
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j2 "${ctest_args[@]}" 2>&1 |
    tee "$log" || status=$?
  if ! count_ctest "$log"; then
    failed_steps+=("$name ctest (no totals in $log)")
    return
  fi
  [[ $status -eq 0 ]] && return
  # Name the failures in the summary (the log above may be long), then run
  # them once more, alone, to say in the summary whether they fail every
  # time or only sometimes (FLAKY). Both fail the run.
  local names
  names=$(sed -n '/tests FAILED:/,$p' "$log" | grep -aE '^[[:space:]]+[0-9]+ - ' |
    sed -E 's/^[[:space:]]+//' | tr '\n' ';' || true)
  keep_failure_tails "$name" "$log"
  echo "=== $name: running the failed tests once more: $names"
  if ctest --test-dir "$dir" --rerun-failed --output-on-failure 2>&1 | tee "$dir/ctest-rerun.log"; then
    failed_steps+=("$name ctest (FLAKY: failed, then passed alone): $names")
  else
    failed_steps+=("$name ctest: $names")
  fi
  echo "=== $name: done in $((SECONDS - t0))s"
}

format_check() {
  echo "=== clang-format check"
  local files=()
  mapfile -t files < <(find include src tests bench tools fuzz examples -type f \
    \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \) 2>/dev/null | sort)
  if [[ ${#files[@]} -eq 0 ]]; then
    echo "no C++ sources found" >&2
    return 1
  fi
  # Called from an `||` list, where set -e is off: check the status by hand.
  clang-format --dry-run --Werror "${files[@]}" || return 1
  echo "clang-format: ${#files[@]} files clean"
}

started=$SECONDS
# Packages only: step 1 builds the same tree itself, so that a broken build is
# reported in the summary like any other failure.
STUBE_SKIP_BUILD=1 bash scripts/setup.sh

run_suite "release" "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTUBE_WERROR=ON

# The README's other command, on the tree step 1 built (its setup and build
# are then no-ops): serves, saves durably, stops on SIGTERM, restores.
echo "=== main job (scripts/run.sh)"
if [[ " ${failed_steps[*]} " == *" release build "* ]]; then
  # It would build the same broken tree again, for minutes, and fail.
  failed_steps+=("main job (not run: the release build failed)")
else
  bash tests/main_job.sh || failed_steps+=("main job")
fi

# The sanitizer trees build with -O1 -g1 (line tables only) instead of
# -O2 -g: half the compile time (the largest share of this script's run), and
# reports still name file:line. ASan's own advice is -O1; without NDEBUG,
# Boost's assertions check our use of Asio and Beast there too.
sanitizer_flags=-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "asan" "$asan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$sanitizer_flags" \
  -DSTUBE_WERROR=ON -DSTUBE_SANITIZE=ON -DSTUBE_BUILD_BENCH=OFF

# The concurrent parts (runtime, server, stores with their group commits and
# pools, PostgreSQL included) once more under ThreadSanitizer: a data race
# fails the test that ran into it. The Clojure interop test needs the JVM,
# not threads, and is left to the other runs. So are the tests of what a
# forked child of a threaded process does (the names matching AForkedChild
# or AfterAFork: four, in the server and store suites):
# TSan does not support fork() in a multi-threaded process (its own
# background thread may hold a lock the child then waits for; seen once as a
# child hanging until its alarm), and they test fork, not races.
TSAN_OPTIONS=second_deadlock_stack=1 \
  SUITE_TARGETS="stube_runtime_tests stube_server_tests stube_store_tests stube_pg_tests" \
  SUITE_CTEST="-L ^(runtime|server|store)$ -LE ^clojure$ -E (AForkedChild|AfterAFork)" \
  run_suite "tsan" "$tsan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$sanitizer_flags" -DSTUBE_WERROR=ON \
  -DSTUBE_TSAN=ON -DSTUBE_BUILD_BENCH=OFF -DSTUBE_BUILD_TOOLS=OFF

echo "=== fuzz"
fuzz_started=$SECONDS
bash scripts/fuzz.sh || failed_steps+=("fuzz")
echo "=== fuzz: done in $((SECONDS - fuzz_started))s"

format_check || failed_steps+=("clang-format")

if [[ -s $failure_tails ]]; then
  echo "=== the first failures' output (last 60 lines of each)"
  cat "$failure_tails"
fi
echo "=== done in $((SECONDS - started))s"
for step in "${failed_steps[@]}"; do
  echo "FAILED: $step"
done
echo "$total_passed passed, $total_failed failed"
[[ ${#failed_steps[@]} -eq 0 && $total_failed -eq 0 ]]
