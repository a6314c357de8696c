#!/usr/bin/env bats
# Step 3: the watchdog, d and w1..wn. Each test's name starts with the
# exercise it checks ([3.4]); [run] tests check the programs as a whole.
# A test of an exercise fails only when that exercise, or one that
# ../prerequisites declares it needs, is wrong: a test that is not about
# the clean stop (3.8) ends the tree from the harness side (end_tree).
# Every fault test checks: the restart in the log, a new pid, the old
# process gone, no zombie, no orphan; those tagged "timing" also check
# that a freeze is punished by SIGKILL within P + T + 50 ms.

setup() {
	load "$KIT_ROOT/tests/helpers"
	kit_setup
	load tree
}
teardown() {
	# A failed test shows the whole story: the tree's log.
	if [[ -z ${BATS_TEST_COMPLETED:-} && -e $(log_of wd) ]]; then
		sed 's/^/# log: /' "$(log_of wd)" | tail -60 >&3
	fi
	kit_teardown
}

@test "[run] the tree comes up: d, then w1..wn, each with its own FIFO pair, exchanging" {
	start_tree -w 3
	for n in d w1 w2 w3; do
		[[ -n $(pid_of $n) ]] || fail "$n is not up"
	done
	for i in 1 2 3; do
		[[ -p $RUN_DIR/dwtube$i && -p $RUN_DIR/wdtube$i ]] || fail "FIFO pair $i missing"
	done
	assert_equal "$(stat -c %a "$RUN_DIR/dwtube1")" 600
	wait_log wd " d\[[0-9]+\] recv msg=pong name=w3 n=2 answer=\"w3\[$(pid_of w3)\] done: request 2 for w3\""
	# d is the watchdog's child, each w is d's child.
	assert_equal "$(awk '{ print $4 }' "/proc/$(pid_of d)/stat")" "$wd_PID"
	assert_equal "$(awk '{ print $4 }' "/proc/$(pid_of w2)/stat")" "$(pid_of d)"
	assert_tree_sane
	stop_tree
}

@test "[3.1] 100 heartbeats with nothing wrong: no miss, no kill, no restart" {
	start_tree -w 2 -P "$(kit_ms 20)"
	wait_count wd ' heartbeat name=' 100 5
	for n in d w1 w2; do
		(($(log_count wd " heartbeat name=$n ") >= 20)) || fail "too few heartbeats from $n"
	done
	assert_equal "$(log_count wd ' (heartbeat-miss|kill|restart|reaped|not-ready) ')" 0
	end_tree
}

@test "[3.1] replies arriving together are never lost: 8 servers, every one answered" {
	# Nine servers pinged at once every 10 ms: their SIGUSR2s merge, the
	# counters in the registry do not.
	start_tree -w 8 -P "$(kit_ms 10)" -T "$(kit_ms 1000)"
	wait_count wd ' heartbeat name=' 300 5
	for n in d w1 w2 w3 w4 w5 w6 w7 w8; do
		(($(log_count wd " heartbeat name=$n ") >= 10)) || fail "too few heartbeats from $n"
	done
	grep -E ' (heartbeat-miss|kill|restart) ' "$(log_of wd)" >&3 || true
	assert_equal "$(log_count wd ' (heartbeat-miss|kill|restart) ')" 0
	end_tree
}

# The heartbeat at work needs the replies (3.1), their detection (3.4) and
# the restarts (3.7, 3.10, 3.11) together: [run] tests. 3.4 alone is
# checked by unit tests (tests/unit/test_sup.c).
@test "[run] SIGSTOP a w: killed within P + T + 50 ms, restarted alone with a new pid" {
	# bats test_tags=timing
	start_tree -w 2
	d=$(pid_of d) w1=$(pid_of w1) w2=$(pid_of w2)
	t0=$(mono_kill STOP "$w1")
	wait_log wd " kill name=w1 pid=$w1 signal=SIGKILL reason=heartbeat-miss"
	assert_within "$t0" "$(log_time wd " kill name=w1 pid=$w1 ")" "$(kit_ms $((P + T + 50)))"
	new=$(wait_new w1 "$w1")
	assert_line_in_log " d\[$d\] restart name=w1 old=$w1 new=$new"
	assert_gone "$w1"
	# rest_for_one: w1 alone; d and w2 keep running.
	assert_equal "$(pid_of d)" "$d"
	assert_equal "$(pid_of w2)" "$w2"
	assert_equal "$(log_count wd ' kill ')" 1
	assert_tree_sane
	stop_tree
}

