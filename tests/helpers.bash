# tests/helpers.bash - shared helpers for the kit's process tests (bats).
#
# A step's .bats file starts with:
#
#     setup()    { load "$KIT_ROOT/tests/helpers"; kit_setup; }
#     teardown() { kit_teardown; }
#
# Environment (set by scripts/run-tests.sh):
#   BIN            directory holding the programs under test
#   KIT_ROOT       the kit's top directory
#   TIMEOUT_SCALE  multiplies every time limit (slow machine, valgrind)
#   VALGRIND=1     run every program under valgrind, logs in VG_LOGDIR
#   STRESS=1       preload the stress shim (tests/stress/stress.c) into every
#                  program under test, with OSPS_STRESS_SEED (kit_cmd)
#
# Guarantees: every program a test starts runs in its own session with fd 3
# (bats' result channel) closed; every wait is bounded; teardown stops what
# the test started, by pid, and removes any process, /dev/shm segment or
# run-directory entry of the test left behind (which fails the test, or is
# counted in the file's ledger: see "Exercise independence" below). When a
# test fails, teardown prints every program it ran: how each one ended, in
# words ("exited with code 1", "killed by SIGSEGV", "timed out after 10 s"),
# and the end of its log.
#
# Exercise independence (make check-teeth enforces it): a test named for
# exercise N.M ("[2.3] ...") must fail only when N.M is wrong, or an
# exercise that N.M declares it needs in STEP/prerequisites
# (scripts/prereqs.py; check-teeth holds a step to it once the file
# exists). Tests that need the whole program are named "[run] ..."
# (integration tests, with their own points in the rubric); a test named
# for N.M keeps testing N.M. The tools:
#
#  - Who is charged for leftovers. A step opts in by setting, in setup()
#    before kit_setup, KIT_CLEAN_TESTS: an ERE matched against the test's
#    name, e.g. '^\[(1\.5|run)\] ' (its clean-up exercise and the
#    integration tests). A leftover then fails only those tests, and any
#    test that calls expect_clean; in every other test teardown removes it
#    and, if the test passed, records it in the file's ledger.
#    KIT_CLEAN_TESTS unset: every test is charged, as it always was.
#  - The ledger's test, last in the file, so that the suite as a whole
#    still catches a program that leaves anything behind anywhere:
#        @test "[run] no test left a process, a segment or a file behind" {
#                assert_no_leftovers
#        }
#    (a file whose tests run in parallel, bats --jobs, must set
#    BATS_NO_PARALLELIZE_WITHIN_FILE=true in setup_file to keep it last).
#  - stop_prog NAME: the harness stops a program it started (SIGTERM to its
#    process group, a bounded wait, then SIGKILL), for a test of another
#    exercise than the program's own stop: it must not depend on that stop,
#    nor assert the exit status or the error lines that depend on it.
#  - wait_log fails at once when no process of the test is left to write
#    the line it waits for: a stub that kills a program costs little time.
#  - scripts/teeth-matrix.py --only N.M STEP (make teeth-matrix STEP=N
#    EX=N.M) shows which tests fail with N.M stubbed, collateral ones named.

bats_require_minimum_version 1.5.0

kit_setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	bats_load_library bats-file
	: "${BIN:?BIN must name the directory of the programs under test}"
	TIMEOUT_SCALE=${TIMEOUT_SCALE:-1}
	# Every process started from now on inherits this tag in its
	# environment, even one that calls setsid() to escape its session:
	# teardown finds leftovers by it.
	export OSPS_TEST_TAG="osps-$BATS_ROOT_PID-$BATS_SUITE_TEST_NUMBER"
	# Names unique to this test, so that tests and whole runs can happen
	# at the same time without meeting.
	SHM_NAME="/osps-t$BATS_ROOT_PID-$BATS_SUITE_TEST_NUMBER"
	RUN_DIR="$BATS_TEST_TMPDIR/run"
	KIT_PIDS=()
	KIT_NAMES=()
	KIT_REPORT="$BATS_TEST_TMPDIR/kit-report"
	: >"$KIT_REPORT"
	# Shown with the output of a failing test: the seed reproduces it.
	[[ ${STRESS:-0} == 1 ]] && echo "# stress seed ${OSPS_STRESS_SEED:?}" >&2
	return 0
}

