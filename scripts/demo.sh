#!/usr/bin/env bash
# demo.sh [STEP] - the classroom demo (`make demo`, `make demo STEP=N`):
# a narrated, scripted run of the reference solution of one step. Needs
# only cc and make. Exits 0 only if every stage behaved as expected, so it
# doubles as an end-to-end test. Colour on a terminal, none when piped or
# with NO_COLOR set.
set -u
cd "$(dirname "$0")/.." || exit 1
step=${1:-1}

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B= G= R= D= N=
fi
failures=0
say()   { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note()  { printf '%s%s%s\n' "$D" "$*" "$N"; }
check() {	# check DESCRIPTION COMMAND...: run a check, print ✓ or ✗
	local what=$1
	shift
	if "$@"; then
		printf '  %s✓%s %s\n' "$G" "$N" "$what"
	else
		printf '  %s✗ %s%s\n' "$R" "$what" "$N"
		failures=$((failures + 1))
	fi
}

# wait_line FILE ERE: wait (at most 5 s) for a line of FILE matching ERE.
wait_line() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"; rm -f "/dev/shm$shm" 2>/dev/null' EXIT
shm="/osps-demo-$$"

demo_step1() {
	local bin=build/solution/step1_shm
	say "Step 1: d and w share memory, without synchronisation"
	make --no-print-directory step1 IMPL=solution >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }

	say "d creates the segment, starts w, waits, and reads w's answer"
	note "\$ d -m $shm -t 200"
	"$bin/d" -m "$shm" -t 200 >"$tmp/out" 2>"$tmp/log"
	local rc=$?
	sed 's/^/    /' "$tmp/log"
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "d exited 0" test "$rc" -eq 0
	check "w's answer came back through the segment" grep -q '^d read: w\[[0-9]*\] done: request 1' "$tmp/out"
	check "w was reaped" grep -q 'reaped name=w .*exited with code 0' "$tmp/log"
	check "the segment is gone from /dev/shm" test ! -e "/dev/shm$shm"

	say "Race mode: d and w each add 1 to one counter 10 million times"
	note "\$ d -R -m $shm"
	"$bin/d" -R -m "$shm" >"$tmp/out" 2>"$tmp/log"
	rc=$?
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "d exited 0" test "$rc" -eq 0
	check "expected = actual + lost" awk '/^race:/ { gsub(/,/, ""); exit !($3 == $5 + $7) }' "$tmp/out"
	note "Lost updates: two processes loaded the same value, both stored value+1."
	note "Step 2 synchronises d and w with named pipes; the answers explain atomics."
}

# demo_step2: ping/pong over two FIFOs, the turn that synchronises d and w.
demo_step2() {
	local bin=build/solution/step2_fifo run="$tmp/run" d w rc
	say "Step 2: d and w take turns, over the named pipes dwtube1 and wdtube1"
	make --no-print-directory step2 IMPL=solution >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }

	say "Three rounds of ping/pong; w takes 100 ms per request"
	note "\$ d -n 3 -t 100 -r $run -m $shm"
	"$bin/d" -n 3 -t 100 -r "$run" -m "$shm" >"$tmp/out" 2>"$tmp/log"
	rc=$?
	sed 's/^/    /' "$tmp/log"
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "d exited 0" test "$rc" -eq 0
	check "3 answers, each for its own request" \
		test "$(grep -Ec 'recv msg=pong n=([123]) answer="w\[[0-9]+\] done: request \1 ' "$tmp/log")" -eq 3
	check "w stopped on end of file and was reaped" grep -q 'reaped name=w .*exited with code 0' "$tmp/log"
	check "FIFOs and segment removed" test -z "$(ls -A "$run")" -a ! -e "/dev/shm$shm"

	say "Step 1's race, in turns: the same 20 million increments"
	note "\$ d -R -r $run -m $shm"
	"$bin/d" -R -r "$run" -m "$shm" >"$tmp/out" 2>/dev/null
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "no update lost" grep -q ', lost 0 updates' "$tmp/out"

	say "A zombie (2.b): w has exited, d waits 3 s before reaping it"
	note "\$ d -n 2 -Z 3000 -r $run -m $shm &"
	"$bin/d" -n 2 -Z 3000 -r "$run" -m "$shm" >/dev/null 2>"$tmp/log" &
	d=$!
	wait_line "$tmp/log" ' zombie name=w '
	note "\$ ps -o pid,stat,comm --ppid $d"
	ps -o pid,stat,comm --ppid "$d" | sed 's/^/    /'
	check "ps shows w as a zombie (Z)" test -n "$(ps -o stat= --ppid "$d" | grep Z)"
	wait "$d"
	check "then d reaped it and exited 0" test "$?" -eq 0

	say "w killed mid-run: d notices, names the signal, cleans up, exits 1"
	"$bin/d" -n 1000000 -t 50 -r "$run" -m "$shm" >/dev/null 2>"$tmp/log" &
	d=$!
	wait_line "$tmp/log" 'recv msg=pong n=2 '
	w=$(sed -nE 's/.* started name=w pid=([0-9]+).*/\1/p' "$tmp/log")
	note "\$ kill -KILL $w"
	kill -KILL "$w"
	wait "$d"
	rc=$?
	grep -Ev ' (send|recv) msg=' "$tmp/log" | sed 's/^/    /'
	check "d exited 1, naming SIGKILL" test "$rc" -eq 1 -a -n "$(grep 'killed by SIGKILL' "$tmp/log")"
	check "nothing left behind" test -z "$(ls -A "$run")" -a ! -e "/dev/shm$shm"
	note "Questions 2.a and 2.b: step2_fifo/README.md; answers: solutions/step2_fifo/ANSWERS.md."
}

