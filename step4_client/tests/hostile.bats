#!/usr/bin/env bats
# Step 4: hostile input. Each test sends d or a w something a well-behaved
# client never would, then checks that the server answered it (or closed
# it) as PROTOCOL.md says, and kept serving everybody else.

setup() {
	load "$KIT_ROOT/tests/helpers"
	kit_setup
	load system
}
teardown() { kit_teardown; }

# still_serving: a normal client gets its two requests served (the whole
# system at work: for [run] tests and exercises that need it all).
still_serving() {
	run_prog client -p "$PORT" requetetype1 requetetype2
	assert_success
}

# w_still_serves: a new request's token is still welcome at w1's port
# (d_still_answers, system.bash, is d's side).
w_still_serves() {
	local dc wc
	tcp_open dc "$PORT"
	ask_d "$dc" requetetype1
	tcp_open wc "$WPORT"
	tcp_say "$wc" "$TOKEN"
	tcp_line "$wc"
	exec {dc}>&- {wc}>&-
	assert_regex "$LINE" '^ok [0-9]+ requetetype1$'
}

@test "[4.3] random bytes to d: an error line or a close, never a crash; others served" {
	start_system sys -w 1 -t 0
	for seed in 1 2 3; do
		run peer random "$PORT" 3000 "$seed"
		assert_success
		# Either "error unknown" lines (random bytes held a newline),
		# "error toolong" (a long stretch without one), or both.
		assert_output --regexp '^(error (unknown|toolong) [a-z0-9 ]+\\n)+$'
	done
	d_still_answers
	refute_log sys ' (reaped|kill|restart) '
}

@test "[4.7] random bytes to a w's port: \"error badtoken\" or \"error toolong\", closed" {
	start_system sys -w 1 -t 0
	wport=$(w_port sys 1)
	for seed in 1 2 3; do
		run peer random "$wport" 2000 "$seed"
		assert_success
		assert_output --regexp '^error (badtoken|toolong) [a-z0-9 ]+\\n$'
	done
	w_still_serves
}

@test "[4.3] an empty line: \"error unknown\", and the connection stays usable" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" ""
	assert_equal "$LINE" "error unknown expected requetetype1 or requetetype2"
	# The next line is read as a request (what d answers it is 4.4's).
	ask_d "$a" "requetetype1"
	[[ -n $LINE && $LINE != "error unknown"* ]] || fail "after the empty line: \"$LINE\""
	exec {a}>&-
}

@test "[4.3] a line over 512 bytes: \"error toolong\", then closed; 512 bytes is fine" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" "$(printf 'x%.0s' {1..512})"
	assert_equal "$LINE" "error unknown expected requetetype1 or requetetype2"
	ask_d "$a" "$(printf 'x%.0s' {1..513})"
	assert_equal "$LINE" "error toolong a line is at most 512 bytes"
	tcp_eof "$a"
	exec {a}>&-
	# A line with no end at all, 100 kB of it: the same, d holds 1 kB at most.
	run peer send "$PORT" "$(printf 'y%.0s' {1..2000})"
	assert_success
	d_still_answers
	assert_log sys ' d\[[0-9]+\] toolong peer='
}

# bats test_tags=timing
@test "[4.3] a client that connects and says nothing is timed out and closed" {
	start_system sys -w 1 -t 0 -I "$(kit_ms 500)"
	tcp_open a "$PORT"
	start=$(date +%s%N)
	tcp_line "$a" 5
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_equal "$LINE" "error timeout idle for too long"
	tcp_eof "$a"
	((elapsed >= $(kit_ms 400))) || fail "timed out after $elapsed ms, before the idle time-out"
	exec {a}>&-
	assert_log sys ' d\[[0-9]+\] disconnect peer=127\.0\.0\.1:[0-9]+ reason=timeout$'
	d_still_answers
}

@test "[4.7] a w's port without a token: silent, timed out; junk, refused" {
	start_system sys -w 1 -t 0 -I "$(kit_ms 500)"
	wport=$(w_port sys 1)
	tcp_open x "$wport"
	tcp_line "$x" 5
	assert_equal "$LINE" "error timeout idle for too long"
	tcp_eof "$x"
	exec {x}>&-
	tcp_open x "$wport"
	tcp_say "$x" "GET / HTTP/1.0"
	tcp_line "$x"
	assert_equal "$LINE" "error badtoken no request of yours is waiting here"
	exec {x}>&-
	w_still_serves
}

@test "[4.7] strangers filling a w's port do not lock the real client out" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	start_peer crowd hold "$WPORT" 80 "$(kit_scale 30)"
	wait_log crowd '^held 80$' 10
	wait_log sys ' w1\[[0-9]+\] evicted peer='
	tcp_open x "$WPORT"
	tcp_say "$x" "$TOKEN"
	tcp_line "$x"; assert_equal "$LINE" "ok 1 requetetype1"
	exec {a}>&- {x}>&-
}

