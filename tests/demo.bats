#!/usr/bin/env bats
# The teachers' tools, as a teacher on a projector meets them: make demo
# (pauses on a terminal, 80 columns, full contrast, step 1's lost updates),
# make demo-live (inside and outside tmux, driven with send-keys and read
# with capture-pane) and make timeline (labels that never overlap).
# Every tmux here runs on a server of the test's own (TMUX_TMPDIR), killed
# at teardown.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	export TMUX_TMPDIR=$BATS_TEST_TMPDIR/tmux
	mkdir -p "$TMUX_TMPDIR"
	unset TMUX TMUX_PANE
	SCALE=${TIMEOUT_SCALE:-1}
}

teardown() {
	local sid=
	# A demo-live the test started: every process of its session (by
	# session id), its directory and segment; then the test's tmux server.
	[[ -n ${LIVE_DIR:-} && -s $LIVE_DIR/sid ]] && sid=$(cat "$LIVE_DIR/sid")
	tmux kill-server 2>/dev/null
	TMUX_TMPDIR=$BATS_TEST_TMPDIR/term tmux kill-server 2>/dev/null	# a "terminal"
	[[ -n $sid ]] && pkill -KILL -s "$sid" 2>/dev/null
	[[ -n ${LIVE_DIR:-} ]] && rm -rf "$LIVE_DIR"
	[[ -n ${LIVE_PID:-} ]] && rm -f "/dev/shm/osps-live-$LIVE_PID"
	return 0
}

# tm ARGS...: tmux, without bats' fd 3 (a server holding it hangs bats).
tm() { tmux "$@" 3>&-; }

# screen PANE [-S -]: what PANE shows now (its lines, trailing blanks
# cut); with -S -, its history too.
screen() { tm capture-pane -p -t "$@" | sed 's/ *$//'; }

# wait_screen PANE ERE [SECONDS [visible]]: until PANE (its history too,
# unless "visible") shows a line matching ERE (default 10 s, scaled); on
# time-out, print the pane and fail.
wait_screen() {
	local i limit from=(-S -)
	limit=$(awk -v s="${3:-10}" -v k="$SCALE" 'BEGIN { printf "%d", s * k * 10 }')
	[[ ${4:-} == visible ]] && from=()
	for ((i = 0; i < limit; i++)); do
		screen "$1" "${from[@]}" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	echo "# pane $1 never showed /$2/; it shows:" >&2
	screen "$1" | sed 's/^/#   /' >&2
	return 1
}

# pane_titled SESSION TITLE-PREFIX: the id of SESSION's pane so titled.
pane_titled() {
	tm list-panes -t "$1" -F '#{pane_id} #{pane_title}' | awk -v t="$2" 'index($0, " " t) { print $1; exit }'
}

# live_session: the name of the demo-live session on the test's server.
live_session() { tm list-sessions -F '#{session_name}' 2>/dev/null | grep -m1 '^osps-demo-'; }

@test "[run] make demo: on a terminal it waits for Enter at each stage; q stops; full contrast" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	make --no-print-directory step1 IMPL=solution >/dev/null
	tm new-session -d -s demo -x 100 -y 50 "scripts/demo.sh 1; echo demo exited \$?; sleep 600"
	wait_screen demo: '^-- Enter: next stage, q: stop --'
	sleep "$(awk -v k="$SCALE" 'BEGIN { print 0.5 * k }')"
	run screen demo:
	assert_line --partial "== d creates the segment"
	refute_line --partial "== Race mode"
	tm send-keys -t demo: Enter
	wait_screen demo: '^demo exited 0$' 30
	run screen demo:
	assert_line --partial "== Race mode"
	assert_line "Every stage behaved as expected."
	refute_line --partial "Enter: next stage"	# the prompt is erased once answered
	# Full contrast: bold and colours, never faint (ESC[2m).
	run tm capture-pane -p -e -t demo:
	assert_output --partial $'\e[1m'
	refute_output --partial $'\e[2m'

	tm kill-session -t demo
	tm new-session -d -s demo -x 100 -y 50 "scripts/demo.sh 1; echo demo exited \$?; sleep 600"
	wait_screen demo: '^-- Enter: next stage, q: stop --'
	tm send-keys -t demo: q
	wait_screen demo: '^demo exited 0$'
	run screen demo:
	assert_line "Demo stopped."
	refute_line --partial "== Race mode"

	tm kill-session -t demo
	tm new-session -d -s demo -x 100 -y 50 "PAUSE=0 scripts/demo.sh 1; echo demo exited \$?; sleep 600"
	wait_screen demo: '^demo exited 0$' 30
	run screen demo:
	refute_line --partial "Enter: next stage"
}

