#!/usr/bin/env bats
# Step 4: clients on TCP, d hands each request over to a w. Each test's
# name starts with the exercise it checks ([4.5]); [run] tests check the
# programs as a whole. A test of an exercise fails only when that
# exercise, or one that ../prerequisites declares it needs, is wrong.
# Hostile input: hostile.bats; faults under load and step 3's guarantees:
# faults.bats; the tutorial's programs: examples.bats.

setup() {
	load "$KIT_ROOT/tests/helpers"
	kit_setup
	load system
}
teardown() { kit_teardown; }

@test "[4.2] d listens on 127.0.0.1, on the port it reports, and is ready once every w is" {
	start_system sys -w 3 -t 0
	run ss -Htln "sport = :$PORT"
	assert_output --regexp "127\.0\.0\.1:$PORT "
	# The three w's were ready before d said so.
	ready=$(grep -En ' d\[[0-9]+\] ready ' "$(log_of sys)" | cut -d: -f1)
	last_w=$(grep -En ' w-ready name=w' "$(log_of sys)" | tail -n1 | cut -d: -f1)
	assert_equal "$(log_count sys ' w-ready name=w[123] ')" 3
	((last_w < ready)) || fail "d said ready (line $ready) before its last w (line $last_w)"
	# Each w listens on a port of its own, above 2222, on loopback.
	for i in 1 2 3; do
		p=$(w_port sys "$i")
		((p > 2222)) || fail "w$i's port $p"
		run ss -Htln "sport = :$p"
		assert_output --regexp "127\.0\.0\.1:$p "
	done
	end_system sys
}

@test "[4.2] d's port already in use: one clear line, exit 1, nothing left" {
	start_system sys -w 1
	run_prog --separate-stderr watchdog -p "$PORT" -r "$BATS_TEST_TMPDIR/other"
	assert_failure 1
	assert_equal "$stderr" "watchdog: bind 127.0.0.1:$PORT: Address already in use"
	[[ ! -e $BATS_TEST_TMPDIR/other ]] || fail "the run directory was left behind"
}

@test "[run] a run directory whose parent is missing: the reason, exit 1" {
	run_prog --separate-stderr watchdog -p 0 -r "$BATS_TEST_TMPDIR/missing/run" -m "$SHM_NAME"
	assert_failure 1
	assert_equal "$stderr" "watchdog: run directory $BATS_TEST_TMPDIR/missing/run: cannot be created: No such file or directory (its parent directory does not exist)"
}

@test "[run] a second tree on the same run directory stops at once, the cause as its last line" {
	start_system sys -w 1
	d=$(d_pid sys)
	run_prog --separate-stderr watchdog -p 0 -r "$RUN_DIR" -m "${SHM_NAME}-b" -P "$P" -T "$T" -w 1
	assert_failure 1
	assert_equal "${stderr_lines[-1]}" "watchdog: giving up: run directory $RUN_DIR is in use by d[$d]; choose another with -r"
	# Not restarted: a restart would meet the same refusal.
	assert_equal "$(grep -c ' started name=d ' <<<"$stderr")" 1
	assert_equal "$(d_pid sys)" "$d"
	stop_system sys
}

@test "[run] a registry name left by a killed watchdog is replaced; a foreign one is refused with what to do" {
	# What a watchdog killed between shm_open() and shm_unlink() leaves.
	: >"/dev/shm$SHM_NAME-reg"
	start_system sys -w 1
	assert_log sys " stale-segment name=$SHM_NAME-reg action=replaced$"
	stop_system sys
	echo data >"/dev/shm$SHM_NAME-reg"
	run_prog --separate-stderr watchdog -p 0 -r "$RUN_DIR" -m "$SHM_NAME" -w 1
	rm -f "/dev/shm$SHM_NAME-reg"
	assert_failure 1
	assert_equal "${stderr_lines[-1]}" "watchdog: shared memory $SHM_NAME-reg exists and is not a stale one of ours; remove /dev/shm$SHM_NAME-reg or choose another name with -m"
}

