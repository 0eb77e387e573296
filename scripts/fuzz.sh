#!/usr/bin/env bash
# Builds the fuzzers with clang-14 + libFuzzer (ASan, UBSan, LSan) straight
# from the sources, then fuzzes each on a copy of its seed corpus:
#
#   edn_read_fuzz      the EDN reader and printers   (fuzz/corpus/edn/)
#   server_input_fuzz  request targets, query strings and payloads, headers,
#                      the signals JSON and an event of the demo's todo list
#                      with them                     (fuzz/corpus/server/)
#   record_restore_fuzz  a stored record: loaded by the file store, then
#                      woken, stepped and ended by a Runtime with the demo's
#                      components                    (fuzz/corpus/record/)
#
#   bash scripts/fuzz.sh                     # 60 seconds each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh
#   bash scripts/fuzz.sh server_input_fuzz   # only that one
#
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory. A
# failing input is saved as <fuzz dir>/<fuzzer>-artifacts/crash-* (or leak-,
# timeout-, oom-); replay it with: <fuzz dir>/<fuzzer> <that file>
#
# Environment: FUZZ_SECONDS (default 60, per fuzzer), STUBE_FUZZ_DIR
# (default build-fuzz).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-60}
out=${STUBE_FUZZ_DIR:-build-fuzz}
mkdir -p "$out"

# The sources each fuzzer is built from, besides fuzz/<name>.cpp.
sources_of() {
  case $1 in
    edn_read_fuzz) echo src/edn/*.cpp ;;
    server_input_fuzz)
      echo src/server/signals.cpp src/server/routes.cpp src/server/http_util.cpp \
        src/edn/*.cpp src/kernel/*.cpp src/conversation/*.cpp src/log/*.cpp \
        examples/demo/{list_input,todo}.cpp
      ;;
    record_restore_fuzz)
      # src/store/store.cpp (the store interface) opens every backend by URL.
      # Not examples/demo/wizard_flow.cpp: see the fuzzer's registry.
      echo src/edn/*.cpp src/kernel/*.cpp src/conversation/*.cpp src/log/*.cpp \
        src/common/*.cpp src/runtime/*.cpp src/store/*.cpp src/server/signals.cpp \
        src/server/http_util.cpp examples/demo/{board,counter,list_input,todo,wizard}.cpp
      ;;
    *) echo "fuzz.sh: no fuzzer named '$1'" >&2; return 1 ;;
  esac
}
corpus_of() {
  case $1 in
    edn_read_fuzz) echo fuzz/corpus/edn ;;
    server_input_fuzz) echo fuzz/corpus/server ;;
    record_restore_fuzz) echo fuzz/corpus/record ;;
  esac
}
# Libraries a fuzzer links with, besides the sanitizers' runtimes.
libs_of() {
  case $1 in
    record_restore_fuzz) echo -lpq -lsqlite3 ;;
  esac
}

# One set of flags for every object: the union of what the fuzzers include.
# shellcheck disable=SC2054  # the commas are clang's list of sanitizers
cxxflags=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  -std=c++20 -O1 -g -Wall -Wextra -Wpedantic -Werror -Iinclude -Isrc -Iexamples -Itests
  "-I$(pg_config --includedir)")
objects=$out/obj

object_of() {
  local path=${1%.cpp}
  echo "$objects/${path//\//_}.o"
}

# Compiles each source once (the fuzzers share most of theirs), two at a time:
# one clang++ run per fuzzer over all its sources would use one core.
compile_all() {
  local src running=0 failed=0
  mkdir -p "$objects"
  for src in "$@"; do
    if ((running >= 2)); then
      wait -n || failed=1
      running=$((running - 1))
    fi
    clang++-14 "${cxxflags[@]}" -c "$src" -o "$(object_of "$src")" &
    running=$((running + 1))
  done
  while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
  done
  return "$failed"
}

link_fuzzer() {
  local name=$1 src objs=()
  # shellcheck disable=SC2046  # sources_of prints a list
  for src in "fuzz/$name.cpp" $(sources_of "$name"); do objs+=("$(object_of "$src")"); done
  echo "fuzz: linking $out/$name"
  # shellcheck disable=SC2046  # libs_of prints a list
  clang++-14 -fsanitize=fuzzer,address,undefined "${objs[@]}" $(libs_of "$name") -o "$out/$name"
}

run_fuzzer() {
  local name=$1 binary=$out/$1
  local corpus=$out/$name-corpus artifacts=$out/$name-artifacts
  # Fuzz a throw-away copy: new inputs must not grow the committed corpus.
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp "$(corpus_of "$name")"/* "$corpus"/

  echo "fuzz: running $name for ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" </dev/null
  echo "fuzz: $name: no findings in ${seconds}s"
}

fuzzers=("$@")
((${#fuzzers[@]})) || fuzzers=(edn_read_fuzz server_input_fuzz record_restore_fuzz)
sources=()
for name in "${fuzzers[@]}"; do
  sources_of "$name" >/dev/null  # fails on an unknown name
  # shellcheck disable=SC2207  # sources_of prints a list of paths without spaces
  sources+=("fuzz/$name.cpp" $(sources_of "$name"))
done
mapfile -t sources < <(printf '%s\n' "${sources[@]}" | sort -u)
echo "fuzz: compiling ${#sources[@]} sources into $objects"
compile_all "${sources[@]}"
for name in "${fuzzers[@]}"; do link_fuzzer "$name"; done
for name in "${fuzzers[@]}"; do run_fuzzer "$name"; done
