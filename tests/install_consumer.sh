#!/usr/bin/env bash
# Install test: installs a built stube into a temporary prefix, runs the
# installed stube-demo and stube-store from it, then configures, builds and
# runs tests/fixtures/consumer against that prefix with
# find_package(stube CONFIG REQUIRED).
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

# The installed programs run from the prefix: the demo server and the store
# tool (here on a file store made in the work directory).
for program in stube-demo stube-store; do
  [[ -x $prefix/bin/$program ]] || { echo "install test: no $prefix/bin/$program" >&2; exit 1; }
done
# (Output captured first: grep -q quitting early must not SIGPIPE the program.)
help=$("$prefix/bin/stube-demo" --help)
grep -q -- '--store' <<<"$help" ||
  { echo "install test: stube-demo --help does not list --store" >&2; exit 1; }
mkdir -p "$work/convs"
printf '%s' '{:conv/id "cv-installed" :conv/instances {} :conv/stack []}' >"$work/convs/cv-installed.edn"
listing=$("$prefix/bin/stube-store" ls "file:$work/convs")
grep -q cv-installed <<<"$listing" ||
  { echo "install test: the installed stube-store does not list cv-installed" >&2; exit 1; }

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
