#!/usr/bin/env bats
# Step 4: faults. Servers killed or frozen while the load client runs:
# every request must end in a success or an explicit error, the counts
# must add up, the system must recover, nothing may be left behind. Then
# step 3's guarantees, checked again on step 4's tree.

setup() {
	load "$KIT_ROOT/tests/helpers"
	kit_setup
	load system
}
teardown() { kit_teardown; }

# load_result NAME N: NAME's output (a load client) says sent=N, ok + errors
# = N, every outcome counted, and no error other than the closed or
# refused connections a dying server causes.
load_result() {
	local out ok errors sum
	out=$(cat "$BATS_TEST_TMPDIR/$1.out")
	grep -Eq "^result: sent=$2 ok=[0-9]+ errors=[0-9]+ " <<<"$out" ||
		fail "not $2 requests sent: $out"
	ok=$(sed -nE 's/^result: .* ok=([0-9]+) .*/\1/p' <<<"$out")
	errors=$(sed -nE 's/^result: .* errors=([0-9]+) .*/\1/p' <<<"$out")
	assert_equal "$((ok + errors))" "$2"
	sum=$(sed -nE 's/^outcomes: //p' <<<"$out" | tr ' ' '\n' | cut -d= -f2 | paste -sd+ | bc)
	assert_equal "$sum" "$2"
	grep -Eq '^outcomes: ok=[0-9]+ unknown=0 toolong=0 timeout=0 busy=0 badtoken=0 shutdown=0 clientgone=0 wdied=0 badbyte=0 refused=[0-9]+ closed=[0-9]+ garbled=0 expired=0$' <<<"$out" ||
		fail "unexpected outcomes: $out"
	((ok > 0)) || fail "nothing succeeded: $out"
	echo "# $(grep '^outcomes:' <<<"$out")" >&3
}

# bats test_tags=timing
@test "[run] SIGKILL a w under load: each request succeeds or fails clearly, counts add up, the w is back" {
	start_system sys -w 4 -t "$(kit_ms 20)"
	start_prog load client -p "$PORT" -n 400 -c 20 requetetype1
	wait_count sys ' d\[[0-9]+\] fin id=' 40 10
	victim=$(w_pid sys 2)
	kill -KILL "$victim"
	wait_exit load 30
	# 1 if a request was on w2 when it died; 0 if w2 was between two
	# (STRESS=1 makes that common): the counts below hold either way.
	((status == 0 || status == 1)) || fail "the load client exited with $status"
	load_result load 400
	assert_log sys " reaped name=w2 pid=$victim status=\"killed by SIGKILL\""
	[[ $(w_pid sys 2) != "$victim" ]] || fail "w2 was not restarted"
	# Its request, if it had one, is accounted for in d's log too.
	run_prog client -p "$PORT" requetetype1 requetetype2
	assert_success
	stop_system sys
}

# bats test_tags=timing
@test "[run] SIGSTOP d under load: the watchdog restarts the tree on the same port, counts add up" {
	start_system sys -w 4 -t "$(kit_ms 20)"
	start_prog load client -p "$PORT" -n 400 -c 20 requetetype1
	wait_count sys ' d\[[0-9]+\] fin id=' 40 10
	old=$(d_pid sys)
	kill -STOP "$old"
	wait_log sys " kill name=d pid=$old signal=SIGKILL reason=heartbeat-miss group=yes" 5
	wait_log sys " restart name=d old=$old new=[0-9]+ reason=heartbeat-miss" 5
	wait_exit load 30
	load_result load 400
	# The new d took over the same listening socket.
	new=$(d_pid sys)
	[[ $new != "$old" ]] || fail "d was not restarted"
	assert_equal "$(d_port sys)" "$PORT"
	run_prog client -p "$PORT" requetetype1
	assert_success
	stop_system sys
}

@test "[run] step 3 on step 4: a w killed is restarted alone; d and the other w's stay" {
	start_system sys -w 3 -t 0
	d0=$(d_pid sys) w1=$(w_pid sys 1) w2=$(w_pid sys 2) w3=$(w_pid sys 3)
	kill -KILL "$w2"
	wait_count sys ' w-ready name=w2 ' 2
	assert_equal "$(d_pid sys)" "$d0"
	assert_equal "$(w_pid sys 1)" "$w1"
	assert_equal "$(w_pid sys 3)" "$w3"
	[[ $(w_pid sys 2) != "$w2" ]] || fail "w2 not replaced"
	wait_log sys " watchdog\[[0-9]+\] up name=w2 pid=$(w_pid sys 2) "
	[[ -z $(zombies_of "$d0") ]] || fail "zombie: $(zombies_of "$d0")"
	run_prog client -p "$PORT" requetetype1 requetetype1 requetetype1
	assert_success
	stop_system sys
}

