#!/usr/bin/env bash
# bench/step4.sh - step 4's speed against raw loopback TCP, in one run.
#
# usage: bench/step4.sh [-n REQUESTS] [-c CONCURRENCY] [-w WORKERS] [-r ROUNDS] [-b BUILD_DIR]
#
# Measures the reference (built into build/solution/step4_client unless
# -b says where the programs are) with a processing time of 0 ms, 4 w's
# and 50 concurrent clients: requests/s and p50/p99 latency with a fresh d
# connection per request, and with reused d connections. Beside it, in the
# same run, bench/baselines/tcp_rr.c: connect, one request line, one answer
# line, close, at the same concurrency. The runs are interleaved (baseline,
# fresh, reuse, baseline, ...) and the median of the rounds is reported,
# so that a busy machine affects all the figures alike. Then 1,000
# concurrent clients, which must all succeed.
#
# Target (issue 5): fresh-connection requests/s >= 0.35 x the baseline's
# connections/s (each request costs two connections: to d, then to the w).
# Exit status: 0 when every request succeeded and the target is met.
set -u
cd "$(dirname "$0")/.." || exit 1
n=20000 c=50 workers=4 rounds=3 bin=build/solution/step4_client
while getopts "n:c:w:r:b:h" o; do
	case $o in
	n) n=$OPTARG ;; c) c=$OPTARG ;; w) workers=$OPTARG ;; r) rounds=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) sed -n '2,20p' "$0"; [[ $o == h ]] && exit 0; exit 2 ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-bench.XXXXXX") || exit 1
wd_pid=
cleanup() {
	if [[ -n $wd_pid ]]; then
		kill -TERM "$wd_pid" 2>/dev/null
		wait "$wd_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ $bin == build/solution/step4_client ]]; then
	make --no-print-directory -s -f mk/step.mk STEP=step4_client \
		SRC=solutions/step4_client/src OUT="$bin" all >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
fi
make --no-print-directory -s -f mk/step.mk STEP=bench SRC=bench/baselines \
	OUT=build/bench all >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }

# The system under test: watchdog, d, 4 w's, no processing time, no log
# line per request (-Q), a queue long enough for 1,000 clients.
mkdir -m 700 "$tmp/run"
"$bin/watchdog" -p 0 -r "$tmp/run" -w "$workers" -t 0 -Q -q 4096 \
	</dev/null 2>"$tmp/system.log" &
wd_pid=$!
for ((i = 0; i < 100; i++)); do
	port=$(sed -nE 's/.* d\[[0-9]+\] ready port=([0-9]+).*/\1/p' "$tmp/system.log")
	[[ -n $port ]] && break
	sleep 0.05
done
[[ -n $port ]] || { echo "bench: the system did not start:"; cat "$tmp/system.log"; exit 1; }

# field FILE KEY: the number after "KEY=" in FILE (the client's report);
# for the baseline's summary line (common/rtt.h), the rate and the
# percentiles converted to ms.
field() {
	case $2 in
	conn_per_s) sed -nE 's/.* ([0-9.]+) round trips\/s.*/\1/p' "$1" ;;
	base_p50) sed -nE 's/.* p50 ([0-9.]+) us.*/\1/p' "$1" | awk '{ printf "%.3f\n", $1 / 1000 }' ;;
	base_p99) sed -nE 's/.* p99 ([0-9.]+) us.*/\1/p' "$1" | awk '{ printf "%.3f\n", $1 / 1000 }' ;;
	*) sed -nE "s/.*[ :]$2=([0-9.]+).*/\1/p" "$1" | head -1 ;;
	esac
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "step 4 benchmark: $n requests, concurrency $c, $workers w's, 0 ms processing, $rounds rounds"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
fail=0
for ((r = 1; r <= rounds; r++)); do
	build/bench/tcp_rr -n "$n" -c "$c" >"$tmp/base.$r" || fail=1
	"$bin/client" -p "$port" -n "$n" -c "$c" requetetype1 >"$tmp/fresh.$r" || fail=1
	"$bin/client" -p "$port" -n "$n" -c "$c" -k requetetype1 >"$tmp/reuse.$r" || fail=1
done
for kind in base fresh reuse; do
	key=req_per_s
	[[ $kind == base ]] && key=conn_per_s
	for r in $(seq "$rounds"); do field "$tmp/$kind.$r" "$key"; done | median >"$tmp/$kind.rate"
	for q in p50 p99; do
		key=$q
		[[ $kind == base ]] && key=base_$q
		for r in $(seq "$rounds"); do field "$tmp/$kind.$r" "$key"; done | median >"$tmp/$kind.$q"
	done
done
printf '%-34s %12s %10s %10s\n' "" "per second" "p50 ms" "p99 ms"
printf '%-34s %12s %10s %10s\n' "raw TCP baseline (connections)" "$(cat "$tmp/base.rate")" \
	"$(cat "$tmp/base.p50")" "$(cat "$tmp/base.p99")"
printf '%-34s %12s %10s %10s\n' "step 4, fresh d connection (req)" "$(cat "$tmp/fresh.rate")" \
	"$(cat "$tmp/fresh.p50")" "$(cat "$tmp/fresh.p99")"
printf '%-34s %12s %10s %10s\n' "step 4, reused d connection (req)" "$(cat "$tmp/reuse.rate")" \
	"$(cat "$tmp/reuse.p50")" "$(cat "$tmp/reuse.p99")"
ratio=$(awk -v a="$(cat "$tmp/fresh.rate")" -v b="$(cat "$tmp/base.rate")" 'BEGIN { printf "%.2f", a / b }')
echo "fresh / baseline = $ratio (target >= 0.35)"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.35) }' || fail=1

echo "1,000 concurrent clients, 5,000 requests:"
"$bin/client" -p "$port" -n 5000 -c 1000 requetetype1 >"$tmp/thousand" || fail=1
sed 's/^/  /' "$tmp/thousand"
for kind in fresh reuse; do
	grep -h '^result:' "$tmp/$kind".* | awk '$4 != "errors=0" { bad = 1 } END { exit bad }' ||
		{ echo "bench: some $kind requests failed:"; grep -h '^outcomes:' "$tmp/$kind".*; fail=1; }
done
((fail)) && echo "bench: FAILED (see above)" || echo "bench: ok"
exit "$fail"
