#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server, then stops the
# server and deletes it (also when the command fails or is interrupted).
#
#   tests/postgres/with_postgres.sh COMMAND [ARGS...]
#
# The server (initdb + pg_ctl from Debian's postgresql package) lives in a
# fresh temporary directory: data, Unix socket and log. It listens on that
# socket and on 127.0.0.1 at a free port. PostgreSQL refuses to run as root,
# so when this script runs as root (CI) the server binaries run as the
# unprivileged user $STUBE_PG_OS_USER (default stube-pg, created if missing).
# The database superuser is "stube" (trust authentication: the socket sits
# in a private directory, TCP is loopback only).
#
# COMMAND sees:
#   STUBE_PG_CONNINFO  "host=<socket dir> port=<port> user=stube dbname=stube"
#   STUBE_PG_URL       "postgresql://stube@127.0.0.1:<port>/stube" (the same database over TCP)
#   STUBE_PG_CONTROL   "bash <this script> --control <dir>": append "stop" or "start"
#                      to stop or restart the server (the down-database tests)
#
# Environment:
#   STUBE_PG_BIN       server binaries (default: the newest /usr/lib/postgresql/*/bin)
#   STUBE_PG_OS_USER   OS user for the server when running as root (default stube-pg)
#   STUBE_PG_DURABLE=1 keep fsync on (benchmarks); by default fsync is off,
#                      which the tests do not depend on and which saves time
set -euo pipefail

script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

die() {
  echo "with_postgres.sh: $*" >&2
  exit 2
}

pg_bin() {
  if [[ -n ${STUBE_PG_BIN:-} ]]; then
    echo "$STUBE_PG_BIN"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir && -x $dir/initdb ]] ||
    die "no PostgreSQL server binaries (install the Debian package 'postgresql', or set STUBE_PG_BIN)"
  echo "$dir"
}

os_user=${STUBE_PG_OS_USER:-stube-pg}

# Runs a server binary as the unprivileged user when we are root.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$os_user" -- "$@"
  else
    "$@"
  fi
}

ensure_os_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  id -u "$os_user" >/dev/null 2>&1 && return 0
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$os_user" 2>/dev/null ||
    id -u "$os_user" >/dev/null 2>&1 ||  # a parallel run created it first
    die "cannot create the OS user $os_user"
}

# --control DIR stop|start: used by tests through $STUBE_PG_CONTROL.
control() {
  local dir=$1 action=$2 bin
  bin=$(cat "$dir/bin")
  cd "$dir"
  case $action in
    stop) as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ;;
    start) as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null ;;
    *) die "--control: unknown action '$action' (stop or start)" ;;
  esac
}

if [[ ${1:-} == --control ]]; then
  [[ $# -eq 3 ]] || die "usage: with_postgres.sh --control DIR stop|start"
  control "$2" "$3"
  exit 0
fi
[[ $# -ge 1 ]] || die "usage: with_postgres.sh COMMAND [ARGS...]"

bin=$(pg_bin)
ensure_os_user
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stube-pg.XXXXXX")
chmod 755 "$tmp"
started=0

cleanup() {
  local status=$?
  if [[ $started -eq 1 ]]; then
    (cd "$tmp" && as_pg "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  if [[ $status -ne 0 && -f $tmp/log ]]; then
    echo "--- PostgreSQL server log (last 40 lines) ---" >&2
    tail -n 40 "$tmp/log" >&2 || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "$bin" >"$tmp/bin"
mkdir "$tmp/sock"
[[ $(id -u) -ne 0 ]] || chown "$os_user:" "$tmp" "$tmp/sock"
cd "$tmp"
as_pg "$bin/initdb" -D "$tmp/data" -U stube -A trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; die "initdb failed"; }

# A free port: try random ones (the server's own bind is the real check, so
# a port taken between the probe and the start just means another try).
# Below Linux's ephemeral range (32768 and up by default): the tests stop
# and restart this server on the same port, which an outgoing connection of
# a parallel test must not take meanwhile.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fsync=off
[[ ${STUBE_PG_DURABLE:-0} == 1 ]] && fsync=on
for attempt in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 12000))
  port_is_free "$port" || continue
  cat >"$tmp/data/postgresql.auto.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp/sock'
fsync = $fsync
full_page_writes = $fsync
max_connections = 100
logging_collector = off
EOF
  if as_pg "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -t 60 start >/dev/null 2>&1; then
    started=1
    break
  fi
  echo "with_postgres.sh: start on port $port failed (attempt $attempt), trying another" >&2
done
[[ $started -eq 1 ]] || die "the PostgreSQL server did not start; see the log above"

"$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp/sock" -p "$port" -U stube -d postgres \
  -c 'CREATE DATABASE stube' >/dev/null

export STUBE_PG_CONNINFO="host=$tmp/sock port=$port user=stube dbname=stube"
export STUBE_PG_URL="postgresql://stube@127.0.0.1:$port/stube"
# Run by the tests through a shell (std::system): quoted, a path with spaces stays one word.
printf -v STUBE_PG_CONTROL 'bash %q --control %q' "$script" "$tmp"
export STUBE_PG_CONTROL
echo "with_postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port," \
  "socket $tmp/sock, fsync=$fsync" >&2

cd - >/dev/null
set +e
"$@"
status=$?
set -e
exit "$status"