# status_words STATUS [SECONDS LIMIT]: how a program ended, in words, from
# its exit status as the shell sees it (128+N: killed by signal N). A run
# that lasted its whole time limit LIMIT was stopped by it: timed out.
status_words() {
	local rc=$1 took=${2:-0} limit=${3:-}
	if [[ -n $limit ]] && { ((rc == 124)) || awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t >= l) }'; }; then
		echo "timed out after $limit s (it never finished: a deadlock, or a wait that never ends?) — raise TIMEOUT_SCALE on a slow machine"
	elif ((rc > 128 && rc < 160)); then
		echo "killed by SIG$(kill -l "$((rc - 128))" 2>/dev/null || echo "NAL $((rc - 128))")"
	else
		echo "exited with code $rc"
	fi
}

# kit_tail: the last 40 lines of stdin, indented, for a failure report.
kit_tail() {
	local text n
	text=$(cat)
	[[ -n $text ]] || { echo "    (nothing)"; return 0; }
	n=$(wc -l <<<"$text")
	((n > 40)) && echo "    ... ($((n - 40)) earlier lines left out)"
	tail -n 40 <<<"$text" | sed 's/^/    /'
}

# kit_scale SECONDS: SECONDS stretched by TIMEOUT_SCALE.
kit_scale() {
	awk -v s="$1" -v k="${TIMEOUT_SCALE:-1}" 'BEGIN { printf "%g\n", s * k }'
}

# kit_ms MILLISECONDS: an integer number of ms stretched by TIMEOUT_SCALE,
# for programs' own delay options.
kit_ms() {
	awk -v s="$1" -v k="${TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d\n", s * k }'
}

# kit_cmd ARRAY PROG ARGS...: fill ARRAY with the command line that runs
# $BIN/PROG (under valgrind when VALGRIND=1).
kit_cmd() {
	local -n _cmd=$1
	local prog=$2
	shift 2
	_cmd=()
	# STRESS=1: random short delays around the racy calls of the program
	# (and of its children, which inherit the environment), by a shim
	# preloaded with env; the helpers and the test tools are not delayed.
	# Delays scale with TIMEOUT_SCALE like every time limit. Not with
	# valgrind (the Makefile refuses the two together).
	if [[ ${STRESS:-0} == 1 && ${VALGRIND:-0} != 1 ]]; then
		_cmd=(env "LD_PRELOAD=${OSPS_STRESS_LIB:-$KIT_ROOT/build/stress/libstress.so}"
			"OSPS_STRESS_SEED=${OSPS_STRESS_SEED:?}" "OSPS_STRESS_BIN=$BIN"
			"OSPS_STRESS_SALT=$BATS_TEST_NAME"
			"OSPS_STRESS_MAX_US=$(kit_ms 4000)")
	fi
	if [[ ${VALGRIND:-0} == 1 ]]; then
		_cmd=(valgrind --trace-children=yes --child-silent-after-fork=yes
			--track-fds=yes --leak-check=full
			--errors-for-leak-kinds=definite
			"--log-file=${VG_LOGDIR:?}/vg.%p.log")
	fi
	_cmd+=("$BIN/$prog" "$@")
}

# close_fds: close every descriptor above 2 in this shell (bats keeps a
# few open, fd 3 among them); call it in the subshell that execs a program.
close_fds() {
	local fd
	for fd in /proc/self/fd/*; do
		fd=${fd##*/}
		((fd > 2)) && eval "exec $fd>&-"
	done
	return 0
}

# start_prog NAME PROG ARGS...: start $BIN/PROG in the background, in its
# own session, fd 3 closed; stdout in $BATS_TEST_TMPDIR/NAME.out, stderr
# (the log) in NAME.log, pid in NAME.pid and in the variable NAME_PID.
start_prog() {
	local name=$1 cmd
	shift
	kit_cmd cmd "$@"
	(close_fds; exec setsid "${cmd[@]}") >"$BATS_TEST_TMPDIR/$name.out" \
		2>"$BATS_TEST_TMPDIR/$name.log" &
	local pid=$!
	echo "$pid" >"$BATS_TEST_TMPDIR/$name.pid"
	echo "${*}" >"$BATS_TEST_TMPDIR/$name.cmd"
	printf -v "${name}_PID" '%s' "$pid"
	KIT_PIDS+=("$pid")
	KIT_NAMES+=("$name")
}