@test "[run] SIGSTOP d: d and its whole group killed in time, d restarted, every w restarted" {
	# bats test_tags=timing
	start_tree -w 2
	d=$(pid_of d) w1=$(pid_of w1) w2=$(pid_of w2)
	t0=$(mono_kill STOP "$d")
	wait_log wd " kill name=d pid=$d signal=SIGKILL reason=heartbeat-miss group=yes"
	assert_within "$t0" "$(log_time wd " kill name=d pid=$d ")" "$(kit_ms $((P + T + 50)))"
	newd=$(wait_new d "$d")
	assert_line_in_log " watchdog\[$wd_PID\] restart name=d old=$d new=$newd reason=heartbeat-miss"
	new1=$(wait_new w1 "$w1")
	new2=$(wait_new w2 "$w2")
	assert_equal "$(awk '{ print $4 }' "/proc/$new1/stat")" "$newd"
	for p in "$d" "$w1" "$w2"; do assert_gone "$p"; done
	assert_tree_sane
	stop_tree
}

@test "[3.7] SIGKILL d: the watchdog reaps it, says how it ended, and starts a new d" {
	start_tree -w 1
	d=$(pid_of d)
	kill -KILL "$d"
	newd=$(wait_new d "$d")
	assert_line_in_log " watchdog\[$wd_PID\] reaped name=d pid=$d status=\"killed by SIGKILL\""
	assert_line_in_log " watchdog\[$wd_PID\] restart name=d old=$d new=$newd reason=died"
	assert_gone "$d"
	end_tree
}

@test "[3.1] a main loop that hangs with its handlers alive is detected and killed" {
	# bats test_tags=timing
	start_tree -w 2 -f w2:hang:3
	w2=$(pid_of w2)
	wait_log wd " w\[$w2\] fault kind=hang after=3"
	wait_log wd " kill name=w2 pid=$w2 signal=SIGKILL reason=heartbeat-miss"
	assert_within "$(log_time wd " w\[$w2\] fault kind=hang")" \
		"$(log_time wd " kill name=w2 pid=$w2 ")" "$(kit_ms $((P + T + 50)))"
	# Only the hung one: its handlers were alive, but not its replies.
	assert_equal "$(log_count wd ' kill ')" 1
	end_tree
}

@test "[3.1] d's main loop hanging is detected too: d and its group are killed" {
	# bats test_tags=timing
	start_tree -w 2 -f d:hang:2
	d=$(pid_of d)
	wait_log wd " d\[$d\] fault kind=hang after=2"
	wait_log wd " kill name=d pid=$d signal=SIGKILL reason=heartbeat-miss group=yes"
	assert_within "$(log_time wd " d\[$d\] fault kind=hang")" \
		"$(log_time wd " kill name=d pid=$d ")" "$(kit_ms $((P + T + 50)))"
	end_tree
}

# Restarting a reaped w is 3.10's part: these check the reaping alone.
@test "[3.11] SIGKILL a w: d reaps it, no zombie, says how it ended; the others untouched" {
	start_tree -w 2
	d=$(pid_of d) w1=$(pid_of w1) w2=$(pid_of w2)
	kill -KILL "$w1"
	wait_log wd " d\[$d\] reaped name=w1 pid=$w1 status=\"killed by SIGKILL\""
	assert_gone "$w1"
	assert_equal "$(pid_of w2)" "$w2"
	assert_equal "$(pid_of d)" "$d"
	assert_tree_sane
	end_tree
}

@test "[3.11] SIGKILL two w's at once: both reaped, no zombie" {
	start_tree -w 3
	d=$(pid_of d) w1=$(pid_of w1) w3=$(pid_of w3)
	kill -KILL "$w1" "$w3"
	wait_log wd " d\[$d\] reaped name=w1 pid=$w1 status=\"killed by SIGKILL\""
	wait_log wd " d\[$d\] reaped name=w3 pid=$w3 status=\"killed by SIGKILL\""
	assert_gone "$w1"
	assert_gone "$w3"
	assert_tree_sane
	end_tree
}

