#!/usr/bin/env bats
# Step 2: d and w play ping/pong over two FIFOs, the turn that synchronises
# their shared segment. Each test's name starts with the exercise it checks
# ([2.4]); [run] tests check the programs as a whole.
# A test of N.M fails only when N.M, or an exercise it needs (listed in
# ../prerequisites), is wrong: tests of the exchange do not ask how d's
# stop (2.5) or its reaping (2.6) went; a leftover fails the tests of 2.5
# and [run] tests only, and elsewhere is removed and counted by the last
# test (tests/helpers.bash, "Exercise independence").

setup() {
	load "$KIT_ROOT/tests/helpers"
	KIT_CLEAN_TESTS='^\[(2\.5|run)\] '
	kit_setup
	D=(-r "$RUN_DIR" -m "$SHM_NAME")	# every d of a test uses these
}
teardown() { kit_teardown; }

# w_pid_of NAME: the pid of the w that the d started as NAME started.
w_pid_of() {
	sed -nE 's/.* started name=w pid=([0-9]+).*/\1/p' "$(log_of "$1")" | tail -n 1
}

# wait_gone PID [SECONDS]: wait (bounded, scaled) until PID has exited.
wait_gone() {
	local i limit
	limit=$(kit_scale "${2:-2}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		is_running "$1" || return 0
		sleep 0.05
	done
	return 1
}

# errors_in TEXT: the lines of TEXT that are not log lines (error lines).
errors_in() { grep -Ev '^[0-9]+\.[0-9]{3} [a-z_]+\[[0-9]+\] ' <<<"$1" || true; }

# assert_nothing_left: the FIFOs and the segment are gone.
assert_nothing_left() {
	assert_equal "$(ls -A "$RUN_DIR")" ""
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

# error_line TEXT ERE: TEXT has an error line (not a log line) matching ERE.
error_line() {
	errors_in "$1" | grep -Eq -- "$2" ||
		fail "no error line matching /$2/ in: $(errors_in "$1")"
}

# w_script NAME BODY: print the path of a w that is the bash script BODY
# (it opens no FIFO: d waits for it in open_fifos, handling its signals).
w_script() {
	local f=$BATS_TEST_TMPDIR/$1
	printf '#!/bin/bash\n%s\n' "$2" >"$f"
	chmod +x "$f"
	echo "$f"
}

# fake_w BODY [FIRST]: print the path of a w written in bash, for d's error
# paths. It opens the FIFOs as w does, runs FIRST once, then BODY (no single
# quote in either) for each line d sends ($line), fd 4 writing to d. It
# runs as "bash -c" so that no script descriptor stays open (valgrind
# counts descriptors).
fake_w() {
	local f=$BATS_TEST_TMPDIR/fake_w
	cat >"$f" <<-EOF
	#!/bin/bash
	exec bash -c 'exec 3<"\$1/dwtube1" 4>"\$1/wdtube1"
	${2:-}
	while read -r line <&3; do $1; done
	exec 3<&- 4>&-' fake_w "\$2"
	EOF
	chmod +x "$f"
	echo "$f"
}

@test "[2.4] d and w play N rounds of ping/pong, in turns, each logged, and d prints the figures" {
	# How d stops w afterwards is 2.5's and 2.6's: not asked here.
	run_prog --separate-stderr d -n 4 "${D[@]}"
	assert_output --regexp '^4 round trips in [0-9.]+ s: [0-9]+ round trips/s, p50 [0-9.]+ us, p99 [0-9.]+ us$'
	# Exactly 4 rounds, each in the order of the turn.
	events=$(grep -E ' msg=' <<<"$stderr" | awk '{ print $2 "-" $3 "-" $4 }' |
		sed -E 's/\[[0-9]+\]//' | tr '\n' ' ')
	round="d-send-msg=ping w-recv-msg=ping w-send-msg=pong d-recv-msg=pong "
	assert_equal "$events" "$round$round$round$round"
	# Each answer came through the segment, for the request of its round.
	for n in 1 2 3 4; do
		assert_regex "$stderr" "d\[[0-9]+\] recv msg=pong n=$n answer=\"w\[[0-9]+\] done: request $n from d\[[0-9]+\]\" rtt_us=[0-9]+"
	done
	refute_regex "$(errors_in "$stderr")" 'answer|message|unexpected'
}

@test "[2.2] d and w open both FIFOs without deadlock, and w says it is ready" {
	run_prog --separate-stderr d -n 1 "${D[@]}"
	w=$(sed -nE 's/.* started name=w pid=([0-9]+).*/\1/p' <<<"$stderr")
	assert_regex "$stderr" " d\[[0-9]+\] connected name=w pid=$w"
	assert_regex "$stderr" " w\[$w\] ready dw=$RUN_DIR/dwtube1 wd=$RUN_DIR/wdtube1 name=$SHM_NAME"
}

# 2.1's own checks of the FIFOs' mode are the unit tests': here d must
# stay alive long enough to be looked at, which takes w connected (2.2).
@test "[run] while d runs: both FIFOs, mode 0600, in a run directory of mode 0700" {
	start_prog d d -n 1 -t "$(kit_ms 200)" "${D[@]}"
	wait_log d ' connected name=w ' 2
	assert_equal "$(stat -c %A "$RUN_DIR/dwtube1")" "prw-------"
	assert_equal "$(stat -c %A "$RUN_DIR/wdtube1")" "prw-------"
	assert_equal "$(stat -c %a "$RUN_DIR")" 700
	assert_regex "$(cat "$(log_of d)")" "created path=$RUN_DIR/dwtube1 mode=0600"
	wait_exit d 5
	assert_equal "$status" 0
	assert_nothing_left
}

# d's exit status after a stop is not asked in 2.5's tests: a clean one
# also takes the reaping of 2.6 (the [run] tests ask it).
@test "[2.5] after N exchanges d tells w to stop; w exits 0; d reaps it and removes everything" {
	run_prog --separate-stderr d -n 2 "${D[@]}"
	assert_regex "$stderr" " d\[[0-9]+\] stop reason=done exchanges=2"
	assert_regex "$stderr" " w\[[0-9]+\] stop reason=eof served=2"
	assert_regex "$stderr" " reaped name=w pid=[0-9]+ status=\"exited with code 0\""
	assert_regex "$stderr" " removed path=$RUN_DIR/dwtube1"
	assert_regex "$stderr" " removed path=$RUN_DIR/wdtube1"
	assert_regex "$stderr" " removed name=$SHM_NAME"
	assert_nothing_left
}

@test "[2.5] SIGTERM or SIGINT to d: w told to stop, gone within 1 s, reaped, everything removed" {
	for sig in TERM INT; do
		start_prog d d -n 1000000 -t "$(kit_ms 20)" "${D[@]}"
		wait_log d ' recv msg=pong n=1 ' 2
		w=$(w_pid_of d)
		kill -"$sig" "$d_PID"
		wait_gone "$w" 1 || fail "w still runs 1 s after d was told to stop"
		wait_exit d 5
		log=$(cat "$(log_of d)")
		assert_regex "$log" " d\[$d_PID\] stop reason=SIG$sig "
		assert_regex "$log" " w\[$w\] stop reason=eof "
		assert_regex "$log" " reaped name=w pid=$w status=\"exited with code 0\""
		assert_nothing_left
	done
}

@test "[run] SIGTERM to d's whole process group (as a terminal's Ctrl-C would): both stop, nothing left" {
	start_prog d d -n 1000000 -t "$(kit_ms 20)" "${D[@]}"
	wait_log d ' recv msg=pong n=1 ' 2
	w=$(w_pid_of d)
	kill -TERM -- "-$d_PID"
	wait_exit d 2
	assert_equal "$status" 0
	wait_gone "$w" 1 || fail "w still runs"
	assert_equal "$(errors_in "$(cat "$(log_of d)")")" ""
	assert_nothing_left
}

@test "[run] SIGTERM to d alone: w stopped by d, reaped, exit 0, no error" {
	start_prog d d -n 1000000 -t "$(kit_ms 20)" "${D[@]}"
	wait_log d ' recv msg=pong n=1 ' 2
	kill -TERM "$d_PID"
	wait_exit d 2
	assert_equal "$status" 0
	assert_equal "$(errors_in "$(cat "$(log_of d)")")" ""
	assert_nothing_left
}

@test "[run] w killed mid-run: d reaps it, names the signal, cleans up, exits 1 within 1 s" {
	start_prog d d -n 1000000 -t "$(kit_ms 10)" "${D[@]}"
	wait_log d ' recv msg=pong n=2 ' 2
	w=$(w_pid_of d)
	killed=$(mono_kill KILL "$w")
	wait_exit d 2
	assert_equal "$status" 1
	# d's last act is removing the segment: that is when it is done.
	assert_within "$killed" "$(log_time d " removed name=$SHM_NAME")" "$(kit_ms 1000)"
	log=$(cat "$(log_of d)")
	assert_regex "$log" " reaped name=w pid=$w status=\"killed by SIGKILL\""
	assert_regex "$(errors_in "$log")" '^d: w ended after [0-9]+ of 1000000 exchanges: killed by SIGKILL$'
	assert_nothing_left
}

# 2.6's tests use a w that opens no FIFO: d waits for it in open_fifos
# (2.2), handling its signals, and needs no exchange (2.3, 2.4) nor stop (2.5).
@test "[2.6] w killed: d reaps it at once, names the signal, cleans up, exits 1" {
	start_prog d d "${D[@]}" -x "$(w_script w 'trap "" TERM INT; exec sleep 600')"
	wait_log d ' started name=w pid=[0-9]+' 2
	w=$(w_pid_of d)
	killed=$(mono_kill KILL "$w")
	wait_exit d 2
	assert_equal "$status" 1
	assert_within "$killed" "$(log_time d " reaped name=w pid=$w ")" "$(kit_ms 1000)"
	assert_regex "$(cat "$(log_of d)")" " reaped name=w pid=$w status=\"killed by SIGKILL\""
	assert_nothing_left
}

@test "[run] zombie: its child stays a zombie while it delays its waitpid, and is reaped on SIGTERM" {
	start_prog zombie zombie -t 60000
	wait_log zombie ' zombie name=child pid=[0-9]+ ms=60000 ' 2
	child=$(sed -nE 's/.* started name=child pid=([0-9]+).*/\1/p' "$(log_of zombie)")
	# ps shows it: state Z, child of zombie, until it calls waitpid.
	assert_equal "$(zombies_of "$zombie_PID" | awk '{ print $1 }')" "$child"
	kill -TERM "$zombie_PID"
	wait_exit zombie 2
	assert_equal "$status" 0
	assert_regex "$(cat "$(log_of zombie)")" " reaped name=child pid=$child status=\"exited with code 0\""
}

# bats test_tags=timing
@test "[2.6] d reaps w as soon as it exits: a zombie for 100 ms at most" {
	# A w that logs the time (the log's clock) just before it exits.
	start_prog d d "${D[@]}" -x "$(w_script w 'exec python3 -c "import os, sys, time
sys.stderr.write(\"%.6f w[%d] exiting\n\" % (time.monotonic(), os.getpid()))
sys.stderr.flush()
os._exit(0)"')"
	wait_exit d 5
	# w's last line comes just before it exits; d's, just after waitpid().
	assert_within "$(log_time d ' w\[[0-9]+\] exiting')" \
		"$(log_time d ' reaped name=w ')" "$(kit_ms 100)"
}

@test "[2.6] a w that exits before opening its FIFO: d notices at once, exit 1, nothing left" {
	run_prog --separate-stderr d "${D[@]}" -x /bin/false
	assert_failure 1
	assert_regex "$stderr" 'reaped name=w pid=[0-9]+ status="exited with code 1"'
	assert_equal "$(errors_in "$stderr")" "d: w ended after 0 of 5 exchanges: exited with code 1"
	refute_regex "$stderr" ' connected '
	assert_nothing_left
}

@test "[run] a w that cannot be started: the exec error, exit 1, nothing left" {
	run_prog --separate-stderr d "${D[@]}" -x "$BATS_TEST_TMPDIR/no-such-w"
	assert_failure 1
	# A plain match: the path may hold characters special in a regex (+, .).
	[[ $stderr == *"d: exec $BATS_TEST_TMPDIR/no-such-w: No such file or directory"* ]]
	assert_regex "$stderr" 'status="exited with code 127"'
	assert_nothing_left
}

# 2.1's replacing of a stale FIFO is a unit test's; here, the whole story.
@test "[run] d killed mid-run: w reads end of file and exits; the next d replaces what was left" {
	start_prog d d -n 1000000 "${D[@]}"
	wait_log d ' recv msg=pong n=2 ' 2
	w=$(w_pid_of d)
	kill -STOP "$d_PID"
	# w answers the ping in flight, then sleeps in poll() waiting for the
	# next one (its wait channel says poll: under STRESS=1, w also sleeps
	# in the shim's delays).
	for ((i = 0; i < $(kit_ms 100); i++)); do
		[[ $(awk '{ print $3 }' "/proc/$w/stat") == S &&
			$(cat "/proc/$w/wchan" 2>/dev/null) == *poll* ]] && break
		sleep 0.02
	done
	kill -KILL "$d_PID"
	wait_exit d 2	# reaps d: a zombie d would still own the segment
	wait_gone "$w" 1 || fail "w still runs 1 s after d died"
	assert_regex "$(cat "$(log_of d)")" " w\[$w\] stop reason=eof served=[0-9]+"
	# d had no chance to remove the FIFOs and the segment: the next d
	# finds them stale (no reader, owner dead) and replaces them.
	[[ -p $RUN_DIR/dwtube1 && -p $RUN_DIR/wdtube1 ]] || fail "the FIFOs should be left"
	run_prog --separate-stderr d -n 2 "${D[@]}"
	assert_success
	assert_regex "$stderr" "stale-fifo path=$RUN_DIR/dwtube1 action=replaced"
	assert_regex "$stderr" "stale-fifo path=$RUN_DIR/wdtube1 action=replaced"
	assert_regex "$stderr" "stale-segment name=$SHM_NAME owner=$d_PID action=replaced"
	assert_nothing_left
}

@test "[2.1] a regular file or a symlink at a FIFO's path: one clear line, exit 1, left untouched" {
	mkdir -m 700 "$RUN_DIR"
	echo precious >"$RUN_DIR/dwtube1"
	run_prog --separate-stderr d "${D[@]}"
	assert_failure 1
	assert_equal "$(errors_in "$stderr")" "d: FIFO $RUN_DIR/dwtube1: is a regular file, not a FIFO"
	assert_equal "$(cat "$RUN_DIR/dwtube1")" precious
	assert_equal "$(ls -A "$RUN_DIR")" dwtube1
	assert_file_not_exists "/dev/shm$SHM_NAME"
	rm "$RUN_DIR/dwtube1"

	ln -s "$BATS_TEST_TMPDIR/target" "$RUN_DIR/wdtube1"
	run_prog --separate-stderr d "${D[@]}"
	assert_failure 1
	assert_equal "$(errors_in "$stderr")" "d: FIFO $RUN_DIR/wdtube1: is a symbolic link, not a FIFO"
	assert_file_not_exists "$BATS_TEST_TMPDIR/target"	# not followed
	# d removed the dwtube1 it had made, and only that.
	assert_equal "$(ls -A "$RUN_DIR")" wdtube1
	rm "$RUN_DIR/wdtube1"
}

# The run directory's lock is given code, not an exercise.
@test "[run] a run directory in use by a running d is refused, its FIFOs untouched" {
	start_prog first d -n 1000000 -t "$(kit_ms 20)" "${D[@]}"
	wait_log first ' recv msg=pong n=1 ' 2
	run_prog --separate-stderr d -r "$RUN_DIR" -m "$SHM_NAME-2"
	assert_failure 1
	assert_equal "$(errors_in "$stderr")" "d: run directory $RUN_DIR is in use by d[$first_PID]; choose another with -r"
	assert_file_not_exists "/dev/shm$SHM_NAME-2"
	# The first pair did not notice.
	kill -TERM "$first_PID"
	wait_exit first 2
	assert_equal "$status" 0
	assert_nothing_left
}

@test "[run] two d's started at the same instant on one run directory: one runs, the other is refused" {
	for round in 1 2 3; do
		start_prog a d -n 1000000 -t "$(kit_ms 20)" -r "$RUN_DIR" -m "$SHM_NAME"
		start_prog b d -n 1000000 -t "$(kit_ms 20)" -r "$RUN_DIR" -m "$SHM_NAME-b"
		# One of them is refused at once; the other keeps exchanging.
		for ((i = 0; i < 100; i++)); do
			is_running "$a_PID" && is_running "$b_PID" || break
			sleep 0.02
		done
		if is_running "$a_PID"; then winner=a loser=b; else winner=b loser=a; fi
		wait_exit "$loser" 2
		assert_equal "$status" 1
		grep -Eq "^d: run directory $RUN_DIR is in use by d\[[0-9]+\]; choose another with -r$" \
			"$(log_of "$loser")" || fail "round $round: $(cat "$(log_of "$loser")")"
		n=$(log_count "$winner" ' recv msg=pong ')
		wait_log "$winner" " recv msg=pong n=$((n + 2)) " 2
		kill -TERM "$(cat "$BATS_TEST_TMPDIR/$winner.pid")"
		wait_exit "$winner" 2
		assert_equal "$status" 0
		assert_equal "$(ls -A "$RUN_DIR")" ""
	done
	assert_file_not_exists "/dev/shm$SHM_NAME-b"
}

@test "[run] a run directory open to others, or a symlink, is refused with one clear line" {
	mkdir -m 755 "$RUN_DIR"
	run_prog --separate-stderr d "${D[@]}"
	assert_failure 1
	assert_equal "$stderr" "d: run directory $RUN_DIR: is accessible by group or others (mode 0755; chmod 700 it)"
	rmdir "$RUN_DIR"
	mkdir -m 700 "$BATS_TEST_TMPDIR/real"
	ln -s "$BATS_TEST_TMPDIR/real" "$RUN_DIR"
	run_prog --separate-stderr d "${D[@]}"
	assert_failure 1
	assert_equal "$stderr" "d: run directory $RUN_DIR: is a symbolic link, not a directory"
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/real")" ""
}

@test "[2.4] d checks each answer: a w that says pong without answering is caught" {
	run_prog --separate-stderr d "${D[@]}" -x "$(fake_w 'echo pong >&4')"
	assert_failure 1
	error_line "$stderr" '^d: answer 1 is "", expected "w\[[0-9]+\] done: request 1 from d\[[0-9]+\]"$'
	assert_regex "$stderr" 'stop reason=wrong-answer'
	assert_nothing_left
}

@test "[2.3] d refuses an unknown word or an over-long line from w" {
	# w speaks first: no ping of 2.4 needed.
	run_prog --separate-stderr d "${D[@]}" -x "$(fake_w : 'echo pang >&4')"
	assert_failure 1
	error_line "$stderr" "^d: message on $RUN_DIR/wdtube1: Bad message\$"
	assert_nothing_left
	run_prog --separate-stderr d "${D[@]}" -x "$(fake_w : 'printf "%040d\n" 0 >&4')"
	assert_failure 1
	error_line "$stderr" "^d: message on $RUN_DIR/wdtube1: Message too long\$"
	assert_nothing_left
}

@test "[run] race, step 1's race in turns: expected, actual, and no update lost" {
	run_prog --separate-stderr race -n 200 -m "$SHM_NAME"
	assert_success
	assert_output 'race: expected 400000, actual 400000, lost 0 updates (0.0%)'
	assert_nothing_left
}

@test "[run] quiet benchmark mode: the figures on stdout, nothing on stderr" {
	run_prog --separate-stderr d -q -n 2000 "${D[@]}"
	assert_success
	assert_output --regexp '^2000 round trips in [0-9.]+ s: [0-9]+ round trips/s, p50 [0-9.]+ us, p99 [0-9.]+ us$'
	assert_equal "$stderr" ""
	assert_nothing_left
}

@test "[run] command line: -h on stdout, bad arguments exit 2, w alone without a segment exits 1" {
	run_prog --separate-stderr d -h
	assert_success
	assert_line --index 0 --regexp '^usage: d '
	assert_equal "$stderr" ""
	for args in "-z" "-n 0" "-n abc" "-t -1" "-Z 0" "-m noslash" "extra"; do
		run_prog --separate-stderr d $args
		assert_failure 2
		assert_regex "$stderr" 'usage: d '
		assert_equal "$output" ""
	done
	for prog in race zombie; do
		run_prog --separate-stderr $prog -h
		assert_success
		assert_line --index 0 --regexp "^usage: $prog "
	done
	for args in "-z" "-n 0" "-m noslash" "extra"; do
		run_prog --separate-stderr race $args
		assert_failure 2
		assert_regex "$stderr" 'usage: race '
	done
	for args in "-z" "-t 0" "extra"; do
		run_prog --separate-stderr zombie $args
		assert_failure 2
		assert_regex "$stderr" 'usage: zombie '
	done
	run_prog --separate-stderr w -m "$SHM_NAME"
	assert_failure 2
	assert_regex "$stderr" '^w: -r DIR and -m NAME are required'
	run_prog --separate-stderr w -r "$RUN_DIR" -m "$SHM_NAME"
	assert_failure 1
	assert_equal "$stderr" "w: shm_open $SHM_NAME: No such file or directory"
}

@test "[run] no test left a process, a segment or a file behind" {
	assert_no_leftovers
}