@test "[run] make demo STEP=1..4: within 80 columns, each ✓ after its evidence, no answer key; step 1 loses updates" {
	for n in 1 2 3 4; do
		run -0 scripts/demo.sh "$n"
		assert_line "Every stage behaved as expected."
		long=$(awk 'length > 80' <<<"$output")
		[[ -z $long ]] || fail "step $n: lines over 80 columns: $long"
		refute_output --regexp 'ANSWERS|solutions/'
		refute_output --partial $'\e['
		# shellcheck disable=SC2030
		eval "out$n=\$output"
	done
	lost=$(sed -nE 's/^  ✓ updates were lost: ([0-9]+) of 400000000$/\1/p' <<<"$out1")
	((lost > 0)) || fail "step 1: no lost update shown: $out1"
	grep -q "Here it happened $lost times" <<<"$out1" || fail "step 1 does not say how many and why"
	# Step 4: the kill is on screen before the ✓ that sums it up.
	kill_line=$(grep -n ' kill name=w1 pid=[0-9]* signal=SIGKILL' <<<"$out4" | head -n1 | cut -d: -f1)
	check_line=$(grep -n '✓ the watchdog killed w1 for a missed heartbeat' <<<"$out4" | cut -d: -f1)
	((kill_line > 0 && kill_line < check_line)) || fail "the ✓ ($check_line) before its evidence ($kill_line)"
}

@test "[run] make demo-live inside tmux: its own session; a frozen w is killed and restarted on screen; Enter stops, nothing left" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	make --no-print-directory step4 IMPL=solution >/dev/null
	tm new-session -d -s outer -x 120 -y 35 "scripts/demo-live.sh; echo demo-live exited \$?; sleep 600"
	for ((i = 0; i < 100; i++)); do s=$(live_session) && break; sleep 0.1; done
	[[ -n $s ]] || fail "no demo session; outer pane: $(screen outer:)"
	LIVE_PID=${s#osps-demo-}
	for ((i = 0; i < 100; i++)); do	# the panes get their titles last
		client=$(pane_titled "$s" clients) tree=$(pane_titled "$s" "process tree")
		wd=$(pane_titled "$s" watchdog) logs=$(pane_titled "$s" "d and")
		[[ -n $client && -n $tree && -n $wd && -n $logs ]] && break
		sleep 0.1
	done
	wait_screen "$client" 'The system listens on port [0-9]+'
	LIVE_DIR=$(grep -ls "osps-live-$LIVE_PID " "${TMPDIR:-/tmp}"/osps-live.*/watchdog.sh | xargs dirname)
	# The tree pane: one line per process: pid, role, state.
	wait_screen "$tree" '^[0-9]+ +w3 +waiting$'
	run screen "$tree"
	assert_equal "$(grep -cE '^[0-9]+ +(watchdog|d|w[123]) +waiting$' <<<"$output")" 5
	w1=$(awk '$2 == "w1" { print $1 }' <<<"$output")
	tm send-keys -t "$client" "kill -STOP $w1" Enter
	wait_screen "$tree" "^$w1 +w1 +STOPPED" 10 visible
	wait_screen "$wd" " kill name=w1 pid=$w1 signal=SIGKILL reason=heartbeat-miss$"
	wait_screen "$logs" " d restart name=w1 old=$w1 new=[0-9]+$"
	wait_screen "$tree" '^[0-9]+ +w1 +waiting$' 10 visible
	run screen "$tree"
	refute_output --partial "$w1 "
	run screen outer:
	refute_output --partial "nested"
	# Enter in the watchdog's pane stops the tree; Enter again ends the demo.
	tm send-keys -t "$wd" Enter
	wait_screen "$wd" 'The watchdog exited with status 0'
	tm send-keys -t "$wd" Enter
	wait_screen outer: '^demo-live exited 0$'
	[[ -z $(live_session) ]] || fail "the demo's session is still there"
	[[ ! -e $LIVE_DIR ]] || fail "left behind: $LIVE_DIR"
	[[ ! -e /dev/shm/osps-live-$LIVE_PID ]] || fail "left behind: /dev/shm/osps-live-$LIVE_PID"
}