@test "[4.3] many clients at once: d holds every connection, and answers a new one" {
	start_system sys -w 2 -t 0
	start_peer crowd hold "$PORT" 30 "$(kit_scale 30)"
	wait_log crowd '^held 30$' 10
	# 30 concurrent clients: d held 30 connections at once.
	wait_log sys ' connect peer=127\.0\.0\.1:[0-9]+ clients=30$'
	d_still_answers
	kill -TERM "$crowd_PID"
	wait_log sys ' d\[[0-9]+\] disconnect peer=.* reason=(eof|reset)$'
}

@test "[run] many clients at once, fresh or reused connections: all served" {
	start_system sys -w 2 -t 0
	run_prog client -p "$PORT" -n 60 -c 30 requetetype1
	assert_success
	assert_line --regexp "^result: sent=60 ok=60 errors=0 "
	run_prog client -p "$PORT" -n 60 -c 30 -k requetetype2
	assert_success
	assert_line --regexp '^result: sent=60 ok=60 errors=0 '
}

@test "[4.4] every w busy: requests wait in the queue and are served in order" {
	start_system sys -w 1 -t "$(kit_ms 300)"
	tcp_open a "$PORT"; tcp_open b "$PORT"; tcp_open c "$PORT"
	ask_d "$a" requetetype1
	[[ -n $TOKEN ]] || fail "a got \"$LINE\""
	tcp_say "$b" requetetype1
	wait_log sys ' queued peer=.* depth=1$'
	tcp_say "$c" requetetype1
	wait_log sys ' queued peer=.* depth=2$'
	# a's request is served; then b gets the w, then c.
	tcp_open wa "$WPORT"
	tcp_say "$wa" "$TOKEN"
	tcp_line "$wa"; assert_equal "$LINE" "ok 1 requetetype1"
	tcp_line "$wa"; assert_regex "$LINE" '^result 1 '
	tcp_line "$b"
	assert_regex "$LINE" '^[0-9]+ [0-9a-f]{16}$'
	assert_log sys ' handover id=2 type=requetetype1 w=w1 '
	refute_log sys ' handover id=3 '
	exec {a}>&- {b}>&- {c}>&- {wa}>&-
}

@test "[4.4] queue full: \"error busy\", and the connection stays usable" {
	start_system sys -w 1 -q 1 -t 0
	tcp_open a "$PORT"; tcp_open b "$PORT"; tcp_open c "$PORT"
	ask_d "$a" requetetype1		# holds the only w (its token unused)
	tcp_say "$b" requetetype1		# waits in the queue
	wait_log sys ' queued peer=.* depth=1$'
	ask_d "$c" requetetype2
	assert_equal "$LINE" "error busy every w is busy and the queue is full"
	ask_d "$c" requetetype1
	assert_equal "$LINE" "error busy every w is busy and the queue is full"
	assert_log sys ' busy peer=127\.0\.0\.1:[0-9]+ type=requetetype2$'
	exec {a}>&- {b}>&- {c}>&-
}

@test "[4.4] a request queued for longer than the idle time-out gets \"error busy\"" {
	idle=$(kit_ms 400)
	start_system sys -w 1 -I "$idle" -t "$(kit_ms 2000)"
	tcp_open a "$PORT"; tcp_open b "$PORT"
	ask_d "$a" requetetype1
	tcp_open wa "$WPORT"
	tcp_say "$wa" "$TOKEN"			# a is served for 2 s
	tcp_line "$wa"; assert_equal "$LINE" "ok 1 requetetype1"
	tcp_say "$b" requetetype1
	tcp_line "$b" 3
	assert_equal "$LINE" "error busy waited too long for a w"
	assert_log sys ' busy peer=.* reason=queued-too-long$'
	exec {a}>&- {b}>&- {wa}>&-
}