@test "[3.10] a w killed restarts at once, alone; killed again, it backs off: the second restart waits" {
	# T long enough that no heartbeat (3.1, 3.4) plays a part.
	start_tree -w 1 -b "$(kit_ms 300)" -B "$(kit_ms 1000)" -T "$(kit_ms 60000)"
	d=$(pid_of d) w1=$(pid_of w1)
	kill -KILL "$w1"
	new=$(wait_new w1 "$w1")
	assert_line_in_log " d\[$d\] restart-wait name=w1 delay_ms=0$"
	assert_line_in_log " d\[$d\] restart name=w1 old=$w1 new=$new"
	assert_equal "$(pid_of d)" "$d"
	kill -KILL "$new"
	new2=$(wait_new w1 "$new")
	assert_line_in_log " d\[$d\] restart-wait name=w1 delay_ms=$(kit_ms 300)"
	assert_within "$(log_time wd " reaped name=w1 pid=$new ")" \
		"$(log_time wd " restart name=w1 old=$new ")" "$(kit_ms 400)"
	awk -v a="$(log_time wd " reaped name=w1 pid=$new ")" \
		-v b="$(log_time wd " restart name=w1 old=$new ")" \
		'BEGIN { exit !(b - a >= 0.29) }' || fail "the restart did not wait"
	assert_gone "$new"
	assert_tree_sane
	end_tree
}

@test "[3.9] SIGKILL d: no w survives, the watchdog reaps them, d and every w restarted" {
	start_tree -w 2
	d=$(pid_of d) w1=$(pid_of w1) w2=$(pid_of w2)
	kill -KILL "$d"
	newd=$(wait_new d "$d")
	assert_line_in_log " watchdog\[$wd_PID\] reaped name=d pid=$d status=\"killed by SIGKILL\""
	# Orphaned by d, the w's were reparented to the watchdog (subreaper).
	wait_log wd " watchdog\[$wd_PID\] reaped name=w1 pid=$w1 "
	wait_log wd " watchdog\[$wd_PID\] reaped name=w2 pid=$w2 "
	assert_line_in_log " restart name=d old=$d new=$newd reason=died"
	# The new d starts once the old tree is gone, never beside it.
	for w in "$w1" "$w2"; do
		assert_log_order " reaped name=w[12] pid=$w " " restart name=d old=$d "
	done
	wait_new w1 "$w1" >/dev/null
	wait_new w2 "$w2" >/dev/null
	for p in "$d" "$w1" "$w2"; do assert_gone "$p"; done
	assert_tree_sane
	end_tree
}

@test "[3.2] SIGKILL the watchdog: d is told at once and stops, no process survives" {
	start_tree -w 2
	d=$(pid_of d) w1=$(pid_of w1) w2=$(pid_of w2)
	kill -KILL "$wd_PID"
	# Its death signal is SIGTERM: d starts its clean stop within 1 s.
	for ((i = 0; i < 20; i++)); do
		grep -q " d\[$d\] stop reason=SIGTERM" "$(log_of wd)" && break
		sleep 0.05
	done
	assert_line_in_log " d\[$d\] stop reason=SIGTERM"
	# Its stop waits at most -K for the w's: everything gone after that.
	limit=$(kit_scale 3)
	for ((i = 0; i < ${limit%.*} * 20; i++)); do
		[[ -z $(tagged_pids) ]] && break
		sleep 0.05
	done
	[[ -z $(tagged_pids) ]] || fail "still running $limit s later: $(tagged_pids | tr '\n' ' ')"
	# (How cleanly d stops: the [run] test below.)
	end_tree
}