@test "[run] make demo-live outside tmux: it attaches to its session; Enter twice stops and closes it, nothing left" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	make --no-print-directory step4 IMPL=solution >/dev/null
	# A terminal outside tmux: a pane of another tmux server (its own
	# socket directory), in which TMUX is unset.
	mkdir -p "$BATS_TEST_TMPDIR/term"
	TMUX_TMPDIR=$BATS_TEST_TMPDIR/term tm new-session -d -s term -x 120 -y 35 \
		"env -u TMUX TMUX_TMPDIR=$TMUX_TMPDIR scripts/demo-live.sh; echo demo-live exited \$?; sleep 600"
	for ((i = 0; i < 100; i++)); do s=$(live_session) && break; sleep 0.1; done
	[[ -n $s ]] || fail "no demo session"
	LIVE_PID=${s#osps-demo-}
	LIVE_DIR=$(grep -ls "osps-live-$LIVE_PID " "${TMPDIR:-/tmp}"/osps-live.*/watchdog.sh | xargs dirname)
	for ((i = 0; i < 100; i++)); do
		[[ $(tm list-clients -t "$s" | wc -l) -eq 1 ]] && break
		sleep 0.1
	done
	assert_equal "$(tm list-clients -t "$s" | wc -l)" 1	# the terminal is attached
	for ((i = 0; i < 100; i++)); do wd=$(pane_titled "$s" watchdog) && [[ -n $wd ]] && break; sleep 0.1; done
	wait_screen "$wd" ' ready servers=4 '
	tm send-keys -t "$wd" Enter
	wait_screen "$wd" 'The watchdog exited with status 0'
	tm send-keys -t "$wd" Enter
	TMUX_TMPDIR=$BATS_TEST_TMPDIR/term wait_screen term: '^demo-live exited 0$'
	[[ -z $(live_session) ]] || fail "the demo's session is still there"
	[[ ! -e $LIVE_DIR ]] || fail "left behind: $LIVE_DIR"
	[[ ! -e /dev/shm/osps-live-$LIVE_PID ]] || fail "left behind: /dev/shm/osps-live-$LIVE_PID"
	TMUX_TMPDIR=$BATS_TEST_TMPDIR/term tmux kill-server
}

@test "[run] make demo-live: 120x35 panes; the suggested commands answer at once (within 2 s, even loaded), pgrep sees this demo only" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	run -0 env DEMO_LIVE_DETACHED=1 scripts/demo-live.sh
	s=$(sed -nE 's/^demo-live: session ([^ ]+) .*/\1/p' <<<"$output")
	LIVE_PID=${s#osps-demo-}
	LIVE_DIR=$(dirname "$(sed -nE 's/.* log (.*)$/\1/p' <<<"$output")")
	client=$(sed -nE 's/.* client pane ([^;]+);.*/\1/p' <<<"$output")
	tree=$(sed -nE 's/.* tree pane ([^;]+);.*/\1/p' <<<"$output")
	run -0 tm display -p -t "$s" '#{window_width}x#{window_height}'
	assert_output "120x35"
	wait_screen "$client" 'The system listens on port [0-9]+'
	wait_screen "$tree" '^[0-9]+ +w3 +waiting$'
	# No suggestion wraps in its pane.
	width=$(tm display -p -t "$client" '#{pane_width}')
	run screen "$client"
	long=$(awk -v w="$width" 'length > w - 1' <<<"$output")
	[[ -z $long ]] || fail "wider than the pane ($width): $long"
	# The nc line: d's answer, and nc closes by itself.
	tm send-keys -t "$client" "printf 'requetetype1\\n' | nc -N 127.0.0.1 \$PORT; echo nc-done" Enter
	wait_screen "$client" '^[0-9]+ [0-9a-f]{16}$' 2
	wait_screen "$client" '^nc-done$' 2
	# The load: its first results within a second, then all of them.
	tm send-keys -t "$client" "load 6; echo load-done" Enter
	wait_screen "$client" '^\[[1-6]\] ok: done by w[1-3] in 500 ms$' 2
	wait_screen "$client" '^load-done$' 10
	run screen "$client" -S -
	assert_equal "$(grep -cE '^\[[1-6]\] ok: done by w[1-3] in 500 ms$' <<<"$output")" 6
	# pgrep, scoped to the demo's session: its three w's, as in the tree.
	tm send-keys -t "$client" 'clear; pgrep -s $SID -x w | sort -n | xargs' Enter
	run screen "$tree"
	ws=$(awk '$2 ~ /^w[0-9]$/ { print $1 }' <<<"$output" | sort -n | xargs)
	wait_screen "$client" "^$ws\$" 2
}