@test "[4.5] a request gets \"<port> <token>\": its w's port, a fresh one-time token" {
	start_system sys -w 2 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	p1=$WPORT t1=$TOKEN
	tcp_open b "$PORT"
	ask_d "$b" requetetype2
	p2=$WPORT t2=$TOKEN
	[[ -n $t1 && -n $t2 ]] || fail "no handover: \"$LINE\""
	[[ $t1 != "$t2" ]] || fail "the same token twice: $t1"
	[[ $p1 != "$p2" ]] || fail "both requests went to the w on port $p1"
	# Each port is one a w listens on (or listened on: a w is told its
	# job only by 4.1's parser, and a w that cannot read it is replaced).
	ports=" $(sed -nE 's/.* w-ready name=w[12] pid=[0-9]+ port=([0-9]+).*/\1/p' "$(log_of sys)" | tr '\n' ' ')"
	[[ $ports == *" $p1 "* && $ports == *" $p2 "* ]] || fail "ports $p1 $p2, w's on$ports"
	assert_log sys " handover id=1 type=requetetype1 w=w[12] port=$p1 peer=127\.0\.0\.1:[0-9]+$"
	assert_log sys " handover id=2 type=requetetype2 w=w[12] port=$p2 "
	exec {a}>&- {b}>&-
}

@test "[4.6] d follows each request: debut then fin from the w's reports, the w free again" {
	start_system sys -w 1 -t 0
	# One at a time: each waits until d has heard that w is free again.
	for id in 1 2 3; do
		type=requetetype$((id == 2 ? 2 : 1))
		serve_one "$type"
		wait_log sys " d\[[0-9]+\] fin id=$id "
	done
	events=$(grep -E ' d\[[0-9]+\] (handover|debut|fin) ' "$(log_of sys)" |
		grep -Eo '(handover|debut|fin) id=[0-9]+' | tr '\n' ,)
	assert_equal "$events" "handover id=1,debut id=1,fin id=1,handover id=2,debut id=2,fin id=2,handover id=3,debut id=3,fin id=3,"
	assert_log sys ' d\[[0-9]+\] fin id=2 w=w1 ms=[0-9]+$'
}

@test "[4.6] a token never shown expires: the w reports it, d frees the w" {
	start_system sys -w 1 -t 0 -I "$(kit_ms 500)"
	tcp_open a "$PORT"
	ask_d "$a" requetetype1			# and never go to the w
	wait_log sys ' d\[[0-9]+\] failed id=1 w=w1 reason=timeout$' 5
	serve_one requetetype1
	exec {a}>&-
}

@test "[4.6] a w that reports a request it is not serving is killed and replaced" {
	start_system sys -w 1 -t 0
	old=$(w_pid sys 1)
	# Pretend to be w1 on its FIFO: d must not believe it.
	echo "fintraitement 999" >"$RUN_DIR/wdtube1"
	wait_log sys " kill name=w1 pid=$old signal=SIGKILL reason=wrong-request-id"
	wait_log sys " reaped name=w1 pid=$old status=\"killed by SIGKILL\""
	wait_count sys ' w-ready name=w1 ' 2
	new=$(w_pid sys 1)
	[[ $new != "$old" ]] || fail "w1 was not replaced"
	serve_one requetetype1
	end_system sys
}

@test "[4.7] the right token: \"ok <id> <request>\", then the exchange" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	tcp_open wa "$WPORT"
	tcp_say "$wa" "$TOKEN"
	tcp_line "$wa"; assert_equal "$LINE" "ok 1 requetetype1"
	assert_log sys ' w1\[[0-9]+\] serving id=1 type=requetetype1 peer='
	exec {a}>&- {wa}>&-
}

@test "[4.7] a wrong, missing or used token: \"error badtoken\", closed; the w serves on" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	good=$TOKEN wport=$WPORT
	for bad in fedcba9876543210 "" hello requetetype1 "${good^^}" "$good "; do
		tcp_open x "$wport"
		tcp_say "$x" "$bad"
		tcp_line "$x"
		assert_equal "$LINE" "error badtoken no request of yours is waiting here"
		tcp_eof "$x"
		exec {x}>&-
	done
	# The real client is still welcome, once.
	tcp_open x "$wport"
	tcp_say "$x" "$good"
	tcp_line "$x"; assert_equal "$LINE" "ok 1 requetetype1"
	exec {x}>&-
	tcp_open x "$wport"
	tcp_say "$x" "$good"
	tcp_line "$x"
	assert_equal "$LINE" "error badtoken no request of yours is waiting here"
	exec {x}>&- {a}>&-
	assert_equal "$(log_count sys ' w1\[[0-9]+\] badtoken ')" 7
}

