#!/usr/bin/env bats
# Step 4: the tutorial's programs (seed 000) in C, the worked examples in
# src/examples/. They are given whole, not exercises: these tests show
# what each one does, and its limits.

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

@test "[run] echo_iter: echoes one client after the other; the second waits for the first" {
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

@test "[run] echo_client: sends stdin, prints the echo, shuts down writing at the end" {
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

@test "[run] poll_server: several clients at once; Enter closes them all and stops it" {
	mkfifo "$BATS_TEST_TMPDIR/keyboard"
	exec {kb}<>"$BATS_TEST_TMPDIR/keyboard"
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

@test "[run] poll_server: a client with a descriptor above 1023 is served (poll, not select)" {
	mkfifo "$BATS_TEST_TMPDIR/keyboard"
	exec {kb}<>"$BATS_TEST_TMPDIR/keyboard"
	start_prog_input srv "$BATS_TEST_TMPDIR/keyboard" poll_server -p 0
	port=$(port_of srv)
	start_peer crowd hold "$port" 999 "$(kit_scale 20)"
	wait_log crowd '^held 999$' 10
	wait_log srv ' clients=999$'
	tcp_open a "$port"
	wait_log srv ' clients=1000$'
	tcp_say "$a" "beyond FD_SETSIZE"
	tcp_line "$a"; assert_equal "$LINE" "beyond FD_SETSIZE"
	echo >&"$kb"
	wait_exit srv 5
	assert_equal "$status" 0
	exec {a}>&- {kb}>&-
}

@test "[run] last_server: prints what its clients send, stops after the last one" {
	start_prog srv last_server -p 0
	port=$(port_of srv)
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

@test "[run] rsh_server: runs the allowed command lines only, output to the client" {
	start_prog srv rsh_server -p 0 "echo hello from rsh" "uname -s" false
	port=$(port_of srv)
	run ss -Htln "sport = :$port"
	assert_output --regexp "127\.0\.0\.1:$port "
	tcp_open a "$port"
	tcp_say "$a" "echo hello from rsh"
	tcp_line "$a"; assert_equal "$LINE" "hello from rsh"
	tcp_say "$a" "uname -s"
	tcp_line "$a"; assert_equal "$LINE" "$(uname -s)"
	for bad in "echo hello" "rm -rf /" "uname -s; id" "uname" "sh -c id" ""; do
		tcp_say "$a" "$bad"
		tcp_line "$a"; assert_equal "$LINE" "$bad: not allowed"
	done
	tcp_say "$a" false
	wait_log srv ' reaped pid=[0-9]+ status="exited with code 1"'
	exec {a}>&-
	wait_exit srv 5
	assert_equal "$status" 0
	assert_equal "$(log_count srv ' started command=')" 3
	assert_equal "$(log_count srv ' reaped pid=')" 3
}

@test "[run] rsh_server: no allowed command, no server" {
	run_prog --separate-stderr rsh_server -p 0
	assert_failure 2
	assert_regex "$stderr" "give at least one allowed command line"
}
