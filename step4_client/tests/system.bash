# system.bash - helpers for step 4's process tests: start the whole system
# or d alone, find ports and pids in the logs, talk TCP from bash.
# Loaded by every .bats file of the step after tests/helpers.

# Short timings for tests, stretched by TIMEOUT_SCALE (as step 3's).
P=$(kit_ms 100)		# heartbeat period
T=$(kit_ms 300)		# heartbeat reply time-out
K=$(kit_ms 1500)	# clean-stop wait
# Idle time-out of connections and tokens: long enough that a slow start
# of nc or python3 on a busy machine never looks like an idle client.
# Tests about the time-out itself set a short one with -I.
IDLE=$(kit_ms 5000)

# start_system NAME [watchdog options...]: start the watchdog (and so d
# and the w's) on a free port, with the test's run directory, registry
# name and timings; wait until d is ready. PORT is d's port.
start_system() {
	local name=$1
	shift
	start_prog "$name" watchdog -p 0 -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" \
		-K "$K" -g "$(kit_ms 5000)" -b "$(kit_ms 20)" -B "$(kit_ms 200)" \
		-I "$IDLE" "$@"
	wait_ready "$name"
	PORT=$(d_port "$name")
}

# wait_ready NAME: wait (10 s, scaled) until d says ready in NAME's log;
# fail at once, showing the log, if NAME has exited instead.
wait_ready() {
	local pid limit i
	pid=$(cat "$BATS_TEST_TMPDIR/$1.pid")
	limit=$(kit_scale 10)
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		grep -Eqs ' d\[[0-9]+\] ready port=[0-9]+' "$(log_of "$1")" && return 0
		is_running "$pid" || break
		sleep 0.05
	done
	echo "# d never said ready in $1's log:" >&2
	tail -n 30 "$(log_of "$1")" | sed 's/^/#   /' >&2
	return 1
}

# d_port NAME: the port of the latest d that said ready in NAME's log.
d_port() { sed -nE 's/.* d\[[0-9]+\] ready port=([0-9]+).*/\1/p' "$(log_of "$1")" | tail -n1; }

# d_pid NAME: the pid of the latest d that said ready.
d_pid() { sed -nE 's/.* d\[([0-9]+)\] ready port=.*/\1/p' "$(log_of "$1")" | tail -n1; }

# w_pid NAME I / w_port NAME I: pid and port of the latest w<I> that is ready.
w_pid() { sed -nE "s/.* w-ready name=w$2 pid=([0-9]+) .*/\1/p" "$(log_of "$1")" | tail -n1; }
w_port() { sed -nE "s/.* w-ready name=w$2 pid=[0-9]+ port=([0-9]+).*/\1/p" "$(log_of "$1")" | tail -n1; }

