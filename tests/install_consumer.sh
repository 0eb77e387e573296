#!/usr/bin/env bash
# Install test: installs a built stube into a temporary prefix, then
# configures, builds and runs tests/fixtures/consumer against that prefix
# with find_package(stube CONFIG REQUIRED).
#
#   bash tests/install_consumer.sh BUILD_DIR [CXX_COMPILER] [SANITIZE=ON|OFF]
#
# SANITIZE=ON builds the consumer with the same -fsanitize flags as the
# sanitizer build, whose static library needs the sanitizer runtimes.
set -euo pipefail

build_dir=${1:?usage: install_consumer.sh BUILD_DIR [CXX_COMPILER] [SANITIZE]}
cxx=${2:-c++}
sanitize=${3:-OFF}
fixture=$(cd "$(dirname "${BASH_SOURCE[0]}")/fixtures/consumer" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/stube-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build_dir" --prefix "$prefix"

flags=()
if [[ $sanitize == ON ]]; then
  flags+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined")
fi
generator=()
if command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S "$fixture" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "${flags[@]}"

# The package must come from the fresh prefix, not from some other install.
found=$(sed -n 's/^stube_DIR:PATH=//p' "$work/build/CMakeCache.txt")
if [[ $found != "$prefix"/* ]]; then
  echo "install test: stube was found in '$found', not under $prefix" >&2
  exit 1
fi

cmake --build "$work/build"
"$work/build/app"
