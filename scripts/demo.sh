#!/usr/bin/env bash
# demo.sh [STEP] - the classroom demo (`make demo`, `make demo STEP=N`):
# a narrated, scripted run of the reference solution of one step (with
# DEMO_IMPL=learner, of the learner's own build: the students' handout,
# which has no reference, runs it so). Needs
# only cc and make. Exits 0 only if every stage behaved as expected, so it
# doubles as an end-to-end test. Colour on a terminal, none when piped or
# with NO_COLOR set. On a terminal it waits for Enter between stages (q
# stops); PAUSE=0, or stdin or stdout not a terminal: no pause.
set -u
cd "$(dirname "$0")/.." || exit 1
step=${1:-1}
impl=${DEMO_IMPL:-solution}
builds=build/solution
[[ $impl == learner ]] && builds=build

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B= G= R= N=
fi
# Pauses between stages: only when a person is watching (stdin and stdout
# on a terminal) and PAUSE is not 0. Piped (make test), it never waits.
paused=0
[[ -t 0 && -t 1 && ${PAUSE:-1} != 0 ]] && paused=1
failures=0 stages=0
say()   { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
# stage TITLE: a new stage; on a terminal, wait for Enter first (q stops).
stage() {
	local key
	if ((paused && stages > 0)); then
		printf '%s-- Enter: next stage, q: stop --%s' "$B" "$N"
		IFS= read -rsn1 key || key=q
		printf '\r\e[K'
		if [[ $key == [qQ] ]]; then
			echo "Demo stopped."
			exit 0
		fi
	fi
	stages=$((stages + 1))
	say "$@"
}
note()  { printf '%s\n' "$*" | fit 0; }
cmd()   { printf '%s$ %s%s\n' "$B" "$*" "$N"; }	# a command, as typed
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
# fit INDENT: print stdin indented, the demo's temporary paths shortened
# ($RUN, $TMP), log times counted from $T0 (when set), and every line
# folded to 80 columns (continuations indented 6 more), so nothing wraps
# on a projector.
fit() {
	sed -e "s|$tmp/run|\$RUN|g" -e "s|$tmp|\$TMP|g" |
		awk -v ind="$(printf '%*s' "$1" '')" -v W=80 -v t0="${T0:-}" '{
			if (t0 != "" && match($0, /^[0-9]+\.[0-9]+ /))
				$0 = sprintf("%.3f", substr($0, 1, RLENGTH - 1) - t0) substr($0, RLENGTH)
			line = ind $0
			while (length(line) > W) {
				cut = W + 1
				while (cut > length(ind) + 20 && substr(line, cut, 1) != " ")
					cut--
				if (cut <= length(ind) + 20)
					cut = W + 1
				print substr(line, 1, cut - 1)
				line = ind "      " substr(line, cut + (substr(line, cut, 1) == " "))
			}
			print line
		}'
}

# t0_of FILE: the time of FILE's first log line (times shown count from it).
t0_of() { awk '/^[0-9]+\.[0-9]+ / { print $1; exit }' "$1"; }

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

# build STEP_DIR: build one step (the reference, or the learner's) (its log only on failure).
build() {
	make --no-print-directory "$1" IMPL=$impl >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
}

demo_step1() {
	local bin=$builds/step1_shm rc lost
	say "Step 1: d and w share memory, without synchronisation"
	build step1

	stage "d creates the segment, starts w, waits, and reads w's answer"
	note "(log times: seconds since the program started)"
	cmd "d -m $shm -t 200"
	"$bin/d" -m "$shm" -t 200 >"$tmp/out" 2>"$tmp/log"
	rc=$?
	T0=$(t0_of "$tmp/log")
	fit 4 <"$tmp/log"
	printf '%s' "$B"; fit 4 <"$tmp/out"; printf '%s' "$N"
	check "d exited 0" test "$rc" -eq 0
	check "w's answer came back through the segment" grep -q '^d read: w\[[0-9]*\] done: request 1' "$tmp/out"
	check "w was reaped" grep -q 'reaped name=w .*exited with code 0' "$tmp/log"
	check "the segment is gone from /dev/shm" test ! -e "/dev/shm$shm"

	stage "Race mode: d and w each add 1 to one counter, 200 million times"
	# 200 million: about 0.1 s of work each, so that w (started by
	# fork+exec) is still counting when d counts, even on a busy machine.
	# The default (10 million) often ends before the other one has begun.
	for _ in 1 2 3; do
		cmd "d -R -n 200000000 -m $shm"
		"$bin/d" -R -n 200000000 -m "$shm" >"$tmp/out" 2>"$tmp/log"
		rc=$?
		printf '%s' "$B"; fit 4 <"$tmp/out"; printf '%s' "$N"
		lost=$(awk '/^race:/ { gsub(/,/, ""); print $7 }' "$tmp/out")
		((rc == 0 && ${lost:-0} == 0)) || break
		note "No overlap this time: w started after d had finished. Again:"
	done
	check "d exited 0" test "$rc" -eq 0
	check "expected = actual + lost" awk '/^race:/ { gsub(/,/, ""); exit !($3 == $5 + $7) }' "$tmp/out"
	check "updates were lost: ${lost:-0} of 400000000" test "${lost:-0}" -gt 0
	note "Why: counter++ is three steps: load the value, add 1, store it. When"
	note "d and w load the same value, both store value+1: one increment is"
	note "lost. Here it happened $lost times. Step 2 makes d and w take turns."
}

