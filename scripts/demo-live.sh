#!/usr/bin/env bash
# demo-live.sh - `make demo-live`: the full system (step 4's reference) in
# four tmux panes, for a projector (readable at 120x35):
#
#   +--------------------------------+------------------------+
#   | the watchdog's log             | the process tree:      |
#   | (Enter here stops everything)  | pid, role, state       |
#   +--------------------------------+------------------------+
#   | d's and the w's log lines      | a shell for clients,   |
#   |                                | with suggested commands|
#   +--------------------------------+------------------------+
#
# Started outside tmux, it attaches to its own session; inside tmux, it
# starts a detached session and switches to it (tmux refuses to nest), and
# the client comes back to its previous session when the demo ends.
# The README's "For teachers" section lists the key presses.
# DEMO_LIVE_DETACHED=1 starts the session without attaching to it (tests).
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v tmux >/dev/null; then
	echo "demo-live: tmux is not installed: apt-get install tmux (or run 'make demo', which needs nothing)" >&2
	exit 1
fi
make --no-print-directory step4 IMPL=solution >/dev/null || exit 1
bin=$(pwd)/build/solution/step4_client
session=osps-demo-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/osps-live.XXXXXX") || exit 1
log=$dir/system.log
: >"$log"

# The panes' programs are small scripts in $dir: easier to read (and to
# quote) than long command strings. $1 of each is the demo's directory.
cat >"$dir/watchdog.sh" <<EOF
# The watchdog in the foreground of this pane: Enter here stops the tree.
# Its log lines are shown without the "watchdog[pid]" prefix.
cd "$dir" || exit 1
echo \$\$ >sid	# this shell leads the session every process of the demo is in
"$bin/watchdog" -p 0 -w 3 -t 500 -P 500 -T 1500 -m /osps-live-$$ -r "$dir/run" \\
	2>>"$log" </dev/tty &
wd=\$!
echo "watchdog[\$wd]: press Enter in this pane to stop everything."
tail -n +1 -f "$log" --pid=\$wd | grep --line-buffered -E ' watchdog\\[' |
	grep --line-buffered -v ' heartbeat ' |
	sed -u -E 's/^([0-9]+\\.[0-9])[0-9]* watchdog\\[[0-9]+\\] /\\1 /'