# bats test_tags=timing
@test "[4.8] requetetype1: the result after the processing time, then the w reports fin" {
	t=$(kit_ms 300)
	start_system sys -w 1 -t "$t"
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	tcp_open wa "$WPORT"
	start=$(date +%s%N)
	tcp_say "$wa" "$TOKEN"
	tcp_line "$wa"; assert_equal "$LINE" "ok 1 requetetype1"
	tcp_line "$wa"; assert_equal "$LINE" "result 1 requetetype1 done by w1 in $t ms"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	((elapsed >= t)) || fail "result after $elapsed ms, before the processing time ($t ms)"
	tcp_eof "$wa"
	wait_log sys ' w1\[[0-9]+\] fin id=1$'
	exec {a}>&- {wa}>&-
}

@test "[4.8] requetetype1 with a client that only shut down its writing (nc -N) still gets its result" {
	start_system sys -w 1 -t "$(kit_ms 200)"
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" <<<"$TOKEN"
	assert_success
	assert_line --index 0 "ok 1 requetetype1"
	assert_line --index 1 --regexp '^result 1 requetetype1 done by w1 in [0-9]+ ms$'
	exec {a}>&-
}

@test "[run] requetetype2: each line echoed until the client shuts down writing, then \"end <id> <count>\"" {
	start_system sys -w 1
	tcp_open a "$PORT"
	ask_d "$a" requetetype2
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" < <(printf '%s\n' "$TOKEN" one "two words" "" three)
	assert_success
	assert_equal "$output" "$(printf '%s\n' "ok 1 requetetype2" one "two words" "" three "end 1 4")"
	wait_log sys ' d\[[0-9]+\] fin id=1 w=w1 '
	exec {a}>&-
}

# The client's tests talk to a stand-in for d and its w (peer.py fake):
# they need none of d's and w's exercises.
@test "[4.9] client: its requests in order on one d connection, one line each, exit 0" {
	start_fake fake
	run_prog --separate-stderr client -p "$FAKE_D" requetetype1 requetetype2 requetetype1
	assert_success
	assert_line --index 0 'requetetype1 ok requetetype1 done by w1 in 0 ms'
	assert_line --index 1 "requetetype2 ok 3 lines echoed"
	assert_line --index 2 'requetetype1 ok requetetype1 done by w1 in 0 ms'
	assert_equal "${#lines[@]}" 3
	# One connection to d for the three requests.
	assert_equal "$(log_count fake '^connect$')" 1
	assert_equal "$(log_count fake '^handover ')" 3
}

@test "[4.9] client: a failed request says why, the others still run, exit 1" {
	start_fake fake busy
	run_prog --separate-stderr client -p "$FAKE_D" requetetype1 requetetype2
	assert_failure 1
	assert_line --index 0 "requetetype1 busy every w is busy and the queue is full"
	assert_line --index 1 "requetetype2 busy every w is busy and the queue is full"
	run_prog client -p 1 requetetype1
	assert_failure 1
	assert_output "client: connect 127.0.0.1:1: Connection refused"
}

@test "[4.9] client -i: requetetype2 types stdin's lines and prints the echoes" {
	start_fake fake
	run bash -c 'printf "hello\nworld\n" | "$0" -i -p "$1" requetetype2' "$BIN/client" "$FAKE_D"
	assert_success
	assert_output "$(printf '%s\n' hello world 'requetetype2 ok 2 lines echoed')"
}