# demo_step2: ping/pong over two FIFOs, the turn that synchronises d and w.
demo_step2() {
	local bin=$builds/step2_fifo run="$tmp/run" d w rc
	say "Step 2: d and w take turns, over the named pipes dwtube1 and wdtube1"
	build step2
	note "(\$RUN: the run directory, a fresh temporary directory; log times:"
	note " seconds since the program started)"

	stage "Three rounds of ping/pong; w takes 100 ms per request"
	cmd "d -n 3 -t 100 -r \$RUN -m $shm"
	"$bin/d" -n 3 -t 100 -r "$run" -m "$shm" >"$tmp/out" 2>"$tmp/log"
	rc=$?
	T0=$(t0_of "$tmp/log")
	fit 4 <"$tmp/log"
	printf '%s' "$B"; fit 4 <"$tmp/out"; printf '%s' "$N"
	check "d exited 0" test "$rc" -eq 0
	check "3 answers, each for its own request" \
		test "$(grep -Ec 'recv msg=pong n=([123]) answer="w\[[0-9]+\] done: request \1 ' "$tmp/log")" -eq 3
	check "w stopped on end of file and was reaped" grep -q 'reaped name=w .*exited with code 0' "$tmp/log"
	check "FIFOs and segment removed" test -z "$(ls -A "$run")" -a ! -e "/dev/shm$shm"

	stage "Step 1's race, in turns (race.c): 20 million increments"
	cmd "race -m $shm"
	"$bin/race" -m "$shm" >"$tmp/out" 2>/dev/null
	printf '%s' "$B"; fit 4 <"$tmp/out"; printf '%s' "$N"
	check "no update lost" grep -q ', lost 0 updates' "$tmp/out"

	stage "A zombie (2.b, zombie.c): its child has exited, it waits 3 s to reap it"
	cmd "zombie -t 3000 &"
	"$bin/zombie" -t 3000 >/dev/null 2>"$tmp/log" &
	d=$!
	wait_line "$tmp/log" ' zombie name=child '
	cmd "ps -o pid,stat,comm --ppid $d"
	ps -o pid,stat,comm --ppid "$d" | fit 4
	check "ps shows the child as a zombie (Z)" test -n "$(ps -o stat= --ppid "$d" | grep Z)"
	wait "$d"
	check "then it reaped it and exited 0" test "$?" -eq 0

	stage "w killed mid-run: d notices, names the signal, cleans up, exits 1"
	"$bin/d" -n 1000000 -t 50 -r "$run" -m "$shm" >/dev/null 2>"$tmp/log" &
	d=$!
	wait_line "$tmp/log" 'recv msg=pong n=2 '
	w=$(sed -nE 's/.* started name=w pid=([0-9]+).*/\1/p' "$tmp/log")
	cmd "kill -KILL $w"
	kill -KILL "$w"
	wait "$d"
	rc=$?
	T0=$(t0_of "$tmp/log")
	grep -Ev ' (send|recv) msg=' "$tmp/log" | fit 4
	check "d exited 1, naming SIGKILL" test "$rc" -eq 1 -a -n "$(grep 'killed by SIGKILL' "$tmp/log")"
	check "nothing left behind" test -z "$(ls -A "$run")" -a ! -e "/dev/shm$shm"
	note "Questions 2.a and 2.b: step2_fifo/README.md."
}

# show: print the lines of $log not shown yet, those matching $hide aside.
show() {
	tail -n "+$((shown + 1))" "$log" | grep -Ev "$hide" | fit 4
	shown=$(wc -l <"$log")
}
wait_for() { wait_line "$log" "$1"; }	# a line of the system's log

