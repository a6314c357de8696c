#!/usr/bin/env bats
# Step 4: the tutorial's programs (TD n°7) in C, in src/examples/:
# exercises 4.10-4.15 (echo_iter, select_server, last_server, rsh_server),
# and the programs given whole (echo_client, poll_server). A test that
# checks the answer to one of the tutorial's questions says which.

setup() {
	load "$KIT_ROOT/tests/helpers"
	kit_setup
	load system
}
teardown() { kit_teardown; }

# port_of NAME: the port in NAME's "ready port=N" line.
port_of() {
	wait_log "$1" ' ready port=[0-9]+'
	sed -nE 's/.* ready port=([0-9]+).*/\1/p' "$(log_of "$1")" | head -n1
}

# keyboard: a FIFO to type into (fd $kb) as a server's stdin.
keyboard() {
	mkfifo "$BATS_TEST_TMPDIR/keyboard"
	exec {kb}<>"$BATS_TEST_TMPDIR/keyboard"
}

# many_fds: raise the open-file limit above FD_SETSIZE for this test's
# programs, or skip the test where the hard limit does not allow it.
many_fds() {
	local hard
	hard=$(ulimit -H -n)
	[[ $hard == unlimited ]] || ((hard >= 1200)) || skip "hard open-file limit $hard: cannot go past FD_SETSIZE"
	ulimit -S -n 1200
}

@test "[4.10] echo_iter: echoes one client after the other; the second waits for the first (question 4.a)" {
	start_prog srv echo_iter -p 0 -n 2
	port=$(port_of srv)
	tcp_open a "$port"
	tcp_say "$a" "first client"
	tcp_line "$a"; assert_equal "$LINE" "first client"
	# The second one is connected (the kernel's backlog) but not served.
	tcp_open b "$port"
	tcp_say "$b" "second client"
	! IFS= read -r -t "$(kit_scale 0.3)" -u "$b" LINE || fail "served while the first is there: $LINE"
	exec {a}>&-
	tcp_line "$b"; assert_equal "$LINE" "second client"
	exec {b}>&-
	wait_exit srv 5
	assert_equal "$status" 0
	assert_equal "$(log_count srv ' connected peer=127\.0\.0\.1:')" 2
}

@test "[4.10] echo_iter: a client that resets its connection does not stop the server" {
	start_prog srv echo_iter -p 0 -n 2
	port=$(port_of srv)
	run peer reset "$port" "going away rudely"
	assert_success
	assert_output "going away rudely"
	wait_log srv ' disconnected peer='
	tcp_open a "$port"
	tcp_say "$a" "still there?"
	tcp_line "$a"; assert_equal "$LINE" "still there?"
	exec {a}>&-
	wait_exit srv 5
	assert_equal "$status" 0
}

@test "[run] echo_client: sends stdin, prints the echo, shuts down writing at the end (question 4.b)" {
	start_prog srv echo_iter -p 0 -n 1
	port=$(port_of srv)
	run bash -c 'printf "hello\nworld\n" | "$0" 127.0.0.1 "$1"' "$BIN/echo_client" "$port"
	assert_success
	assert_output --partial "hello"
	assert_output --partial "world"
	# The server saw end of file (shutdown) and went on to close.
	wait_log srv ' disconnected peer='
	wait_exit srv 5
	assert_equal "$status" 0
	run_prog --separate-stderr echo_client 127.0.0.1
	assert_failure 2
}

@test "[4.11] select_server: several clients at once, each gets its own echo (question 4.c)" {
	keyboard
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" select_server -p 0
	port=$(port_of srv)
	tcp_open a "$port"; tcp_open b "$port"; tcp_open c "$port"
	tcp_say "$c" "c first"
	tcp_line "$c"; assert_equal "$LINE" "c first"
	tcp_say "$a" "then a"
	tcp_line "$a"; assert_equal "$LINE" "then a"
	tcp_say "$b" "then b"
	tcp_line "$b"; assert_equal "$LINE" "then b"
	exec {a}>&-
	wait_log srv ' disconnected clients=2$'
	tcp_say "$c" "c again"
	tcp_line "$c"; assert_equal "$LINE" "c again"
	assert_equal "$(log_count srv ' connected peer=')" 3
	exec {b}>&- {c}>&- {kb}>&-
}

@test "[4.11] select_server: a descriptor past FD_SETSIZE is refused, the others still served (question 4.c)" {
	many_fds
	keyboard
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" select_server -p 0
	port=$(port_of srv)
	tcp_open a "$port"
	wait_log srv ' clients=1$'
	start_peer crowd hold "$port" 1030 "$(kit_scale 20)"
	wait_log crowd '^held 1030$' 10
	wait_log srv ' refused fd=1024 reason=FD_SETSIZE limit=1024$' 10
	is_running "$srv_PID" || fail "select_server died"
	tcp_say "$a" "still served"
	tcp_line "$a"; assert_equal "$LINE" "still served"
	# No client got a descriptor it could not watch.
	max=$(sed -nE 's/.* connected peer=.* fd=([0-9]+) .*/\1/p' "$(log_of srv)" | sort -n | tail -n1)
	((max < 1024)) || fail "a client on fd $max was put in an fd_set"
	# (Stopping it on Enter is 4.12's: teardown stops it.)
	exec {a}>&- {kb}>&-
}

