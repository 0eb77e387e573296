#!/usr/bin/env bash
# Builds the EDN reader fuzzer with clang-14 + libFuzzer (ASan, UBSan, LSan)
# straight from the sources, then fuzzes a copy of the seed corpus.
#
#   bash scripts/fuzz.sh                # 60 seconds
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh
#
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory. A
# failing input is saved as <fuzz dir>/artifacts/crash-* (or leak-, timeout-,
# oom-); replay it with: <fuzz dir>/edn_read_fuzz <that file>
#
# Environment: FUZZ_SECONDS (default 60), STUBE_FUZZ_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-60}
out=${STUBE_FUZZ_DIR:-build-fuzz}
binary=$out/edn_read_fuzz
corpus=$out/corpus
artifacts=$out/artifacts

mkdir -p "$out"
echo "fuzz: building $binary"
clang++-14 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -std=c++20 -O1 -g -Iinclude -Isrc \
  fuzz/edn_read_fuzz.cpp src/edn/*.cpp -o "$binary"

# Fuzz a throw-away copy: new inputs must not grow the committed corpus.
rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
cp fuzz/corpus/edn/* "$corpus"/

echo "fuzz: running for ${seconds}s"
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" </dev/null
echo "fuzz: no findings in ${seconds}s"