@test "[run] make timeline: a crowded log: labels never overlap, one marker per kind, all in the legend, killed lanes end in a cross" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	# Three w's killed and restarted every 50 ms, then d with its group:
	# heartbeat-miss, kill, reaped, restart and ready within 5 ms each time.
	python3 - >"$BATS_TEST_TMPDIR/crowd.log" <<-'EOF'
		t, out = 100.0, []
		def log(dt, s): out.append(f"{t + dt:.3f} {s}")
		log(0, "watchdog[10] started name=d pid=11")
		for w in (1, 2, 3):
		    log(0.002, f"d[11] started name=w{w} pid={20 + w}")
		    log(0.003, f"w{w}[{20 + w}] ready port=2")
		log(0.005, "watchdog[10] ready servers=4")
		cur, pid = {1: 21, 2: 22, 3: 23}, 30
		for i in range(9):
		    t += 0.05 if i % 3 else 0.3
		    w = 1 + i % 3
		    log(0.000, "watchdog[10] heartbeat name=d pid=11 rtt_us=5")
		    log(0.001, f"watchdog[10] heartbeat-miss name=w{w} pid={cur[w]} waited_ms=600")
		    log(0.002, f"watchdog[10] kill name=w{w} pid={cur[w]} signal=SIGKILL reason=heartbeat-miss")
		    log(0.003, f'd[11] reaped name=w{w} pid={cur[w]} status="killed by SIGKILL"')
		    log(0.004, f"d[11] restart name=w{w} old={cur[w]} new={pid}")
		    log(0.005, f"w{w}[{pid}] ready port=3")
		    log(0.006, f"w{w}[{pid}] serving id={i} type=requetetype1")
		    cur[w], pid = pid, pid + 1
		t += 0.3
		log(0, "watchdog[10] heartbeat-miss name=d pid=11 waited_ms=600")
		log(0.001, "watchdog[10] kill name=d pid=11 signal=SIGKILL reason=heartbeat-miss group=yes")
		log(0.002, 'watchdog[10] reaped name=d pid=11 status="killed by SIGKILL"')
		for w, p in cur.items():
		    log(0.002, f'watchdog[10] reaped name=w{w} pid={p} status="killed by SIGKILL"')
		log(0.003, "watchdog[10] restart name=d old=11 new=50")
		log(0.004, "d[50] ready port=1")
		log(0.005, "watchdog[10] give-up reason=too-many-restarts")
		log(0.006, "d[50] stopped code=0")
		log(0.007, "watchdog[10] stopped code=1")
		print("\n".join(out))
	EOF
	run -0 python3 scripts/timeline.py "$BATS_TEST_TMPDIR/crowd.log" "$BATS_TEST_TMPDIR/crowd.png" \
		--boxes "$BATS_TEST_TMPDIR/boxes.json"
	assert_line --partial "(82 events, 15 processes)"
	run -0 file "$BATS_TEST_TMPDIR/crowd.png"
	assert_output --partial "PNG image data"
	run -0 python3 - "$BATS_TEST_TMPDIR/boxes.json" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		boxes = [(l["text"], l["box"]) for l in d["labels"]]
		assert len(boxes) >= 30, f"only {len(boxes)} labels placed"
		for i, (ta, a) in enumerate(boxes):
		    assert 0 <= a[0] < a[2] <= d["width"] and 0 <= a[1] < a[3] <= d["height"], (ta, a)
		    for tb, b in boxes[:i]:
		        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
		        assert apart, f"label {ta!r} {a} overlaps {tb!r} {b}"
		markers = d["markers"]
		assert len({tuple(m) for m in markers.values()}) == len(markers), f"shared markers: {markers}"
		for kind in ("ready", "started", "restart", "kill", "heartbeat-miss", "give-up", "reaped",
		             "stopped", "heartbeat"):
		    assert kind in d["legend"], f"{kind} not in the legend {d['legend']}"
		assert "any other event" in d["legend"] and "killed (its lane ends)" in d["legend"]
		lanes = d["lanes"]
		assert lanes["w1[21]"] == {"end": 0.302, "killed": True}, lanes["w1[21]"]   # its kill
		assert lanes["d[11]"]["killed"] and not lanes["watchdog[10]"]["killed"]
		print(f"{len(boxes)} labels, none overlapping; {len(d['left_out'])} left out")
	EOF
	assert_output --regexp 'labels, none overlapping'
}