@test "[run] SIGKILL the watchdog: d and every w are gone within 1 s, nothing left" {
	start_tree -w 2
	d=$(pid_of d)
	kill -KILL "$wd_PID"
	for ((i = 0; i < 20; i++)); do
		[[ -z $(tagged_pids) ]] && break
		sleep 0.05
	done
	[[ -z $(tagged_pids) ]] || fail "still running 1 s later: $(tagged_pids | tr '\n' ' ')"
	# d stopped cleanly (its death signal is SIGTERM): FIFOs and segment gone.
	assert_line_in_log " d\[$d\] stop reason=SIGTERM"
	assert_line_in_log " d\[$d\] stopped code=0"
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

@test "[run] SIGSTOP then SIGCONT before T: no kill, no restart" {
	start_tree -w 2 -T "$(kit_ms 1000)"
	w1=$(pid_of w1)
	kill -STOP "$w1"
	sleep "$(kit_scale 0.4)"
	kill -CONT "$w1"
	wait_log wd " heartbeat name=w1 pid=$w1 rtt_us=[0-9]{5,}"	# the late reply
	n=$(log_count wd " heartbeat name=w1 pid=$w1 ")
	wait_count wd " heartbeat name=w1 pid=$w1 " $((n + 3))
	assert_equal "$(log_count wd ' (heartbeat-miss|kill|restart) ')" 0
	assert_equal "$(pid_of w1)" "$w1"
	assert_tree_sane
	stop_tree
}

@test "[run] question 3.c: d logs the SIGCHLD of a w stopped, then of it continued" {
	start_tree -w 1 -T "$(kit_ms 5000)"
	w1=$(pid_of w1)
	kill -STOP "$w1"
	wait_log wd " d\[[0-9]+\] sigchld name=w1 pid=$w1 code=CLD_STOPPED signal=SIGSTOP$"
	kill -CONT "$w1"
	wait_log wd " d\[[0-9]+\] sigchld name=w1 pid=$w1 code=CLD_CONTINUED signal=SIGCONT$"
	# Nothing to reap: w1 is alive, the same process.
	assert_equal "$(log_count wd " reaped name=w1 ")" 0
	assert_equal "$(pid_of w1)" "$w1"
	stop_tree
}

# d's side of the crash loop: w_exited (3.10) applies 3.5's backoff and
# 3.6's window.
@test "[3.10] a w in a crash loop: d gives up, the tree stops, the watchdog exits 1" {
	start_prog wd watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" \
		-b "$(kit_ms 10)" -B "$(kit_ms 40)" -R 4 -W 10000 -f w1:exit
	wait_exit wd 5
	assert_equal "$status" 1
	assert_equal "$(log_count wd ' w\[[0-9]+\] fault kind=exit')" 5
	assert_line_in_log " d\[[0-9]+\] give-up reason=\"w1: w's restarted more than 4 times in 10000 ms\""
	assert_line_in_log '^d: giving up: w1: '
	assert_line_in_log '^watchdog: giving up: d gave up: a w was restarted too often$'
	# The other w was stopped cleanly, and nothing is left.
	assert_line_in_log ' w\[[0-9]+\] stop reason=(eof|SIGTERM)'
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

@test "[3.10] d waits the backoff before each restart: immediate, then doubling up to the cap" {
	start_prog wd watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" \
		-b 10 -B 40 -R 5 -W 10000 -f w1:exit
	wait_exit wd 5
	assert_equal "$status" 1
	delays=$(sed -nE 's/.* restart-wait name=w1 delay_ms=([0-9]+)$/\1/p' "$(log_of wd)" | tr '\n' ' ')
	assert_equal "$delays" "0 10 20 40 40 "
}

@test "[3.6] d in a crash loop: more than R restarts within W, exit 1 with a clear message" {
	start_prog wd watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" \
		-b "$(kit_ms 10)" -B "$(kit_ms 40)" -R 3 -W 10000 -f d:exit
	wait_exit wd 5
	assert_equal "$status" 1
	assert_equal "$(log_count wd ' d\[[0-9]+\] fault kind=exit')" 4
	assert_line_in_log '^watchdog: giving up: d restarted more than 3 times in 10000 ms$'
	assert_line_in_log ' watchdog\[[0-9]+\] give-up reason='
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
}

@test "[3.8] SIGTERM: the whole tree stops within 2 s, exit 0, nothing left" {
	start_tree -w 3
	for i in 1 2 3; do wait_log wd " d\[[0-9]+\] recv msg=pong name=w$i n=1 "; done
	d=$(pid_of d)
	pids=$(tagged_pids)
	kill -TERM "$wd_PID"
	wait_exit wd 3
	assert_equal "$status" 0
	# The watchdog leaves last: it reaped d, which had reaped its w's.
	assert_line_in_log " watchdog\[$wd_PID\] reaped name=d pid=$d status=\"exited with code 0\""
	assert_equal "$(tail -n1 "$(log_of wd)" | awk '{ print $2, $3 }')" "watchdog[$wd_PID] stopped"
	assert_within "$(log_time wd ' watchdog\[[0-9]+\] stop reason=SIGTERM')" \
		"$(log_time wd ' watchdog\[[0-9]+\] stopped ')" 2000
	for p in $pids; do assert_gone "$p"; done
	assert_equal "$(log_count wd ' w\[[0-9]+\] stop reason=eof')" 3
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

@test "[3.8] SIGINT and Enter stop the tree cleanly too" {
	start_tree -w 1
	kill -INT "$wd_PID"
	wait_exit wd 3
	assert_equal "$status" 0
	assert_line_in_log ' watchdog\[[0-9]+\] stop reason=SIGINT'

	# Enter: the watchdog's standard input is a FIFO the test writes to
	# (start_prog would give it /dev/null).
	mkfifo "$BATS_TEST_TMPDIR/keys"
	exec 7<>"$BATS_TEST_TMPDIR/keys"
	kit_cmd cmd watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" -w 1
	(close_fds; exec setsid "${cmd[@]}") <"$BATS_TEST_TMPDIR/keys" \
		>"$BATS_TEST_TMPDIR/wd2.out" 2>"$BATS_TEST_TMPDIR/wd2.log" &
	echo "$!" >"$BATS_TEST_TMPDIR/wd2.pid"
	KIT_PIDS+=("$!")
	wait_log wd2 ' watchdog\[[0-9]+\] ready '
	echo >&7
	wait_exit wd2 3
	exec 7>&-
	assert_equal "$status" 0
	grep -q ' watchdog\[[0-9]*\] stop reason=enter' "$(log_of wd2)" || fail "no stop on Enter"
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

@test "[3.8] a d that does not stop on SIGTERM is killed after -K: still exit 0 within 2 s, nothing left" {
	# d is frozen (SIGSTOP: its SIGTERM stays pending), and T is long
	# enough for the freeze to go unnoticed: only the stop's bounded wait
	# can end it.
	start_tree -w 2 -T 20000 -K 500
	d=$(pid_of d)
	kill -STOP "$d"
	kill -TERM "$wd_PID"
	wait_exit wd 3
	assert_equal "$status" 0
	assert_line_in_log " kill name=d pid=$d signal=SIGKILL reason=stop-timeout"
	assert_within "$(log_time wd ' watchdog\[[0-9]+\] stop reason=SIGTERM')" \
		"$(log_time wd ' watchdog\[[0-9]+\] stopped ')" 2000
	assert_gone "$d"
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

@test "[run] a second tree on the same names gives up and leaves the first one untouched" {
	start_tree -w 1
	d=$(pid_of d)
	start_prog wd2 watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" \
		-b 10 -B 20 -R 2 -w 1
	wait_exit wd2 5
	assert_equal "$status" 1
	grep -q "^d: run directory $RUN_DIR is in use by d\[$d\]; choose another with -r$" "$(log_of wd2)" ||
		fail "no clear refusal: $(cat "$(log_of wd2)")"
	# At once, not after R restarts, and the cause is the last line.
	assert_equal "$(log_count wd2 ' started name=d ')" 1
	assert_equal "$(tail -n1 "$(log_of wd2)")" "watchdog: giving up: run directory $RUN_DIR is in use by d[$d]; choose another with -r"
	! grep -q ' cleanup ' "$(log_of wd2)" || fail "the second tree cleaned up the first one's files"
	# The first tree still serves, with its FIFOs and its segment.
	n=$(log_count wd " recv msg=pong name=w1 ")
	wait_log wd " recv msg=pong name=w1 n=$((n + 1)) "
	assert_equal "$(pid_of d)" "$d"
	stop_tree
}

@test "[run] a registry name left by a killed watchdog is replaced; a foreign one is refused with what to do" {
	# What a watchdog killed between shm_open() and shm_unlink() leaves.
	: >"/dev/shm$SHM_NAME-reg"
	start_tree -w 1
	assert_equal "$(log_count wd " stale-segment name=$SHM_NAME-reg action=replaced$")" 1
	stop_tree
	echo data >"/dev/shm$SHM_NAME-reg"
	run_prog --separate-stderr watchdog -r "$RUN_DIR" -m "$SHM_NAME" -w 1
	rm -f "/dev/shm$SHM_NAME-reg"
	assert_failure 1
	assert_equal "${stderr_lines[-1]}" "watchdog: shared memory $SHM_NAME-reg exists and is not a stale one of ours; remove /dev/shm$SHM_NAME-reg or choose another name with -m"
}

@test "[run] bad arguments: usage on stderr, exit 2" {
	for args in "-z" "-w 0" "-w 99" "-P abc" "-T -1" "-f w3:exit" "-f w1:boom" "-f d:hang:0" "-m x" "extra"; do
		run_prog --separate-stderr watchdog $args
		assert_failure 2
		assert_regex "$stderr" 'usage: watchdog '
		assert_equal "$output" ""
	done
	run_prog --separate-stderr d -w 2
	assert_failure 2
	assert_regex "$stderr" '^d: -H FD is required'
	run_prog --separate-stderr w -n 1
	assert_failure 2
	assert_regex "$stderr" '^w: -n I and -H FD are required'
}

@test "[run] -h prints the usage on stdout and exits 0" {
	run_prog --separate-stderr watchdog -h
	assert_success
	assert_line --index 0 --regexp '^usage: watchdog '
	assert_equal "$stderr" ""
}