# demo_step3: the watchdog at work, narrated from its log.
demo_step3() {
	local bin=build/solution/step3_watchdog run="$tmp/run" log="$tmp/wd.log"
	local wd w1 w1b d db rc i
	say "Step 3: a watchdog that detects frozen servers and restarts them"
	make --no-print-directory step3 IMPL=solution >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
	# wait_for ERE: wait (at most 5 s) for a line of the log.
	wait_for() {
		for ((i = 0; i < 100; i++)); do
			grep -Eq -- "$1" "$log" && return 0
			sleep 0.05
		done
		return 1
	}
	pid_up() { sed -nE "s/.* up name=$1 pid=([0-9]+) .*/\1/p" "$log" | tail -n1; }
	shown=0
	show() {	# print the log lines not shown yet, heartbeats and pongs aside
		tail -n "+$((shown + 1))" "$log" | grep -Ev ' (heartbeat|recv msg=pong) ' | sed 's/^/    /'
		shown=$(wc -l <"$log")
	}

	say "The watchdog starts d, d starts w1 and w2; heartbeats every 200 ms"
	note "\$ watchdog -w 2 -P 200 -T 600 -m $shm -r $run"
	setsid "$bin/watchdog" -w 2 -P 200 -T 600 -m "$shm" -r "$run" </dev/null 2>"$log" &
	wd=$!
	wait_for ' watchdog\[[0-9]+\] ready '
	check "every server is up" wait_for ' watchdog\[[0-9]+\] ready servers=3'
	wait_for ' heartbeat name=w2 '
	show
	note "(heartbeat lines hidden: each server answers SIGUSR1 with SIGUSR2 from its main loop)"

	say "w1 freezes (SIGSTOP): no reply within T, SIGKILL, d restarts it alone"
	w1=$(pid_up w1)
	note "\$ kill -STOP $w1"
	kill -STOP "$w1"
	check "w1 killed for a missed heartbeat" wait_for " kill name=w1 pid=$w1 .*reason=heartbeat-miss"
	check "d restarted w1 with a new pid" wait_for " restart name=w1 old=$w1 new="
	wait_for " up name=w1 pid=[0-9]+ " && sleep 0.1
	show

	say "d dies (SIGKILL): its w's go with it, the watchdog restarts d, d restarts them"
	d=$(pid_up d)
	note "\$ kill -KILL $d"
	kill -KILL "$d"
	check "d restarted" wait_for " restart name=d old=$d new="
	db=$(sed -nE "s/.* restart name=d old=$d new=([0-9]+).*/\1/p" "$log")
	check "both w's restarted by the new d" wait_for " d\[$db\] started name=w2 "
	wait_for ' ready servers=3' && sleep 0.3
	show

	say "Clean stop (SIGTERM; Enter or Ctrl-C on a terminal do the same)"
	kill -TERM "$wd"
	wait "$wd"
	rc=$?
	show
	check "the watchdog exited 0" test "$rc" -eq 0
	check "no FIFO left in the run directory" test -z "$(ls -A "$run")"
	check "no segment left in /dev/shm" test ! -e "/dev/shm$shm"

	say "A crash loop: w2 fails at every start; backoff, then the tree gives up"
	note "\$ watchdog -f w2:exit -R 3"
	shown=0
	"$bin/watchdog" -w 2 -f w2:exit -R 3 -b 50 -m "$shm" -r "$run" </dev/null 2>"$log"
	rc=$?
	show
	check "the watchdog exited 1 with a clear message" test "$rc" -eq 1
	check "nothing left behind" test -z "$(ls -A "$run")"
	note "Questions 3.a-3.c: step3_watchdog/README.md; answers: solutions/step3_watchdog/ANSWERS.md."
}

case $step in
1) demo_step1 ;;
2) demo_step2 ;;
3) demo_step3 ;;
*) echo "demo: no demo for step $step yet (steps with a demo: 1 2 3)" >&2; exit 2 ;;
esac

say "Result"
if ((failures == 0)); then
	printf '%sEvery stage behaved as expected.%s\n' "$G" "$N"
else
	printf '%s%d check(s) failed.%s\n' "$R" "$failures" "$N"
	exit 1
fi