# demo_step3: the watchdog at work, narrated from its log.
demo_step3() {
	local bin=$builds/step3_watchdog run="$tmp/run" log="$tmp/wd.log"
	local wd w1 d db rc
	local shown=0 hide=' (heartbeat|recv msg=pong) '
	pid_up() { sed -nE "s/.* up name=$1 pid=([0-9]+) .*/\1/p" "$log" | tail -n1; }
	say "Step 3: a watchdog that detects frozen servers and restarts them"
	build step3
	note "(\$RUN: the run directory, a fresh temporary directory; log times:"
	note " seconds since the program started)"

	stage "The watchdog starts d, d starts w1 and w2; heartbeats every 200 ms"
	cmd "watchdog -w 2 -P 200 -T 600 -m $shm -r \$RUN"
	setsid "$bin/watchdog" -w 2 -P 200 -T 600 -m "$shm" -r "$run" </dev/null 2>"$log" &
	wd=$!
	sessions+=("$wd")
	wait_for ' watchdog\[[0-9]+\] ready servers=3' && wait_for ' heartbeat name=w2 '
	T0=$(t0_of "$log")
	show
	check "every server is up" wait_for ' watchdog\[[0-9]+\] ready servers=3'
	note "(heartbeat lines hidden: each server answers SIGUSR1 with SIGUSR2"
	note " from its main loop)"

	stage "w1 freezes (SIGSTOP): no reply within T, SIGKILL, d restarts it"
	w1=$(pid_up w1)
	cmd "kill -STOP $w1"
	kill -STOP "$w1"
	wait_for " restart name=w1 old=$w1 new=" && wait_for " up name=w1 pid=[0-9]+ " && sleep 0.1
	show
	check "w1 killed for a missed heartbeat" wait_for " kill name=w1 pid=$w1 .*reason=heartbeat-miss"
	check "d restarted w1 with a new pid" wait_for " restart name=w1 old=$w1 new="

	stage "d dies (SIGKILL): its w's go with it; the watchdog restarts d"
	d=$(pid_up d)
	cmd "kill -KILL $d"
	kill -KILL "$d"
	wait_for " restart name=d old=$d new="
	db=$(sed -nE "s/.* restart name=d old=$d new=([0-9]+).*/\1/p" "$log")
	wait_for " d\[$db\] started name=w2 " && wait_for ' ready servers=3' && sleep 0.3
	show
	check "d restarted" wait_for " restart name=d old=$d new="
	check "both w's restarted by the new d" wait_for " d\[$db\] started name=w2 "

	stage "Clean stop (SIGTERM; Enter or Ctrl-C on a terminal do the same)"
	cmd "kill -TERM $wd"
	kill -TERM "$wd"
	wait "$wd"
	rc=$?
	show
	check "the watchdog exited 0" test "$rc" -eq 0
	check "no FIFO left in the run directory" test -z "$(ls -A "$run")"
	check "no segment left in /dev/shm" test ! -e "/dev/shm$shm"

	stage "A crash loop: w2 fails at every start; backoff, then give up"
	cmd "watchdog -w 2 -f w2:exit -R 3 -b 50"
	shown=0
	"$bin/watchdog" -w 2 -f w2:exit -R 3 -b 50 -m "$shm" -r "$run" </dev/null 2>"$log"
	rc=$?
	T0=$(t0_of "$log")
	show
	check "the watchdog exited 1 with a clear message" test "$rc" -eq 1
	check "nothing left behind" test -z "$(ls -A "$run")"
	note "Questions 3.a-3.c: step3_watchdog/README.md."
}

