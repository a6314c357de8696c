#!/usr/bin/env bash
# demo.sh [STEP] - the classroom demo (`make demo`, `make demo STEP=N`):
# a narrated, scripted run of the reference solution of one step (with
# DEMO_IMPL=learner, of the learner's own build: the students' handout,
# which has no reference, runs it so). Needs
# only cc and make. Exits 0 only if every stage behaved as expected, so it
# doubles as an end-to-end test. Colour on a terminal, none when piped or
# with NO_COLOR set.
set -u
cd "$(dirname "$0")/.." || exit 1
step=${1:-1}
impl=${DEMO_IMPL:-solution}
builds=build/solution
[[ $impl == learner ]] && builds=build

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
shm="/osps-demo-$$"
# Sessions the demo started (their leaders' pids): on any exit, even an
# interrupted one, they are killed whole, so nothing is left running.
sessions=()
cleanup() {
	local sid
	for sid in "${sessions[@]}"; do
		kill -KILL -- "-$sid" 2>/dev/null
	done
	rm -rf "$tmp"
	rm -f "/dev/shm$shm" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

demo_step1() {
	local bin=$builds/step1_shm
	say "Step 1: d and w share memory, without synchronisation"
	make --no-print-directory step1 IMPL=$impl >"$tmp/build.log" 2>&1 ||
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
	local bin=$builds/step2_fifo run="$tmp/run" d w rc
	say "Step 2: d and w take turns, over the named pipes dwtube1 and wdtube1"
	make --no-print-directory step2 IMPL=$impl >"$tmp/build.log" 2>&1 ||
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
	local bin=$builds/step3_watchdog run="$tmp/run" log="$tmp/wd.log"
	local wd w1 w1b d db rc i
	say "Step 3: a watchdog that detects frozen servers and restarts them"
	make --no-print-directory step3 IMPL=$impl >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
	wait_for() { wait_line "$log" "$1"; }	# a line of the watchdog's log
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
	sessions+=("$wd")
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

# demo_step4: the full system, narrated: the tree, both kinds of request,
# a frozen w, a frozen d, a load burst, a clean stop.
demo_step4() {
	local bin=$builds/step4_client run="$tmp/run" log="$tmp/sys.log"
	local wd port w1 hang_t kill_t d rc out
	say "Step 4: the whole system: watchdog, d, w1..w3, and TCP clients"
	make --no-print-directory step4 IMPL=$impl >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
	wait_for() { wait_line "$log" "$1"; }
	shown=0
	hide=' (heartbeat|recv msg=pong) '
	show() {	# the log lines not shown yet, those matching $hide aside
		tail -n "+$((shown + 1))" "$log" | grep -Ev "$hide" | sed 's/^/    /'
		shown=$(wc -l <"$log")
	}

	say "The tree starts: the watchdog starts d, d starts w1, w2, w3"
	note "\$ watchdog -p 0 -w 3 -t 50 -P 200 -T 600     (-p 0: any free port)"
	setsid "$bin/watchdog" -p 0 -w 3 -t 50 -P 200 -T 600 \
		-m "$shm" -r "$run" </dev/null 2>"$log" &
	wd=$!
	sessions+=("$wd")
	check "every server is up" wait_for ' watchdog\[[0-9]+\] ready servers=4'
	port=$(sed -nE 's/.* watchdog\[[0-9]+\] ready .*port=([0-9]+).*/\1/p' "$log" | head -n1)
	show
	note "The process tree (one session, the watchdog its leader):"
	ps -o pid=,ppid=,pgid=,stat=,comm= -s "$wd" |
		awk '{ printf "    pid %-7s ppid %-7s pgid %-7s %-5s %s\n", $1, $2, $3, $4, $5 }'
	check "5 processes in the tree: watchdog, d, w1..w3" \
		test "$(ps -o comm= -s "$wd" | grep -cE '^(watchdog|d|w)$')" -eq 5

	say "A client: requetetype1 (w processes, answers), then requetetype2 (echo)"
	note "\$ printf 'bonjour\\nau revoir\\n' | client -p $port -i requetetype1 requetetype2"
	out=$(printf 'bonjour\nau revoir\n' | "$bin/client" -p "$port" -i requetetype1 requetetype2 2>&1)
	rc=$?
	sed 's/^/    /' <<<"$out"
	check "the client exited 0" test "$rc" -eq 0
	check "the echo came back through the w" grep -q 'au revoir' <<<"$out"
	show

	say "w1 freezes (SIGSTOP): no reply within T, SIGKILL, d restarts it alone"
	w1=$(sed -nE 's/.* watchdog\[[0-9]+\] up name=w1 pid=([0-9]+).*/\1/p' "$log" | tail -n1)
	wait_for " heartbeat name=w1 pid=$w1 "
	note "\$ kill -STOP $w1"
	kill -STOP "$w1"
	check "the watchdog killed w1 for a missed heartbeat" wait_for " kill name=w1 pid=$w1 .*reason=heartbeat-miss"
	check "d restarted w1 with a new pid" wait_for " restart name=w1 old=$w1 new=[0-9]+"
	wait_for ' w-ready name=w1 .*' && sleep 0.2
	show
	# w1 froze after its last answer: the time from that answer to the
	# SIGKILL bounds the detection time from above.
	last_t=$(awk -v p="$w1" '$0 ~ " heartbeat name=w1 pid=" p " " { t = $1 } END { print t }' "$log")
	kill_t=$(awk '/ kill name=w1 .*reason=heartbeat-miss/ { print $1; exit }' "$log")
	note "Detection: SIGKILL $(awk -v a="$last_t" -v b="$kill_t" 'BEGIN { printf "%d ms", (b - a) * 1000 }') after w1's last answer (bound: P + T = 800 ms)"
	check "detected within P + T + 100 ms" awk -v a="$last_t" -v b="$kill_t" 'BEGIN { exit !(b - a <= 0.9) }'

	say "d freezes (SIGSTOP): the watchdog kills d's whole group, restarts d, which restarts every w"
	d=$(sed -nE 's/.* watchdog\[[0-9]+\] started name=d pid=([0-9]+).*/\1/p' "$log" | tail -n1)
	note "\$ kill -STOP $d"
	kill -STOP "$d"
	check "d killed for a missed heartbeat" wait_for " kill name=d pid=$d .*heartbeat-miss"
	check "d restarted" wait_for " restart name=d old=$d new="
	check "the new d's w's are all ready" wait_for ' watchdog\[[0-9]+\] ready servers=4.*' 
	sleep 0.3
	show

	say "A short load burst: 150 requests, 15 at a time, fresh connections"
	note "\$ client -p $port -n 150 -c 15"
	out=$("$bin/client" -p "$port" -n 150 -c 15 2>&1)
	rc=$?
	sed 's/^/    /' <<<"$out"
	check "every request succeeded" test "$rc" -eq 0
	hide=' (heartbeat|recv msg=pong|connect|disconnect|queued|handover|job|serving|debut|fin) '
	show >/dev/null	# 150 requests' worth of lines: see them in build/demo/demo.log

	say "Clean stop: SIGTERM to the watchdog (Enter or Ctrl-C on its terminal do the same)"
	kill -TERM "$wd"
	wait "$wd"
	rc=$?
	show
	check "the watchdog exited 0" test "$rc" -eq 0
	local left zombies
	left=$(ps -o pid= -s "$wd" | wc -l)
	zombies=$(ps -eo stat=,sid= | awk -v s="$wd" '$2 == s && $1 ~ /^Z/' | wc -l)
	check "no process of the tree left (0 orphans)" test "$left" -eq 0
	check "0 zombies" test "$zombies" -eq 0
	check "run directory clean" test -z "$(ls -A "$run" 2>/dev/null)"
	check "no segment left in /dev/shm" test ! -e "/dev/shm$shm"
	printf '    %s%d zombies, %d orphans, run directory clean%s\n' "$B" "$zombies" "$left" "$N"
	note "The protocol: step4_client/PROTOCOL.md; a picture of this run: make timeline LOG=build/demo/demo.log"
	mkdir -p build/demo && cp "$log" build/demo/demo.log
}

case $step in
1) demo_step1 ;;
2) demo_step2 ;;
3) demo_step3 ;;
4) demo_step4 ;;
*) echo "demo: no demo for step $step (steps: 1 to 4)" >&2; exit 2 ;;
esac

say "Result"
if ((failures == 0)); then
	printf '%sEvery stage behaved as expected.%s\n' "$G" "$N"
else
	printf '%s%d check(s) failed.%s\n' "$R" "$failures" "$N"
	exit 1
fi
