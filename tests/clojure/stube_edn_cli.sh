#!/usr/bin/env bash
# stube_edn_cli.sh — the stube-edn command line: exit codes, messages, stdin.
#
#   tests/clojure/stube_edn_cli.sh PATH/TO/stube-edn
#
# Value-level correctness is edn_interop.clj's job; this checks the tool's
# contract: "FILE: ok", "FILE:LINE:COL: reason" with positions in the whole
# file (not in one form), exit 1 on bad input, '-' for stdin, several values a
# file, and a clear message for a missing file.
set -uo pipefail

bin=${1:?usage: stube_edn_cli.sh PATH/TO/stube-edn}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")  # the checks run in a scratch dir
[[ -x $bin ]] || { echo "stube_edn_cli.sh: $bin is not an executable" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect NAME WANT-EXIT WANT-STDOUT WANT-STDERR-REGEX -- COMMAND...
expect() {
  local name=$1 want_exit=$2 want_out=$3 want_err=$4
  shift 5
  local out err code
  out=$("$@" 2>"$work/err")
  code=$?
  err=$(cat "$work/err")
  [[ $code == "$want_exit" ]] || fail "$name: exit $code, want $want_exit (stderr: $err)"
  [[ $out == "$want_out" ]] || fail "$name: stdout '$out', want '$want_out'"
  [[ $err =~ $want_err ]] || fail "$name: stderr '$err' does not match /$want_err/"
}

cd "$work" || exit 1
printf '[:conv/id "cv-1"\n :n 1]\n{:a [1 2]} ; comment\n#_ :gone "s"\n' >good.edn
printf ':a\n:b\n\n  [1 2\n' >unterminated.edn
printf '1\n  {:a 1\n   :a 2}\n' >dup.edn
printf '[\\u00e9 "\\u00e9" #inst "2020-01-01T00:00:00Z" #x/y (1)]' >one.edn
: >empty.edn

expect "check ok" 0 "good.edn: ok" '^$' -- "$bin" check good.edn
expect "check empty" 0 "empty.edn: ok" '^$' -- "$bin" check empty.edn
expect "check several" 1 $'good.edn: ok\nempty.edn: ok' \
  '^unterminated\.edn:[45]:[0-9]+: [^ ].*dup\.edn:[23]:[0-9]+: [^ ]' \
  -- "$bin" check good.edn unterminated.edn dup.edn empty.edn
expect "error on line 1 keeps its column" 1 "" '^<stdin>:1:7: ' -- \
  bash -c "printf '1 2 3 )' | '$bin' check -"
expect "missing file" 1 "" '^nope\.edn: cannot open: No such file or directory$' -- \
  "$bin" check nope.edn
expect "print missing file" 1 "" '^nope\.edn: cannot open' -- "$bin" print nope.edn
mkdir -p adir.edn
expect "a directory is an error, not a crash" 1 "" '^adir\.edn: cannot read: Is a directory$' -- \
  "$bin" check adir.edn
expect "print a directory" 1 "" '^adir\.edn: cannot read: Is a directory$' -- "$bin" print adir.edn
expect "a directory on stdin is not 'ok'" 1 "" '^<stdin>: cannot read: Is a directory$' -- \
  bash -c "'$bin' check - < adir.edn"
expect "a closed stdin is not 'ok'" 1 "" '^<stdin>: cannot read: Bad file descriptor$' -- \
  bash -c "'$bin' check - <&-"
expect "a read error is a message, not an abort" 1 "" '^/proc/self/mem: cannot read: Input/output error$' -- \
  "$bin" check /proc/self/mem
expect "output that cannot be written fails the check" 1 "" '^stube-edn: cannot write the output: No space left on device$' -- \
  bash -c "'$bin' check good.edn > /dev/full"
expect "print to a full device" 1 "" '^stube-edn: cannot write the output: No space left on device$' -- \
  bash -c "'$bin' print good.edn > /dev/full"
seq 100000 >many.edn
expect "a large output to a full device says why" 1 "" '^stube-edn: cannot write the output: No space left on device$' -- \
  bash -c "'$bin' print many.edn > /dev/full"
expect "print" 0 $'[:conv/id "cv-1" :n 1]\n{:a [1 2]}\n"s"' '^$' -- "$bin" print good.edn
expect "an option without its value says so" 2 "" "^stube-edn: --max-depth needs a value" -- \
  "$bin" --max-depth check good.edn
expect "stdin twice is a usage error, not two 'ok's" 2 "" "^stube-edn: '-' \(standard input\) is given more than once" -- \
  bash -c "echo 1 | '$bin' check - -"
expect "print stdin" 0 '[1 2]' '^$' -- bash -c "echo '[1,2]' | '$bin' print -"
expect "print no file means stdin" 0 '[1 2]' '^$' -- bash -c "echo '[1 , 2]' | '$bin' print"
expect "print error" 1 "" '^dup\.edn:[23]:[0-9]+: ' -- "$bin" print dup.edn
expect "a comment ends at a carriage return" 0 $'[1 2]\n3' '^$' -- \
  bash -c "printf '[1 ; one\\r 2] ; two\\r3' | '$bin' print -"
expect "a lone carriage return counts as a line" 1 "" '^<stdin>:3:1: ' -- \
  bash -c "printf '1 ; a\\r2\\r}' | '$bin' print -"
expect "usage error names the word" 2 "" "^stube-edn: unknown command 'frobnicate' \\(expected one of check, fmt, print\\)" -- \
  "$bin" frobnicate
expect "an unknown option before the command is named" 2 "" "^stube-edn: unknown option '--bogus'" -- \
  "$bin" --bogus check good.edn
expect "an option's value is not a command" 0 "good.edn: ok" '^$' -- "$bin" --max-depth 5 check good.edn
# A flag takes no value: "--help check" is help, not "--help needs a value".
for help in --help -h; do
  out=$("$bin" "$help" check good.edn 2>"$work/err")
  code=$?
  [[ $code == 0 && $out == *check* ]] ||
    fail "$help before the command: exit $code, stdout '$out', stderr '$(cat "$work/err")'"
done
expect "no subcommand" 2 "" '^stube-edn: ' -- "$bin"
expect "a width of 0 is a usage error" 2 "" '^stube-edn: .*width' -- "$bin" fmt -w 0 good.edn
expect "a negative depth is a usage error" 2 "" '^stube-edn: .*max-depth' -- "$bin" --max-depth -1 check good.edn
expect "deeper than the printer goes: a message, not an abort" 1 "" '^<stdin>: cannot print: .*1500 levels' -- \
  bash -c "{ printf '[%.0s' {1..1500}; printf ']%.0s' {1..1500}; } | '$bin' --max-depth 1500 print"
expect "max depth" 1 "" '^<stdin>:1:[0-9]+: ' -- bash -c "echo '[[[[1]]]]' | '$bin' --max-depth 3 check -"
expect "max depth after subcommand" 0 "<stdin>: ok" '^$' -- \
  bash -c "echo '[[[[1]]]]' | '$bin' check --max-depth 4 -"
expect "hostile nesting is an error, not a crash" 1 "" '^<stdin>:1:1001: nesting depth' -- \
  bash -c "head -c 200000 /dev/zero | tr '\\0' '[' | '$bin' check -"
expect "a dangling discard is an error, as in Clojure" 1 "" \
  '^<stdin>:1:3: expected a form after #_ but input ended$' -- bash -c "printf '1 #_ ;c' | '$bin' check -"
expect "a discard of a discard with one form is dangling too" 1 "" \
  '^<stdin>:1:3: expected a form after #_' -- bash -c "printf '1 #_ #_ 2' | '$bin' check -"
expect "a discarded form cut short is an error" 1 "" \
  '^<stdin>:1:8: unterminated vector' -- bash -c "printf '1 #_ [2' | '$bin' check -"
expect "top-level forms: tags, discards, chars, strings with brackets" 0 \
  $'#x/y 1\n#inst "2020-01-01T00:00:00.000-00:00"\n\\(\n"])}"\n3\n{:a/b 1}' '^$' -- \
  bash -c "printf '%s' '#x/y 1 #inst \"2020-01-01T00:00:00Z\" \\( \"])}\" #_ #_ 1 2 3 #:a{:b 1}' | '$bin' print"
expect "## and its name may stand apart, as in Clojure" 0 $'##Inf\n#foo ##-Inf\n2' '^$' -- \
  bash -c "printf '## Inf #foo ## -Inf #_ ## NaN 2' | '$bin' print"
expect "where a collection opened is said in the file's lines" 1 "" \
  '^<stdin>:3:9: unexpected .\}.: the vector opened at line 3, column 5 ends with' -- \
  bash -c "printf '{:x 1}\\n{:a 1\\n :b [1 2}' | '$bin' check -"
expect "an unterminated list is placed in the file" 1 "" \
  '^<stdin>:3:8: unterminated list \(opened at line 3, column 4\)' -- \
  bash -c "printf '1\\n2\\n[3 (4 5' | '$bin' check -"

# print is idempotent and fmt reads back to the same values.
"$bin" print one.edn >p1.edn && "$bin" print p1.edn >p2.edn || fail "print one.edn failed"
cmp -s p1.edn p2.edn || fail "print of print output differs: $(cat p1.edn) vs $(cat p2.edn)"
"$bin" fmt good.edn >f.edn && "$bin" print f.edn >pf.edn && "$bin" print good.edn >pg.edn ||
  fail "fmt/print of good.edn failed"
cmp -s pf.edn pg.edn || fail "fmt output does not read back equal: $(cat f.edn)"
[[ $("$bin" fmt --width 20 good.edn | wc -l) -gt 3 ]] || fail "fmt --width 20 did not break lines"

if ((failures > 0)); then
  echo "stube_edn_cli.sh: $failures failures" >&2
  exit 1
fi
echo "stube_edn_cli.sh: all checks passed"
