# server_bench_lib.sh — what run_server_bench.sh and run_server_configs.sh
# share. Source it after setting `build`; it sets `demo` and `load`.

demo="$build/examples/stube-demo"
load="$build/bench/server_load"
for exe in "$demo" "$load"; do
  [[ -x $exe ]] || { echo "$(basename "$0"): no $exe (build stube-demo and server_load)" >&2; exit 2; }
done

# listening_port OUT PID: the port stube-demo (process PID) announced in the
# file OUT once it accepts connections; empty if it exited or took over 10 s.
listening_port() {
  local port
  for _ in $(seq 100); do
    port=$(sed -n 's|^stube-demo listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$1")
    [[ -n $port ]] && { echo "$port"; return 0; }
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
}

# get LINE KEY: the value of KEY in a server_load "key=value ..." line.
get() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
