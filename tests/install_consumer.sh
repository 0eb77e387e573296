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
app_pid=
# A counter_app still running when a check fails is stopped too.
trap '[[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null; rm -rf "$work"' EXIT
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

# The "your own app" example (docs/server.md) serves a counter at / on a file
# store in its working directory. Mint a conversation with a plain HTTP
# request, stop the app with SIGTERM (the final save), then start it again
# on the same directory: it restores that conversation.
app_dir=$work/counter-app
mkdir -p "$app_dir"
# start_app: runs counter_app on a free port in $app_dir; sets app_pid and app_port.
start_app() {
  # Emptied first: the poll below must not find the last run's "listening"
  # line (and its port) before the new run's redirection truncates the file.
  : >"$app_dir/out"
  : >"$app_dir/err"
  (cd "$app_dir" && exec "$work/build/counter_app" 0 >"$app_dir/out" 2>"$app_dir/err") &
  app_pid=$!
  app_port=
  for _ in $(seq 600); do  # up to a minute: the sanitizer build starts slowly
    app_port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$app_dir/out")
    [[ -n $app_port ]] && return 0
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "install test: counter_app did not start:" >&2
  cat "$app_dir/err" >&2
  exit 1
}
stop_app() {
  kill -TERM "$app_pid"
  local status=0
  wait "$app_pid" || status=$?
  app_pid=
  ((status == 0)) || { echo "install test: counter_app exited with $status on SIGTERM" >&2; exit 1; }
}

# A port it cannot use is refused by name, before anything starts.
for bad in 70000 abc; do
  status=0
  (cd "$app_dir" && exec "$work/build/counter_app" "$bad") >/dev/null 2>"$app_dir/err" || status=$?
  if ((status != 2)) || ! grep -q "not a port number (0-65535): $bad" "$app_dir/err"; then
    echo "install test: counter_app $bad exited with $status:" >&2
    cat "$app_dir/err" >&2
    exit 1
  fi
done

start_app
exec 3<>"/dev/tcp/127.0.0.1/$app_port"
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
response=$(timeout 30 cat <&3) || { echo "install test: no answer from counter_app in 30 s" >&2; exit 1; }
exec 3<&-
grep -q '^HTTP/1.1 200' <<<"$response" && grep -q 'Set-Cookie: stube-cv-' <<<"$response" &&
  grep -q 'Count: 0' <<<"$response" ||
  { echo "install test: GET / on counter_app did not serve the counter:" >&2; echo "$response" >&2; exit 1; }
cid=$(sed -n 's/.*Set-Cookie: stube-\(cv-[A-Za-z0-9_-]*\)=.*/\1/p' <<<"$response" | head -1)
stop_app
[[ -f $app_dir/convs/$cid.edn ]] ||
  { echo "install test: counter_app did not save $cid in $app_dir/convs" >&2; exit 1; }

start_app
grep -q 'restored 1 conversation' "$app_dir/err" ||
  { echo "install test: counter_app did not restore $cid:" >&2; cat "$app_dir/err" >&2; exit 1; }
stop_app
echo "install test: counter_app served, saved and restored $cid"

# The embedding example (docs/runtime.md) drives the runtime by hand on a
# file store under its working directory: the first run shows the counter,
# counts to 1, goes back and shuts down; the second restores that run's
# conversation.
runtime_dir=$work/runtime-app
mkdir -p "$runtime_dir"
for run in 1 2; do
  (cd "$runtime_dir" && "$work/build/runtime_app" >"out$run" 2>"err$run") ||
    { echo "install test: runtime_app run $run failed:" >&2; cat "$runtime_dir/err$run" >&2; exit 1; }
done
out=$runtime_dir/out1
grep -q 'Count: 0' "$out" && grep -q 'Count: 1' "$out" && [[ $(tail -1 "$out") == closed ]] ||
  { echo "install test: runtime_app did not count and close:" >&2; cat "$out" >&2; exit 1; }
grep -q 'restored 1 conversation' "$runtime_dir/err2" ||
  { echo "install test: runtime_app did not restore its conversation:" >&2; cat "$runtime_dir/err2" >&2; exit 1; }
echo "install test: runtime_app counted, saved and restored"
