#!/usr/bin/env bash
# The README's main-job command, end to end: `bash scripts/run.sh` sets up,
# builds and brings the demo up on the durable file store in ./var/convs.
# Checks that it serves the index and a counter, that an event's change is
# on disk in var/convs when the POST is answered, that SIGTERM stops it
# cleanly (exit status 0), and that the command run again restores the
# conversation with its count.
#
#   bash tests/main_job.sh        (run by scripts/test.sh after the release suite)
#
# It uses the repository's own ./var/convs, as the command does: do not run
# it while a demo serves that directory. Conversations already there are
# restored and saved again by each of its two runs; the one it makes is
# removed at the end.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
pid=
cid=
todo_cid=

# The command runs in a process group of its own (setsid), so that a
# failure during its setup or build stops its children too.
kill_group() {
  [[ -n $pid ]] || return 0
  kill -"$1" -- "-$pid" 2>/dev/null || true
}

cleanup() {
  kill_group KILL
  # The conversations this test made, not the user's in the same directory.
  for made in "$cid" "$todo_cid"; do
    [[ -n $made ]] && rm -f "var/convs/$made.edn"
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "main_job: FAILED: $*" >&2
  for f in "$work"/*.out "$work"/*.err; do
    [[ -f $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}
trap 'fail "line $LINENO: a command failed"' ERR

# start NAME: runs the main-job command in the background; sets pid and url
# once the server announces that it accepts connections (the command first
# runs the setup and an up-to-date build, so give it time).
start() {
  : >"$work/$1.out"
  setsid bash scripts/run.sh --port 0 >"$work/$1.out" 2>"$work/$1.err" &
  pid=$!
  url=
  for _ in $(seq 6000); do
    url=$(sed -n 's|^stube-demo listening on \(http://[^ ]*\)$|\1|p' "$work/$1.out")
    [[ -n $url ]] && return
    kill -0 "$pid" 2>/dev/null || fail "$1: scripts/run.sh exited before the server listened"
    sleep 0.1
  done
  fail "$1: no \"listening on\" line within 10 minutes"
}

# stop NAME: SIGTERM, and the server must exit 0 within a minute (it saves
# and shuts down).
stop() {
  kill -TERM "$pid" 2>/dev/null || fail "$1: the server was gone before SIGTERM"
  local status=0
  if ! timeout 60 tail --pid="$pid" -f /dev/null; then
    fail "$1: the server did not stop within 60 s of SIGTERM"
  fi
  wait "$pid" || status=$?
  pid=
  [[ $status -eq 0 ]] || fail "$1: the server exited with status $status after SIGTERM"
}

start first
index=$(curl -sS --fail --max-time 30 "$url") || fail "GET / failed"
for path in counter wizard wizard-flow todo; do
  grep -q "href=\"[./]*$path\"" <<<"$index" || fail "the index does not link to /$path"
done

page=$(curl -sS --fail --max-time 30 -c "$work/cookies" "${url}counter") ||
  fail "GET /counter failed"
event=$(grep -o "/event/cv-[A-Za-z0-9_-]*/ix-[A-Za-z0-9_-]*/inc" <<<"$page" | head -n 1) || true
[[ -n $event ]] || fail "no inc event in the counter page"
cid=$(cut -d/ -f3 <<<"$event")
for _ in 1 2 3; do
  status=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -b "$work/cookies" -X POST \
    -H 'Content-Type: application/json' -H 'Datastar-Request: true' --data '{}' \
    "${url%/}$event") || fail "POST $event failed"
  [[ $status == 200 ]] || fail "POST $event answered $status, not 200"
done
# Durable mode: the save (fsynced) happened before the POST was answered.
grep -q ':count 3' "var/convs/$cid.edn" || fail "var/convs/$cid.edn does not hold :count 3"

# The todo takes an item from its kept signal, and refuses one past the
# demo's limit on item text (200 characters) with a 400 that changes nothing.
page=$(curl -sS --fail --max-time 30 -c "$work/todo-cookies" "${url}todo") || fail "GET /todo failed"
add=$(grep -o "/event/cv-[A-Za-z0-9_-]*/ix-[A-Za-z0-9_-]*/add" <<<"$page" | head -n 1) || true
[[ -n $add ]] || fail "no add event in the todo page"
todo_cid=$(cut -d/ -f3 <<<"$add")
signals=$(cut -d/ -f4 <<<"$add" | sed 's/_/_0/g')  # the instance's signal namespace
post_item() {
  curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -b "$work/todo-cookies" -X POST \
    -H 'Content-Type: application/json' -H 'Datastar-Request: true' \
    --data "{\"$signals\":{\"new_text\":\"$1\"}}" "${url%/}$add"
}
status=$(post_item "$(printf 'x%.0s' $(seq 201))") || fail "POST $add failed"
[[ $status == 400 ]] || fail "an item of 201 characters answered $status, not 400"
status=$(post_item "buy milk") || fail "POST $add failed"
[[ $status == 200 ]] || fail "adding \"buy milk\" answered $status, not 200"
grep -q '"buy milk"' "var/convs/$todo_cid.edn" || fail "var/convs/$todo_cid.edn does not hold the item"
grep -q 'xxxxxxxxxx' "var/convs/$todo_cid.edn" && fail "the refused item was saved"
stop first

start second
grep -q "restored [1-9][0-9]* conversation" "$work/second.err" ||
  fail "the second start did not log the restored conversations"
# The page's stream reconnects to the restored conversation: its first frame
# shows the saved count. grep ends the stream (curl gets SIGPIPE) at the
# first match.
grep -q -m 1 'class="count">3<' < <(curl -sSN --max-time 30 -b "$work/cookies" \
  "${url}sse/$cid" 2>/dev/null || true) || fail "the restored $cid does not render :count 3 on its stream"
stop second
echo "main_job: scripts/run.sh served the demo, saved $cid with :count 3 in var/convs," \
  "stopped cleanly on SIGTERM and restored it on the next start"