# bats test_tags=timing
@test "[run] step 3 on step 4: d frozen, so d and every w are killed and restarted in time" {
	start_system sys -w 2 -t 0
	d0=$(d_pid sys) w1=$(w_pid sys 1) w2=$(w_pid sys 2)
	t0=$(mono_kill STOP "$d0")
	wait_log sys " kill name=d pid=$d0 signal=SIGKILL reason=heartbeat-miss group=yes" 5
	assert_within "$t0" "$(log_time sys " kill name=d pid=$d0 ")" "$((P + T + 50))"
	wait_count sys ' d\[[0-9]+\] ready port=' 2 5
	for p in "$d0" "$w1" "$w2"; do
		! is_running "$p" || fail "old server $p is still there"
	done
	[[ $(w_pid sys 1) != "$w1" && $(w_pid sys 2) != "$w2" ]] || fail "the w's were not restarted"
	run_prog client -p "$PORT" requetetype1
	assert_success
	stop_system sys
}

@test "[run] step 3 on step 4: d SIGKILLed: no w survives it, the tree is back on the same port" {
	start_system sys -w 2 -t 0
	d0=$(d_pid sys) w1=$(w_pid sys 1) w2=$(w_pid sys 2)
	kill -KILL "$d0"
	wait_log sys " reaped name=d pid=$d0 status=\"killed by SIGKILL\""
	wait_count sys ' d\[[0-9]+\] ready port=' 2 5
	for p in "$d0" "$w1" "$w2"; do
		! is_running "$p" || fail "old server $p is still there"
	done
	assert_equal "$(d_port sys)" "$PORT"
	assert_tree_sane_s4 sys
	run_prog client -p "$PORT" requetetype1 requetetype2
	assert_success
	stop_system sys
}

@test "[run] step 3 on step 4: a w whose loop hangs (handlers alive) is replaced" {
	start_system sys -w 2 -t 0 -f w1:hang:3
	old=$(w_pid sys 1)
	wait_log sys " w1\[$old\] fault kind=hang after=3"
	wait_log sys " kill name=w1 pid=$old signal=SIGKILL reason=heartbeat-miss"
	wait_count sys ' w-ready name=w1 ' 2
	run_prog client -p "$PORT" requetetype1 requetetype1
	assert_success
	stop_system sys
}

@test "[run] step 3 on step 4: the watchdog SIGKILLed, the whole tree is gone within 1 s" {
	start_system sys -w 2
	tree="$(d_pid sys) $(w_pid sys 1) $(w_pid sys 2)"
	kill -KILL "$sys_PID"
	for i in $(seq 20); do
		left=
		for p in $tree; do is_running "$p" && left+=" $p"; done
		[[ -z $left ]] && break
		sleep 0.05
	done
	[[ -z $left ]] || fail "still running after 1 s:$left"
	wait_exit sys 2
	# d stopped cleanly (SIGTERM from PR_SET_PDEATHSIG): its FIFOs are gone.
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
}

@test "[run] step 3 on step 4: a w in a crash loop: d gives up, the tree stops, exit 1" {
	start_prog sys watchdog -p 0 -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" -K "$K" \
		-g "$(kit_ms 5000)" -b "$(kit_ms 10)" -B "$(kit_ms 40)" -w 2 -R 3 -W 60000 \
		-f w2:exit
	wait_exit sys 10
	assert_equal "$status" 1
	assert_log sys ' d\[[0-9]+\] give-up reason="w2: w.s restarted more than 3 times in 60000 ms"'
	assert_log sys ' watchdog\[[0-9]+\] stopped code=1 '
	assert_log sys '^watchdog: giving up: d gave up: a w was restarted too often$'
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
}

# bats test_tags=timing
@test "[run] step 3 on step 4: a w stopped then continued before T is not restarted" {
	start_system sys -w 2 -T "$(kit_ms 1000)"
	w1=$(w_pid sys 1)
	kill -STOP "$w1"
	sleep "$(kit_scale 0.3)"
	kill -CONT "$w1"
	run_prog client -p "$PORT" requetetype1 requetetype1
	assert_success
	sleep "$(kit_scale 1)"
	refute_log sys ' (heartbeat-miss|kill|restart) '
	assert_equal "$(w_pid sys 1)" "$w1"
	stop_system sys
}

@test "[run] step 3 on step 4: d logs the SIGCHLD of a w stopped, then continued (question 3.c)" {
	start_system sys -w 1 -T "$(kit_ms 5000)"
	w1=$(w_pid sys 1)
	kill -STOP "$w1"
	wait_log sys " d\[[0-9]+\] sigchld name=w1 pid=$w1 code=CLD_STOPPED signal=SIGSTOP$"
	kill -CONT "$w1"
	wait_log sys " d\[[0-9]+\] sigchld name=w1 pid=$w1 code=CLD_CONTINUED signal=SIGCONT$"
	run_prog client -p "$PORT" requetetype1
	assert_success
	refute_log sys ' reaped name=w1 '
	stop_system sys
}