# wait_count NAME ERE N [SECONDS]: wait until NAME's log has N lines matching ERE.
wait_count() {
	local i limit
	limit=$(kit_scale "${4:-5}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		(($(log_count "$1" "$2") >= $3)) && return 0
		sleep 0.05
	done
	echo "# fewer than $3 lines matching /$2/ in $1's log after ${limit}s:" >&2
	tail -n 30 "$(log_of "$1")" | sed 's/^/#   /' >&2
	return 1
}

# tcp_open VAR PORT: connect to 127.0.0.1:PORT; the descriptor goes in VAR.
tcp_open() { eval "exec {$1}<>/dev/tcp/127.0.0.1/$2"; }


# tcp_say FD TEXT: send TEXT and a newline.
tcp_say() { printf '%s\n' "$2" >&"$1"; }

# tcp_line FD [SECONDS]: read one line (without its newline) into LINE;
# fail on end of file or after SECONDS (default 5, scaled).
tcp_line() {
	LINE=
	IFS= read -r -t "$(kit_scale "${2:-5}")" -u "$1" LINE && return 0
	echo "# no line from descriptor $1 (end of file or time-out)" >&2
	return 1
}

# tcp_eof FD [SECONDS]: expect end of file (the server closed), nothing else.
tcp_eof() {
	local rest
	if IFS= read -r -t "$(kit_scale "${2:-5}")" -u "$1" rest; then
		fail "expected end of file, got \"$rest\""
	fi
	[[ -z $rest ]] || fail "expected end of file, got \"$rest\""
}

# ask_d FD REQUEST: send REQUEST on d connection FD, read the reply into
# LINE; on a handover, WPORT and TOKEN are set.
ask_d() {
	tcp_say "$1" "$2"
	tcp_line "$1" || return 1
	WPORT= TOKEN=
	if [[ $LINE =~ ^([0-9]+)\ ([0-9a-f]{16})$ ]]; then
		WPORT=${BASH_REMATCH[1]} TOKEN=${BASH_REMATCH[2]}
	fi
}

# peer ARGS...: the step's python peer (tests/peer.py), fd 3 closed.
peer() {
	(close_fds; export PEER_WAIT=$(kit_scale 0.5); exec timeout -k 2 "$(kit_scale 60)" \
		python3 "$BATS_TEST_DIRNAME/peer.py" "$@")
}

# start_peer NAME ARGS...: the python peer in the background, stopped at
# teardown like any started program; output in NAME.out, log in NAME.log.
start_peer() {
	local name=$1
	shift
	(close_fds; exec setsid python3 -u "$BATS_TEST_DIRNAME/peer.py" "$@") \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.log" &
	echo "$!" >"$BATS_TEST_TMPDIR/$name.pid"
	printf -v "${name}_PID" '%s' "$!"
	KIT_PIDS+=("$!")
}

# start_fake NAME [busy]: the python stand-in for d and a w (peer.py
# fake), for the client's tests: they then need none of d's or w's
# exercises. FAKE_D is its d port; its log (NAME.log) says "connect" per d
# connection and "handover id=N type=T" per request handed over.
start_fake() {
	local i limit
	start_peer "$1" fake "${@:2}"
	limit=$(kit_scale 10)
	for ((i = 0; i < ${limit%.*} * 20; i++)); do
		# (NAME.out may not be there yet: the shell creates it in the
		# background.)
		FAKE_D=$(sed -nE 's/^d=([0-9]+) .*/\1/p' "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null) || true
		[[ -n $FAKE_D ]] && return 0
		sleep 0.05
	done
	fail "peer.py fake did not start: $(cat "$BATS_TEST_TMPDIR/$1.log")"
}

# stop_system NAME: SIGTERM the watchdog, expect exit 0 within 3 s and an
# empty run directory.
stop_system() {
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/$1.pid")"
	wait_exit "$1" 3
	assert_equal "$status" 0
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
}

# end_system NAME: end the system from the test's side (end_all,
# helpers.bash). Exercise tests end with this, so that a broken exercise
# cannot fail another one's test by a stop gone wrong.
end_system() { end_all "$1"; }

# d_still_answers: a new connection to d is accepted and answered (an
# unknown line gets "error unknown"): d serves on, whatever became of
# the w's.
d_still_answers() {
	local probe
	tcp_open probe "$PORT"
	ask_d "$probe" hello
	exec {probe}>&-
	assert_equal "$LINE" "error unknown expected requetetype1 or requetetype2"
}

# serve_one TYPE: one request, by hand on TCP (not with the client,
# which is 4.9's): the handover, the token, "ok", then the result
# (requetetype1) or the end of the echo (requetetype2).
serve_one() {
	local dc wc
	tcp_open dc "$PORT"
	ask_d "$dc" "$1"
	[[ -n $TOKEN ]] || fail "no handover for $1: \"$LINE\""
	tcp_open wc "$WPORT"
	tcp_say "$wc" "$TOKEN"
	tcp_line "$wc"
	assert_regex "$LINE" "^ok [0-9]+ $1$"
	if [[ $1 == requetetype2 ]]; then shutdown_write "$wc"; fi
	tcp_line "$wc"
	exec {dc}>&- {wc}>&-
	assert_regex "$LINE" '^(result|end) [0-9]+ '
}

# shutdown_write FD: end of file for the peer of the socket FD, which
# stays open for reading (what nc -N does).
shutdown_write() {
	python3 -c 'import socket, sys
socket.socket(fileno=int(sys.argv[1])).shutdown(socket.SHUT_WR)' "$1"
}

# assert_log NAME ERE: NAME's log has a line matching ERE.
assert_log() {
	grep -Eq -- "$2" "$(log_of "$1")" ||
		fail "no line matching /$2/ in $1's log:$(tail -n 30 "$(log_of "$1")" | sed 's/^/\n#   /')"
}

# refute_log NAME ERE: NAME's log has no line matching ERE.
refute_log() {
	! grep -Eq -- "$2" "$(log_of "$1")" ||
		fail "unexpected line in $1's log: $(grep -Em3 -- "$2" "$(log_of "$1")")"
}

# start_prog_input NAME INPUT PROG ARGS...: start_prog, with stdin read
# from the file (or FIFO) INPUT. (A background job's stdin is /dev/null
# unless redirected on the job itself.)
start_prog_input() {
	local name=$1 input=$2 cmd
	shift 2
	kit_cmd cmd "$@"
	(close_fds; exec setsid "${cmd[@]}" <"$input") >"$BATS_TEST_TMPDIR/$name.out" \
		2>"$BATS_TEST_TMPDIR/$name.log" &
	local pid=$!
	echo "$pid" >"$BATS_TEST_TMPDIR/$name.pid"
	printf -v "${name}_PID" '%s' "$pid"
	KIT_PIDS+=("$pid")
}

# assert_tree_sane_s4 NAME: no zombie among the test's processes, and no
# orphan: each is the watchdog started as NAME or a child of one of them.
assert_tree_sane_s4() {
	local p ppid state ours top
	top=$(cat "$BATS_TEST_TMPDIR/$1.pid")
	ours=" $(tagged_pids | tr '\n' ' ') "
	for p in $ours; do
		[[ -r /proc/$p/stat ]] || continue
		read -r ppid state < <(awk '{ print $4, $3 }' "/proc/$p/stat")
		[[ $state == Z ]] && fail "zombie: $(ps -o pid=,args= -p "$p")"
		[[ $p == "$top" || $ours == *" $ppid "* ]] ||
			fail "orphan: $(ps -o pid=,ppid=,args= -p "$p")"
	done
	return 0
}

# start_nc NAME PORT FORMAT: `nc -N 127.0.0.1 PORT` in the background, fed
# printf FORMAT (escapes such as \n or \0 allowed): it shuts down its
# writing once FORMAT is sent, as PROTOCOL.md's examples do. Its output
# goes to NAME.out; wait for it with wait_lines.
start_nc() {
	local name=$1 port=$2
	# shellcheck disable=SC2059
	printf "$3" >"$BATS_TEST_TMPDIR/$name.in"
	(close_fds; exec setsid nc -N 127.0.0.1 "$port" <"$BATS_TEST_TMPDIR/$name.in") \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.log" &
	echo "$!" >"$BATS_TEST_TMPDIR/$name.pid"
	KIT_PIDS+=("$!")
}

# wait_lines NAME N [SECONDS]: wait until NAME.out holds N lines; then
# OUT is its line N.
wait_lines() {
	local i limit file=$BATS_TEST_TMPDIR/$1.out
	limit=$(kit_scale "${3:-5}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		if (($(wc -l <"$file") >= $2)); then
			OUT=$(sed -n "$2p" "$file")
			return 0
		fi
		sleep 0.05
	done
	fail "fewer than $2 lines from $1 after ${limit}s: $(cat "$file")"
}

# hold_w FD: as a requetetype2 client, keep the only w busy until FD is
# closed (the w then reads end of file, answers "end" and is free).
hold_w() {
	local d
	tcp_open d "$PORT"
	ask_d "$d" requetetype2
	exec {d}>&-
	tcp_open "$1" "$WPORT"
	tcp_say "${!1}" "$TOKEN"
	tcp_line "${!1}"
	assert_regex "$LINE" '^ok [0-9]+ requetetype2$'
}