# demo_step4: the full system, narrated: the tree, both kinds of request,
# a frozen w, a frozen d, a load burst, a clean stop.
demo_step4() {
	local bin=$builds/step4_client run="$tmp/run" log="$tmp/sys.log"
	local wd port w1 last_t kill_t d db rc out left zombies
	local shown=0 hide=' (heartbeat|recv msg=pong) '
	say "Step 4: the whole system: watchdog, d, w1..w3, and TCP clients"
	build step4
	note "(\$RUN: the run directory, a fresh temporary directory; log times:"
	note " seconds since the program started)"

	stage "The tree starts: the watchdog starts d, d starts w1, w2, w3"
	cmd "watchdog -p 0 -w 3 -t 50 -P 200 -T 600     (-p 0: any free port)"
	setsid "$bin/watchdog" -p 0 -w 3 -t 50 -P 200 -T 600 \
		-m "$shm" -r "$run" </dev/null 2>"$log" &
	wd=$!
	sessions+=("$wd")
	wait_for ' watchdog\[[0-9]+\] ready servers=4'
	port=$(sed -nE 's/.* watchdog\[[0-9]+\] ready .*port=([0-9]+).*/\1/p' "$log" | head -n1)
	T0=$(t0_of "$log")
	show
	check "every server is up" wait_for ' watchdog\[[0-9]+\] ready servers=4'
	note "The process tree (one session, the watchdog its leader):"
	ps -o pid=,ppid=,pgid=,stat=,comm= -s "$wd" |
		awk '{ printf "    pid %-7s ppid %-7s pgid %-7s %-5s %s\n", $1, $2, $3, $4, $5 }'
	check "5 processes in the tree: watchdog, d, w1..w3" \
		test "$(ps -o comm= -s "$wd" | grep -cE '^(watchdog|d|w)$')" -eq 5

	stage "A client: requetetype1 (w works, answers), requetetype2 (echo)"
	cmd "printf 'bonjour\\nau revoir\\n' |"
	cmd "  client -p $port -i requetetype1 requetetype2"
	out=$(printf 'bonjour\nau revoir\n' | "$bin/client" -p "$port" -i requetetype1 requetetype2 2>&1)
	rc=$?
	fit 4 <<<"$out"
	show
	check "the client exited 0" test "$rc" -eq 0
	check "the echo came back through the w" grep -q 'au revoir' <<<"$out"

	stage "w1 freezes (SIGSTOP): no reply within T, SIGKILL, d restarts it"
	w1=$(sed -nE 's/.* watchdog\[[0-9]+\] up name=w1 pid=([0-9]+).*/\1/p' "$log" | tail -n1)
	wait_for " heartbeat name=w1 pid=$w1 "
	cmd "kill -STOP $w1"
	kill -STOP "$w1"
	wait_for " restart name=w1 old=$w1 new=[0-9]+" && wait_for ' w-ready name=w1 .*' && sleep 0.2
	show
	# w1 froze after its last answer: the time from that answer to the
	# SIGKILL bounds the detection time from above.
	last_t=$(awk -v p="$w1" '$0 ~ " heartbeat name=w1 pid=" p " " { t = $1 } END { print t }' "$log")
	kill_t=$(awk '/ kill name=w1 .*reason=heartbeat-miss/ { print $1; exit }' "$log")
	note "Detection: SIGKILL $(awk -v a="$last_t" -v b="$kill_t" 'BEGIN { printf "%d ms", (b - a) * 1000 }') after w1's last answer (bound: P + T = 800 ms)"
	check "the watchdog killed w1 for a missed heartbeat" wait_for " kill name=w1 pid=$w1 .*reason=heartbeat-miss"
	check "d restarted w1 with a new pid" wait_for " restart name=w1 old=$w1 new=[0-9]+"
	check "detected within P + T + 100 ms" awk -v a="$last_t" -v b="$kill_t" 'BEGIN { exit !(b - a <= 0.9) }'

	stage "d freezes (SIGSTOP): the watchdog kills d's whole group and"
	note "restarts d, which restarts every w"
	d=$(sed -nE 's/.* watchdog\[[0-9]+\] started name=d pid=([0-9]+).*/\1/p' "$log" | tail -n1)
	cmd "kill -STOP $d"
	kill -STOP "$d"
	wait_for " restart name=d old=$d new="
	db=$(sed -nE "s/.* restart name=d old=$d new=([0-9]+).*/\1/p" "$log")
	wait_for " d\[$db\] ready port=" && sleep 0.3
	show
	check "d killed for a missed heartbeat" wait_for " kill name=d pid=$d .*heartbeat-miss"
	check "d restarted" wait_for " restart name=d old=$d new="
	check "the new d's w's are all ready (d says ready)" wait_for " d\[$db\] ready port="

	stage "A short load burst: 150 requests, 15 at a time, fresh connections"
	cmd "client -p $port -n 150 -c 15"
	out=$("$bin/client" -p "$port" -n 150 -c 15 2>&1)
	rc=$?
	fit 4 <<<"$out"
	check "every request succeeded" test "$rc" -eq 0
	hide=' (heartbeat|recv msg=pong|connect|disconnect|queued|handover|job|serving|debut|fin) '
	show >/dev/null	# 150 requests' worth of lines: see them in build/demo/demo.log

	stage "Clean stop: SIGTERM to the watchdog (Enter or Ctrl-C do the same)"
	cmd "kill -TERM $wd"
	kill -TERM "$wd"
	wait "$wd"
	rc=$?
	show
	left=$(ps -o pid= -s "$wd" | wc -l)
	zombies=$(ps -eo stat=,sid= | awk -v s="$wd" '$2 == s && $1 ~ /^Z/' | wc -l)
	printf '    %s%d zombies, %d orphans, run directory %s%s\n' "$B" "$zombies" "$left" \
		"$([[ -z $(ls -A "$run" 2>/dev/null) ]] && echo clean || echo "NOT clean")" "$N"
	check "the watchdog exited 0" test "$rc" -eq 0
	check "no process of the tree left (0 orphans)" test "$left" -eq 0
	check "0 zombies" test "$zombies" -eq 0
	check "run directory clean" test -z "$(ls -A "$run" 2>/dev/null)"
	check "no segment left in /dev/shm" test ! -e "/dev/shm$shm"
	note "The protocol: step4_client/PROTOCOL.md."
	note "A picture of this run: make timeline (build/demo/demo.png)."
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