@test "[run] client load mode: requests/s, latencies, and outcomes that add up" {
	start_system sys -w 2 -q 0 -t "$(kit_ms 50)"
	# 2 w's, no queue, 6 at a time: some get "busy", all are counted.
	run_prog client -p "$PORT" -n 40 -c 6 requetetype1
	assert_failure 1
	assert_line --index 0 "load: requests=40 concurrency=6 mode=fresh type=requetetype1"
	assert_line --index 1 --regexp '^result: sent=40 ok=[0-9]+ errors=[0-9]+ elapsed_s=[0-9.]+ req_per_s=[0-9.]+$'
	assert_line --index 2 --regexp '^latency_ms: p50=[0-9.]+ p99=[0-9.]+ max=[0-9.]+$'
	assert_line --index 3 --regexp '^outcomes: ok=[0-9]+ unknown=0 toolong=0 timeout=0 busy=[1-9][0-9]* badtoken=0 shutdown=0 clientgone=0 wdied=0 badbyte=0 refused=0 closed=0 garbled=0 expired=0$'
	sum=$(sed -nE 's/^outcomes: //p' <<<"$output" | tr ' ' '\n' | cut -d= -f2 | paste -sd+ | bc)
	assert_equal "$sum" 40
	ok=$(sed -nE 's/^result: .* ok=([0-9]+) .*/\1/p' <<<"$output")
	errors=$(sed -nE 's/^result: .* errors=([0-9]+) .*/\1/p' <<<"$output")
	assert_equal "$((ok + errors))" 40
}

@test "[run] nc speaks to d and to a w by hand" {
	start_system sys -w 1 -t 0
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$PORT" <<<requetetype1
	assert_success
	assert_output --regexp '^[0-9]+ [0-9a-f]{16}$'
	read -r wport token <<<"$output"
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$wport" <<<"$token"
	assert_success
	assert_output "$(printf '%s\n' "ok 1 requetetype1" "result 1 requetetype1 done by w1 in 0 ms")"
	run timeout "$(kit_scale 5)" socat -t 5 - "TCP:127.0.0.1:$PORT" <<<bonjour
	assert_output "error unknown expected requetetype1 or requetetype2"
}

@test "[run] clean stop: SIGTERM, clients told \"error shutdown\", nothing left" {
	start_system sys -w 2 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	dp=$(d_pid sys)
	kill -TERM "$sys_PID"
	tcp_line "$a"
	assert_equal "$LINE" "error shutdown d is stopping"
	tcp_eof "$a"
	wait_exit sys 3
	assert_equal "$status" 0
	assert_log sys " d\[$dp\] stopped code=0$"
	assert_log sys ' watchdog\[[0-9]+\] stopped code=0 '
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	exec {a}>&-
}

@test "[run] SIGINT stops the tree cleanly too" {
	start_system sys -w 1 -t 0
	run_prog client -p "$PORT" requetetype1
	assert_success
	kill -INT "$sys_PID"
	wait_exit sys 3
	assert_equal "$status" 0
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
}

@test "[run] -h prints the usage on stdout; bad usage: stderr, exit 2" {
	for prog in watchdog d w client; do
		run_prog --separate-stderr "$prog" -h
		assert_success
		assert_line --index 0 --regexp "^usage: $prog "
		assert_equal "$stderr" ""
	done
	for args in "watchdog -z" "watchdog -p 70000" "watchdog -w 0" "watchdog extra" \
		"d -q x" "d -I 5" "d -F nonsense" "d" "w" "w -n 1" "client" "client -p 0 requetetype1" \
		"client requetetype3" "client -n 5 -i requetetype2"; do
		run_prog --separate-stderr $args
		assert_failure 2
		assert_regex "$stderr" "usage: ${args%% *} "
		assert_equal "$output" ""
	done
}