wait \$wd
echo "The watchdog exited with status \$?. Press Enter to close the demo."
read -r _
tmux kill-session -t "$session"
EOF
cat >"$dir/tree.sh" <<EOF
# The demo's processes, one line each, redrawn twice a second.
until [[ -s "$dir/sid" ]]; do sleep 0.1; done
sid=\$(cat "$dir/sid")
while :; do
	screen=\$(ps -o pid=,stat=,args= -s "\$sid" | awk '
		{ prog = \$3; sub(/.*\\//, "", prog); role = prog
		  if (prog == "w") for (i = 4; i < NF; i++) if (\$i == "-n") role = "w" \$(i + 1)
		  if (prog != "watchdog" && prog != "d" && prog != "w") next
		  s = substr(\$2, 1, 1)
		  state = s == "R" ? "running" : s == "S" ? "waiting" : s == "T" ? "STOPPED (frozen)" : \\
			s == "Z" ? "ZOMBIE" : s == "D" ? "in the kernel" : s
		  rank = prog == "watchdog" ? 0 : prog == "d" ? 1 : 2
		  printf "%d %-8s %-9s %s\\n", rank, \$1, role, state }' | sort -b -k1,1n -k3,3 | cut -c3-)
	printf '\\e[H\\e[J%-8s %-9s %s\\n%s' PID ROLE STATE "\$screen"
	sleep 0.5
done
EOF
cat >"$dir/client.rc" <<EOF
# The client pane: an interactive bash with the kit's client on its PATH.
PS1='client\\$ '
export PATH="$bin:\$PATH"
until grep -q ' ready servers=' "$log"; do sleep 0.1; done
PORT=\$(sed -nE 's/.* watchdog\\[[0-9]+\\] ready .*port=([0-9]+).*/\\1/p' "$log" | head -n1)
SID=\$(cat "$dir/sid")
export PORT SID
# load [N]: N clients at once (default 12), each line printed as it ends
# ("[3] ok: done by w2 in 500 ms", or the error).
# (A subshell: no job-control chatter.)
load() {
	(for ((i = 1; i <= \${1:-12}; i++)); do
		client -p "\$PORT" requetetype1 2>&1 |
			sed -E "s/^requetetype1 ok requetetype1 /ok: /; s/^/[\$i] /" &
	done
	wait)
}
echo "The system listens on port \$PORT (\\\$PORT). Try:"
cat <<'TRY'
client -p \$PORT requetetype1 requetetype2
client -p \$PORT -i requetetype2  # Ctrl-d ends
load 12               # 12 clients at once
printf 'requetetype1\\n' | nc -N 127.0.0.1 \$PORT
pgrep -s \$SID -x w   # this demo's w's
kill -STOP <pid>      # a frozen w is restarted
TRY
EOF
# The logs of d and the w's, their prefix shortened to "1.2 w1".
logs="tail -n +1 -f '$log' | grep --line-buffered -E ' (d|w[0-9]+)\\[' |
	grep --line-buffered -Ev ' (heartbeat|recv msg=pong) ' |
	sed -u -E -e 's/^([0-9]+\\.[0-9])[0-9]* ([a-z]+[0-9]*)\\[[0-9]+\\] /\\1 \\2 /' -e 's|$dir/run|RUN|'"

# pane SUBCOMMAND ARGS...: a tmux command that makes a pane; prints its id.
pane() {
	local sub=$1
	shift
	tmux "$sub" -P -F '#{pane_id}' "$@"
}
wd_pane=$(pane new-session -d -s "$session" -x 120 -y 35 -n osps "bash $dir/watchdog.sh") || exit 1
tree_pane=$(pane split-window -h -l 52 -t "$wd_pane" "bash $dir/tree.sh")
log_pane=$(pane split-window -v -l 22 -t "$wd_pane" "$logs")
client_pane=$(pane split-window -v -l 25 -t "$tree_pane" "bash --rcfile $dir/client.rc -i")
tmux set-option -t "$session" remain-on-exit on >/dev/null
# Titles on the pane borders: they stay put while the logs scroll.
tmux set-option -t "$session" pane-border-status top >/dev/null
tmux set-option -t "$session" pane-border-format ' #{pane_title} ' >/dev/null
tmux select-pane -t "$wd_pane" -T "watchdog (Enter here: stop everything)"
tmux select-pane -t "$tree_pane" -T "process tree"
tmux select-pane -t "$log_pane" -T "d and the w's"
tmux select-pane -t "$client_pane" -T "clients"
# Inside tmux: when the demo's session ends, go back to the previous one.
tmux set-option -t "$session" detach-on-destroy off >/dev/null

cleanup() {
	tmux kill-session -t "$session" 2>/dev/null
	# Whatever is left of the demo's session (its sid is the watchdog
	# pane's shell), and only that.
	[[ -s $dir/sid ]] && pkill -KILL -s "$(cat "$dir/sid")" 2>/dev/null
	rm -rf "$dir"
	rm -f "/dev/shm/osps-live-$$"
}
if [[ ${DEMO_LIVE_DETACHED:-0} == 1 ]]; then
	echo "demo-live: session $session started (detached); watchdog pane $wd_pane; client pane $client_pane; log pane $log_pane; tree pane $tree_pane; log $log"
	exit 0
fi
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [[ -n ${TMUX:-} ]]; then
	# tmux refuses to attach from inside itself: switch this client to
	# the demo's session, and wait here until the session ends.
	if ! tmux switch-client -t "$session" 2>/dev/null; then
		echo "demo-live: session $session started; switch to it with: tmux switch-client -t $session"
	fi
	echo "demo-live: running in tmux session $session (Enter in its watchdog pane stops it)"
	while tmux has-session -t "$session" 2>/dev/null; do
		sleep 0.5
	done
elif [[ -t 0 ]]; then
	tmux attach -t "$session"
else
	echo "demo-live: not a terminal: attach with 'tmux attach -t $session' and press Enter to go on" >&2
	read -r _
fi