# kit_exec PROG ARGS...: run $BIN/PROG in the foreground with fd 3 closed
# and a time limit (RUN_TIMEOUT seconds, default 10, scaled).
kit_exec() {
	local cmd limit
	kit_cmd cmd "$@"
	limit=$(kit_scale "${RUN_TIMEOUT:-10}")
	(close_fds; exec timeout -k 2 "$limit" "${cmd[@]}")
}

# run_prog [run flags] PROG ARGS...: bats' run on kit_exec, e.g.
#     run_prog -2 --separate-stderr d -x
# How the program ended and what it said go to the test's failure report.
run_prog() {
	local flags=() t0 took limit rc=0
	while [[ $1 == -* || $1 == '!' ]]; do
		flags+=("$1")
		shift
	done
	limit=$(kit_scale "${RUN_TIMEOUT:-10}")
	t0=$EPOCHREALTIME
	run "${flags[@]}" kit_exec "$@" || rc=$?
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
	{
		echo "$*: $(status_words "$status" "$took" "$limit")"
		if [[ " ${flags[*]} " == *" --separate-stderr "* ]]; then
			echo "  its log (stderr):"
			kit_tail <<<"$stderr"
			if [[ -n $output ]]; then
				echo "  its output (stdout):"
				kit_tail <<<"$output"
			fi
		else
			echo "  its output and log (stdout and stderr):"
			kit_tail <<<"$output"
		fi
	} >>"$KIT_REPORT"
	return "$rc"
}

# log_of NAME: the log file of a program started as NAME.
log_of() { echo "$BATS_TEST_TMPDIR/$1.log"; }

# wait_log NAME ERE [SECONDS]: wait until NAME's log has a line matching
# ERE (default limit 5 s, scaled). On time-out, print the log and fail.
# It fails at once when no process of the test is left to write that
# line: NAME has ended, its process group is empty and nothing carries the
# test's tag (a stub that makes a program die does not cost the whole time
# limit).
wait_log() {
	local file limit i pid=
	file=$(log_of "$1")
	limit=$(kit_scale "${3:-5}")
	[[ -f $BATS_TEST_TMPDIR/$1.pid ]] && pid=$(cat "$BATS_TEST_TMPDIR/$1.pid")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		grep -Eqs -- "$2" "$file" && return 0
		# (Until it has called setsid, NAME has no group of its own yet.)
		if [[ -n $pid ]] && ! is_running "$pid" && ! kill -0 -- "-$pid" 2>/dev/null; then
			if [[ -z $(tagged_pids) ]]; then
				grep -Eqs -- "$2" "$file" && return 0
				echo "# $1 and every process of this test ended before a line matching /$2/ came in $1's log" >&2
				return 1
			fi
			pid=	# a process left its group: wait the whole time
		fi
		sleep 0.05
	done
	# The log itself is in the failure report teardown prints.
	echo "# timed out after ${limit} s waiting for a line matching /$2/ in $1's log — raise TIMEOUT_SCALE on a slow machine" >&2
	return 1
}

# log_count NAME ERE: how many lines of NAME's log match ERE.
log_count() { grep -Ecs -- "$2" "$(log_of "$1")" || true; }