# readme_block HEADING: the command lines of the first sh block after the
# README's line HEADING, without prompts ("$ ") and comments.
readme_block() {
	awk -v h="$1" '$0 == h { f = 1; next } f && /^```sh/ { b = 1; next }
		b && /^```/ { exit } b' "$BATS_TEST_DIRNAME/../README.md" |
		sed -E 's/^\$ //; s/ +#.*$//'
}

# readme_cmd LINE: the README's command LINE as words, build/step4_client/
# dropped (run_prog finds the programs).
readme_cmd() { read -r -a CMD <<<"${1#build/step4_client/}"; }

@test "[run] README, \"How to run\": every command line works as documented" {
	run readme_block '## How to run'
	# A line added to the README needs its check below.
	assert_output "$(cat <<-'EOF2'
	build/step4_client/watchdog
	build/step4_client/client requetetype1 requetetype2
	build/step4_client/client -i requetetype2
	build/step4_client/watchdog -w 4 -t 0
	build/step4_client/client -n 2000 -c 50 requetetype1
	build/step4_client/client -n 2000 -c 50 -k requetetype1
	build/step4_client/watchdog -p 0 -t 100
	build/step4_client/watchdog -h
	EOF2
	)"
	mapfile -t cmds <<<"$output"
	# Each system gets a free port, the test's run directory and names
	# (tests run side by side); clients are pointed at it with -p.
	n=$( [[ ${VALGRIND:-0} == 1 ]] && echo 200 || echo 2000 )
	readme_cmd "${cmds[0]}"
	start_system one "${CMD[@]:1}"
	readme_cmd "${cmds[1]}"
	run_prog "${CMD[0]}" -p "$PORT" "${CMD[@]:1}"
	assert_success
	assert_line --regexp '^requetetype1 ok requetetype1 done by w[0-9] in 500 ms$'
	assert_line 'requetetype2 ok 3 lines echoed'
	readme_cmd "${cmds[2]}"
	run bash -c 'printf "hello\nworld\n" | "$0" -p "$1" "${@:2}"' "$BIN/${CMD[0]}" "$PORT" "${CMD[@]:1}"
	assert_success
	assert_output "$(printf '%s\n' hello world 'requetetype2 ok 2 lines echoed')"
	stop_system one
	readme_cmd "${cmds[3]}"
	start_system two "${CMD[@]:1}"
	for i in 4 5; do
		readme_cmd "${cmds[i]}"
		RUN_TIMEOUT=60 run_prog "${CMD[0]}" -p "$PORT" "${CMD[@]:1:1}" "$n" "${CMD[@]:3}"
		assert_success
		assert_line --regexp "^result: sent=$n ok=$n errors=0 "
	done
	stop_system two
	readme_cmd "${cmds[6]}"
	start_system three "${CMD[@]:1}"
	run_prog client -p "$PORT" requetetype1
	assert_success
	assert_output --regexp '^requetetype1 ok requetetype1 done by w[0-9] in 100 ms$'
	stop_system three
	readme_cmd "${cmds[7]}"
	run_prog "${CMD[@]}"
	assert_success
	assert_output --partial 'usage: watchdog'
}

@test "[run] README, \"By hand\": nc and socat as documented get both answers" {
	# 1 s of processing: socat without -t would quit 0.5 s after its
	# input ends, and the result would be lost every time.
	start_system sys -w 1 -t 1000
	# The README's own socat command line, pointed at the test's ports.
	socat_cmd=$(grep -o 'socat [^#]*TCP:127.0.0.1:2222' "$BATS_TEST_DIRNAME/../README.md" | head -n1)
	[[ -n $socat_cmd ]] || fail "no socat example in the README"
	read -r -a sc <<<"${socat_cmd%:2222}"
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$PORT" <<<requetetype1
	assert_output --regexp '^[0-9]+ [0-9a-f]{16}$'
	read -r wport token <<<"$output"
	# The token, then end of input at once: the result, after the
	# processing time, must still reach the terminal.
	run timeout "$(kit_scale 10)" "${sc[@]}:$wport" <<<"$token"
	assert_output "$(printf '%s\n' "ok 1 requetetype1" "result 1 requetetype1 done by w1 in 1000 ms")"
	run timeout "$(kit_scale 10)" "${sc[@]}:$PORT" <<<requetetype1
	assert_output --regexp '^[0-9]+ [0-9a-f]{16}$'
	# The one-liner of the text.
	line=$(grep -o "echo requetetype1 | nc -N 127.0.0.1 2222" "$BATS_TEST_DIRNAME/../README.md")
	[[ -n $line ]] || fail "no one-line nc example in the README"
	run timeout "$(kit_scale 5)" bash -c "${line%2222}$PORT"
	assert_output --regexp '^[0-9]+ [0-9a-f]{16}$'
}