@test "[4.6] clients that leave mid-request: d and the w notice, and serve the next" {
	start_system sys -w 1 -t "$(kit_ms 300)"
	# 1. Half a request line, then gone.
	run peer send "$PORT" "requet"
	assert_success
	wait_log sys ' d\[[0-9]+\] disconnect peer=.* reason=eof-mid-line$'
	# 2. (A request, then gone before going to the w: its token expires,
	# see step4.bats.) At the w with the token, then a crash (a reset) while processing.
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	run peer reset "$WPORT" "$TOKEN"
	assert_output "ok 1 requetetype1"
	wait_log sys ' d\[[0-9]+\] failed id=1 w=w1 reason=clientgone$'
	assert_log sys ' w1\[[0-9]+\] failed id=1 reason=clientgone$'
	# 3. requetetype2, and gone in the middle of a line.
	ask_d "$a" requetetype2
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" < <(printf '%s\nhalf a li' "$TOKEN")
	assert_output "ok 2 requetetype2"
	wait_log sys ' d\[[0-9]+\] failed id=2 w=w1 reason=clientgone$'
	exec {a}>&-
	serve_one requetetype1
	refute_log sys ' (reaped|kill) '
}

@test "[4.3] 1,100 connections to d at once (beyond select's 1,024): all held, others served" {
	# The usual soft limit of a desktop session: d must raise its own.
	# (Not under valgrind, which keeps descriptors of its own at the top
	# of the range and does not let a program raise its limit.)
	[[ ${VALGRIND:-0} == 1 ]] || ulimit -S -n 1024
	start_system sys -w 2 -t 0
	start_peer crowd hold "$PORT" 1100 "$(kit_scale 30)"
	wait_log sys ' d\[[0-9]+\] connect peer=.* clients=1100$' 30
	wait_log crowd '^held 1100$' 10
	# d holds descriptors numbered above 1023, and still serves.
	dp=$(d_pid sys)
	maxfd=$(ls "/proc/$dp/fd" | sort -n | tail -n1)
	((maxfd > 1100)) || fail "d's highest descriptor is $maxfd"
	if [[ ${VALGRIND:-0} != 1 ]]; then
		soft=$(awk '/^Max open files/ { print $4 }' "/proc/$dp/limits")
		hard=$(awk '/^Max open files/ { print $5 }' "/proc/$dp/limits")
		assert_equal "$soft" "$hard"
	fi
	d_still_answers
	kill -TERM "$crowd_PID"
	wait_log sys ' d\[[0-9]+\] disconnect peer=.* reason=(eof|reset)$'
}

# bats test_tags=timing
@test "[run] 1,000 concurrent clients: no error" {
	# The queue holds them all, and none waits longer than the idle time-out.
	start_system sys -w 4 -t 0 -Q -I "$(kit_ms 20000)"
	run_prog client -p "$PORT" -n 2000 -c 1000 -T "$(kit_ms 30000)" requetetype1
	assert_success
	assert_line --regexp '^result: sent=2000 ok=2000 errors=0 '
}

@test "[4.3] a burst of connections opened and closed at once: d is unmoved" {
	start_system sys -w 1 -t 0 -Q
	run peer burst "$PORT" 2000
	assert_success
	assert_output "burst 2000 refused 0"
	d_still_answers
	refute_log sys ' (reaped|kill|warn|accept) '
}

@test "[4.4] requests pipelined behind a queued one: each answered, in order" {
	start_system sys -w 1 -t 0
	hold_w x
	# Two requests in one write, while the only w is busy: both wait.
	tcp_open b "$PORT"
	printf '%s' $'requetetype1\nrequetetype1\n' >&"$b"	# one write()
	wait_log sys ' d\[[0-9]+\] queued peer='
	exec {x}>&-
	for id in 2 3; do
		tcp_line "$b"
		[[ $LINE =~ ^([0-9]+)\ ([0-9a-f]{16})$ ]] || fail "request $id: \"$LINE\""
		tcp_open y "${BASH_REMATCH[1]}"
		tcp_say "$y" "${BASH_REMATCH[2]}"
		tcp_line "$y"; assert_equal "$LINE" "ok $id requetetype1"
		tcp_line "$y"; assert_regex "$LINE" "^result $id "
		exec {y}>&-
	done
	exec {b}>&-
}