@test "[4.12] select_server: Enter closes every client and stops it" {
	keyboard
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" select_server -p 0
	port=$(port_of srv)
	tcp_open a "$port"; tcp_open b "$port"
	tcp_say "$b" "b here"
	tcp_line "$b"; assert_equal "$LINE" "b here"
	wait_log srv ' clients=2$'
	echo >&"$kb"	# Enter
	tcp_eof "$a"
	tcp_eof "$b"
	wait_exit srv 5
	assert_equal "$status" 0
	assert_log srv ' stopping reason=stdin clients=2$'
	exec {a}>&- {b}>&- {kb}>&-
}

@test "[run] poll_server: several clients at once; Enter closes them all and stops it" {
	keyboard
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" poll_server -p 0
	port=$(port_of srv)
	tcp_open a "$port"; tcp_open b "$port"
	tcp_say "$b" "b first"
	tcp_line "$b"; assert_equal "$LINE" "b first"
	tcp_say "$a" "then a"
	tcp_line "$a"; assert_equal "$LINE" "then a"
	echo >&"$kb"	# Enter
	tcp_eof "$a"
	tcp_eof "$b"
	wait_exit srv 5
	assert_equal "$status" 0
	assert_log srv ' stopping reason=stdin clients=2$'
	exec {a}>&- {b}>&- {kb}>&-
}

@test "[run] poll_server: a client on a descriptor past FD_SETSIZE is served: what poll fixes (question 4.c)" {
	many_fds
	keyboard
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" poll_server -p 0
	port=$(port_of srv)
	start_peer crowd hold "$port" 1030 "$(kit_scale 20)"
	wait_log crowd '^held 1030$' 10
	wait_log srv ' clients=1030$'
	tcp_open a "$port"
	wait_log srv ' fd=10[3-9][0-9] clients=1031$'
	tcp_say "$a" "beyond FD_SETSIZE"
	tcp_line "$a"; assert_equal "$LINE" "beyond FD_SETSIZE"
	echo >&"$kb"
	wait_exit srv 5
	assert_equal "$status" 0
	exec {a}>&- {kb}>&-
}

@test "[4.13] last_server: waits for a first client, prints what clients send, stops after the last one" {
	start_prog srv last_server -p 0
	port=$(port_of srv)
	sleep "$(kit_scale 0.2)"
	is_running "$srv_PID" || fail "stopped before any client came"
	tcp_open a "$port"; tcp_open b "$port"
	tcp_say "$a" "from a"
	tcp_say "$b" "from b"
	wait_log srv ' connected peer=.* open=2$'
	exec {a}>&-
	wait_log srv ' closed open=1$'
	is_running "$srv_PID" || fail "stopped while b is still connected"
	exec {b}>&-
	wait_exit srv 5
	assert_equal "$status" 0
	assert_log srv ' last connection closed, bye$'
	run cat "$BATS_TEST_TMPDIR/srv.out"
	assert_line "from a"
	assert_line "from b"
}

@test "[4.14] rsh_server: an allowed command runs with its output on the client's socket, and is reaped (question 4.d)" {
	start_prog srv rsh_server -p 0 "echo hello from rsh" "uname -s" false cat
	port=$(port_of srv)
	run ss -Htln "sport = :$port"
	assert_output --regexp "127\.0\.0\.1:$port "
	tcp_open a "$port"
	tcp_say "$a" "echo hello from rsh"
	tcp_line "$a"; assert_equal "$LINE" "hello from rsh"
	tcp_say "$a" "uname -s"
	tcp_line "$a"; assert_equal "$LINE" "$(uname -s)"
	# cat reads /dev/null, not the client: the next line is still ours.
	tcp_say "$a" cat
	wait_log srv ' started command="cat"'
	tcp_say "$a" "echo hello from rsh"
	tcp_line "$a"; assert_equal "$LINE" "hello from rsh"
	tcp_say "$a" false
	wait_log srv ' reaped pid=[0-9]+ status="exited with code 1"'
	assert_equal "$(zombies_of "$srv_PID")" ""
	exec {a}>&-
	wait_exit srv 5
	assert_equal "$status" 0
	assert_equal "$(log_count srv ' started command=')" 5
	assert_equal "$(log_count srv ' reaped pid=')" 5
}

@test "[4.15] rsh_server: only the exact allowed lines run; anything else is refused (question 4.d)" {
	start_prog srv rsh_server -p 0 "echo hello" "uname -s"
	port=$(port_of srv)
	tcp_open a "$port"
	for bad in "echo hello world" "rm -rf /" "uname -s; id" "uname" "sh -c id" "echo" "" " uname -s"; do
		tcp_say "$a" "$bad"
		tcp_line "$a"; assert_equal "$LINE" "$bad: not allowed"
	done
	# An allowed line is not refused (running it is 4.14's): the server
	# reads lines in order, so once the next line is refused, it has
	# decided about this one.
	tcp_say "$a" "echo hello"
	tcp_say "$a" "id"
	wait_log srv ' refused line="id"$'
	refute_log srv ' refused line="echo hello"'
	exec {a}>&-
	wait_exit srv 5
	assert_equal "$status" 0
}

@test "[run] rsh_server: no allowed command, no server" {
	run_prog --separate-stderr rsh_server -p 0
	assert_failure 2
	assert_regex "$stderr" "give at least one allowed command line"
}