# is_running PID: true while PID exists and is not a zombie.
is_running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# wait_exit NAME [SECONDS]: wait (bounded) for the program started as NAME
# to exit; its exit status goes to $status (128+N when killed by signal N).
wait_exit() {
	local pid limit i
	pid=$(cat "$BATS_TEST_TMPDIR/$1.pid")
	limit=$(kit_scale "${2:-5}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		is_running "$pid" || break
		sleep 0.05
	done
	if is_running "$pid"; then
		echo "# $1 (pid $pid) timed out: still running after ${limit} s — raise TIMEOUT_SCALE on a slow machine" >&2
		return 1
	fi
	status=0
	wait "$pid" || status=$?
	status_words "$status" >"$BATS_TEST_TMPDIR/$1.status"
}

# stop_prog NAME [SECONDS]: stop the program started as NAME from the
# harness, whatever its own stop does: SIGTERM to its process group (it and
# the children it started), up to SECONDS (default 2, scaled) for it to
# exit, then SIGKILL to the group. Its exit status goes to $status, as
# with wait_exit. For tests of another exercise than the program's stop.
stop_prog() {
	local pid limit i
	pid=$(cat "$BATS_TEST_TMPDIR/$1.pid")
	kill -TERM -- "-$pid" 2>/dev/null || true
	limit=$(kit_scale "${2:-2}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		is_running "$pid" || break
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	status=0
	wait "$pid" || status=$?
	status_words "$status" >"$BATS_TEST_TMPDIR/$1.status"
	return 0
}

# end_all NAME: end the test from the harness's side, whatever the
# programs' own stop code does: SIGKILL every process the test started
# (again, until none is left: a dying d may have forked), reap NAME (a
# program of start_prog), then remove what the programs leave (run
# directory entries, segments). A test of one exercise ends with this, so
# that another exercise's broken stop or clean-up cannot fail it.
end_all() {
	local i left
	# Freeze them all first (until no new one appears), then kill: a
	# program that saw another one die could otherwise still run its own
	# error exit, and under valgrind report the descriptors it had no time
	# to close.
	for ((i = 0; i < 40; i++)); do
		left=$(tagged_pids)
		[[ -z $left ]] && break
		kill -STOP $left 2>/dev/null
		[[ $(tagged_pids) == "$left" ]] && break
	done
	for ((i = 0; i < 40; i++)); do
		left=$(tagged_pids)
		[[ -z $left ]] && break
		kill -KILL $left 2>/dev/null
		sleep 0.05
	done
	if [[ -f $BATS_TEST_TMPDIR/$1.pid ]]; then
		wait "$(cat "$BATS_TEST_TMPDIR/$1.pid")" 2>/dev/null || true
	fi
	[[ -d $RUN_DIR ]] && find "$RUN_DIR" -mindepth 1 -delete
	rm -f -- "/dev/shm/${SHM_NAME#/}" "/dev/shm/${SHM_NAME#/}"-*
	return 0
}

# kit_report: what every program of a failed test did: how it ended, in
# words, and the end of its log (teardown prints it before stopping them).
kit_report() {
	local i name pid st
	for ((i = 0; i < ${#KIT_NAMES[@]}; i++)); do
		name=${KIT_NAMES[i]} pid=${KIT_PIDS[i]}
		if is_running "$pid"; then
			st="still running when the test ended (teardown stops it)"
		elif [[ -f $BATS_TEST_TMPDIR/$name.status ]]; then
			st=$(cat "$BATS_TEST_TMPDIR/$name.status")
		else
			st=0
			wait "$pid" 2>"$BATS_TEST_TMPDIR/$name.wait" || st=$?
			if grep -qs 'not a child' "$BATS_TEST_TMPDIR/$name.wait"; then
				st="ended (the test collected its status)"
			else
				st=$(status_words "$st")
			fi
		fi
		echo "$name ($(cat "$BATS_TEST_TMPDIR/$name.cmd")): $st"
		echo "  its log (stderr):"
		kit_tail <"$(log_of "$name")"
		if [[ -s $BATS_TEST_TMPDIR/$name.out ]]; then
			echo "  its output (stdout):"
			kit_tail <"$BATS_TEST_TMPDIR/$name.out"
		fi
	done
	cat "$KIT_REPORT" 2>/dev/null
}

# zombies_of PID: the children of PID that are zombies ("pid name" lines).
zombies_of() {
	ps -o pid=,stat=,comm= --ppid "$1" 2>/dev/null | awk '$2 ~ /^Z/ { print $1, $3 }'
}

# tagged_pids: the live processes this test started (they carry its tag).
tagged_pids() {
	local f
	# grep runs without the tag (env -u), so it never lists itself.
	for f in $(env -u OSPS_TEST_TAG grep -lsxzF \
		"OSPS_TEST_TAG=$OSPS_TEST_TAG" /proc/[0-9]*/environ); do
		f=${f#/proc/}
		echo "${f%/environ}"
	done
}

# kill_started: TERM the process group of every program the test started,
# wait up to 2 s (scaled), then KILL what is left, then reap.
kill_started() {
	local pid i limit
	((${#KIT_PIDS[@]})) || return 0
	for pid in "${KIT_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null
	done
	limit=$(kit_scale 2)
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		for pid in "${KIT_PIDS[@]}"; do
			is_running "$pid" && continue 2
		done
		break
	done
	for pid in "${KIT_PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

# kit_strict: true when a leftover of this test fails it (see the top).
kit_strict() {
	[[ ${KIT_EXPECT_CLEAN:-0} == 1 || -z ${KIT_CLEAN_TESTS+set} ]] ||
		[[ $BATS_TEST_DESCRIPTION =~ $KIT_CLEAN_TESTS ]]
}

# expect_clean: this test fails if it leaves a process, a segment or a
# run-directory entry behind, whatever its name (call it in the test).
expect_clean() { KIT_EXPECT_CLEAN=1; }

# kit_ledger: the file where this bats file's tests record their leftovers.
kit_ledger() { echo "${BATS_FILE_TMPDIR:?}/kit-leftovers"; }

# assert_no_leftovers: fail, naming them, if any earlier test of this file
# left something behind (recorded by teardown in the ledger).
assert_no_leftovers() {
	local f
	f=$(kit_ledger)
	[[ -s $f ]] || return 0
	fail "$(printf 'left behind (teardown removed them):\n%s' "$(cat "$f")")"
}

# kit_teardown: stop everything the test started, remove what it left
# behind, and fail the test for it when kit_strict says so (otherwise the
# leftovers go to the file's ledger, for assert_no_leftovers).
kit_teardown() {
	local problems=() left f
	if [[ ${BATS_TEST_COMPLETED:-} != 1 ]] && [[ -n ${KIT_REPORT:-} ]]; then
		echo "--- the programs this test ran, how they ended, the end of their logs:"
		kit_report
	fi >&2
	kill_started
	left=$(tagged_pids)
	if [[ -n $left ]]; then
		sleep 0.2	# a process stopping on its own gets a moment
		left=$(tagged_pids)
	fi
	if [[ -n $left ]]; then
		problems+=("processes left: $(ps -o pid=,args= -p "${left//$'\n'/,}" | tr '\n' ';')")
		kill -KILL $left 2>/dev/null
	fi
	for f in "/dev/shm/${SHM_NAME#/}" "/dev/shm/${SHM_NAME#/}"-*; do
		if [[ -e $f ]]; then
			problems+=("shared memory segment left: $f")
			rm -f -- "$f"
		fi
	done
	if [[ -d $RUN_DIR ]] && [[ -n $(ls -A "$RUN_DIR") ]]; then
		problems+=("left in the run directory: $(ls -A "$RUN_DIR" | tr '\n' ' ')")
		[[ -L $RUN_DIR ]] || find "$RUN_DIR" -mindepth 1 -delete 2>/dev/null
	fi
	((${#problems[@]})) || return 0
	if kit_strict; then
		printf '# teardown: %s\n' "${problems[@]}" >&2
		return 1
	fi
	# Not this test's exercise: removed, and counted by the ledger's test
	# (unless the test failed already: then it is charged once, here).
	printf '# teardown (not charged to this test): %s\n' "${problems[@]}" >&2
	[[ ${BATS_TEST_COMPLETED:-} == 1 ]] &&
		printf '%s: %s\n' "$BATS_TEST_DESCRIPTION" "${problems[@]}" >>"$(kit_ledger)"
	return 0
}

# mono_kill SIG PID: send SIG to PID and print the CLOCK_MONOTONIC time it
# was sent, in seconds (the clock of the log lines), to measure how long a
# program takes to react to it.
mono_kill() {
	python3 -c 'import os, signal, sys, time
t = time.monotonic()
os.kill(int(sys.argv[2]), getattr(signal, "SIG" + sys.argv[1]))
print("%.6f" % t)' "$1" "$2"
}

# log_time NAME ERE: the time stamp (first field) of the first line of
# NAME's log that matches ERE; empty if none.
log_time() { grep -Em1 -- "$2" "$(log_of "$1")" | awk '{ print $1 }'; }

# assert_within T0 T1 LIMIT_MS: fail unless T1 - T0 <= LIMIT_MS (all in
# seconds except the limit), printing the measured delay.
assert_within() {
	awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN {
		d = (b - a) * 1000
		printf "# delay %.1f ms (limit %d ms)\n", d, l > "/dev/stderr"
		exit !(b != "" && d <= l) }' ||
		fail "took longer than $3 ms (from $1 to $2)"
}