@test "[4.4] nc -N: requests pipelined, then end of file: each answered, then closed" {
	start_system sys -w 1 -t 0
	hold_w x
	start_nc b "$PORT" 'requetetype1\nrequetetype1\n'
	wait_log sys ' d\[[0-9]+\] queued peer='
	exec {x}>&-
	for id in 2 3; do
		wait_lines b $((id - 1))
		[[ $OUT =~ ^([0-9]+)\ ([0-9a-f]{16})$ ]] || fail "request $id: \"$OUT\""
		run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "${BASH_REMATCH[1]}" <<<"${BASH_REMATCH[2]}"
		assert_line --index 0 "ok $id requetetype1"
	done
	wait_exit b
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/b.out")" 2
	refute_log sys 'reason=eof-mid-line'
}

@test "[4.3] a NUL or a control byte in a request: \"error unknown\", the next line is served" {
	start_system sys -w 1 -t 0
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$PORT" \
		< <(printf 'requetetype1\0junk\nrequetetype1\001\nrequetetype1\n')
	assert_line --index 0 "error unknown expected requetetype1 or requetetype2"
	assert_line --index 1 "error unknown expected requetetype1 or requetetype2"
	# The third is read as a request (what d answers it is 4.4's).
	[[ ${lines[2]} != "error unknown"* ]] || fail "the third line: \"${lines[2]}\""
	assert_equal "${#lines[@]}" 3
}

@test "[4.7] a token followed by a NUL is no token; the real one still works" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" < <(printf '%s\0junk\n' "$TOKEN")
	assert_output "error badtoken no request of yours is waiting here"
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" <<<"$TOKEN"
	assert_line --index 0 "ok 1 requetetype1"
	exec {a}>&-
}

@test "[run] requetetype2: a line with a NUL or a control byte: \"error badbyte\", d told" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype2
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" < <(printf '%s\nfine\nab\0cd\nlost\n' "$TOKEN")
	assert_output "$(printf 'ok 1 requetetype2\nfine\nerror badbyte a line holds a byte that is not text')"
	wait_log sys ' d\[[0-9]+\] failed id=1 w=w1 reason=badbyte$'
	ask_d "$a" requetetype2
	run timeout "$(kit_scale 5)" nc -N 127.0.0.1 "$WPORT" < <(printf '%s\nbell\a\n' "$TOKEN")
	assert_output "$(printf 'ok 2 requetetype2\nerror badbyte a line holds a byte that is not text')"
	exec {a}>&-
	still_serving
}

@test "[run] requetetype2: lines sent with the token are echoed at once" {
	start_system sys -w 1 -t 0
	tcp_open a "$PORT"
	ask_d "$a" requetetype2
	tcp_open y "$WPORT"
	# One write() (printf writes line by line with \n in its format), no
	# end of file: the lines arrive with the token.
	printf '%s' "$TOKEN"$'\nhello\nworld\n' >&"$y"
	tcp_line "$y"; assert_equal "$LINE" "ok 1 requetetype2"
	tcp_line "$y"; assert_equal "$LINE" "hello"
	tcp_line "$y"; assert_equal "$LINE" "world"
	exec {a}>&- {y}>&-
}

# bats test_tags=timing
@test "[run] a w out of descriptors (limit 64): no spin, few warnings, strangers evicted, the client served" {
	[[ ${VALGRIND:-0} == 1 ]] && skip "valgrind keeps descriptors of its own at the top of the limit"
	start_system sys -w 1 -t 0
	wpid=$(w_pid sys 1)
	# What `ulimit -n 64` in w's shell would give it: 100 strangers cannot
	# all have a descriptor, and accept() fails with EMFILE.
	prlimit --pid "$wpid" --nofile=64:64
	tcp_open a "$PORT"
	ask_d "$a" requetetype1
	start_peer crowd hold "$WPORT" 100 "$(kit_scale 30)"
	wait_log crowd '^held 100$' 10
	cpu0=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
	sleep 1	# the window in which a spinning w would burn its CPU
	cpu1=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
	(((cpu1 - cpu0) * 100 < 20 * $(getconf CLK_TCK))) ||
		fail "w used $(((cpu1 - cpu0) * 100 / $(getconf CLK_TCK)))% of a CPU while out of descriptors"
	tcp_open x "$WPORT"
	tcp_say "$x" "$TOKEN"
	tcp_line "$x"; assert_equal "$LINE" "ok 1 requetetype1"
	tcp_line "$x"; assert_regex "$LINE" '^result 1 '
	exec {a}>&- {x}>&-
	assert_log sys ' w1\[[0-9]+\] evicted peer='
	assert_log sys '^w1: accept port [0-9]+: Too many open files$'
	(($(log_count sys '^w1: accept') <= 5)) ||
		fail "$(log_count sys '^w1: accept') warnings about accept() in a few seconds"
}
