#!/usr/bin/env bash
# demo-live.sh - `make demo-live`: the full system (step 4's reference) in
# four tmux panes, for a projector: the watchdog's log (Enter in that pane
# stops everything), d and the w's log lines, the process tree refreshed
# twice a second, and a shell to run clients in (selected).
#
# The README's "Live demo" section lists the key presses to follow.
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

# Pane 0: the watchdog in the foreground: Enter in this pane stops the tree.
tmux new-session -d -s "$session" -x 200 -y 50 -n osps -P -F '#{pane_id}' >"$dir/pane.wd" \
	"$bin/watchdog -p 0 -w 3 -t 2000 -P 500 -T 1500 -m /osps-live-$$ -r $dir/run 2>>$log </dev/tty & wd=\$!;
	 echo \"watchdog[\$wd] is running: press Enter here to stop everything.\";
	 tail -n +1 -f $log --pid=\$wd | grep --line-buffered -E ' watchdog\\[' | grep --line-buffered -v ' heartbeat ';
	 wait \$wd; echo \"watchdog exited with status \$?. Ctrl-b d to leave.\"; sleep 3600" || exit 1
tmux set-option -t "$session" remain-on-exit on >/dev/null
# Pane 1: the process tree of the watchdog's session, refreshed.
tmux split-window -h -t "$session:0.0" -P -F '#{pane_id}' >"$dir/pane.tree" \
	"while sleep 0.5; do clear; echo 'process tree (pid ppid pgid state elapsed command):';
	 ps -o pid,ppid,pgid,stat,etime,args --forest -s \$(tmux display -p -t $session:0.0 '#{pane_pid}') 2>/dev/null | grep -v -e grep -e tail -e ' ps ' -e sleep; done"
# Pane 2: what d and the w's log (requests, reports, restarts).
tmux split-window -v -t "$(cat "$dir/pane.wd")" -P -F '#{pane_id}' >"$dir/pane.log" \
	"tail -n +1 -f $log | grep --line-buffered -E ' (d|w[0-9]+)\\[' | grep --line-buffered -Ev ' (heartbeat|recv msg=pong) '"
# Pane 3: a shell with the client on its PATH and the port in $PORT.
tmux split-window -v -t "$(cat "$dir/pane.tree")" -P -F '#{pane_id}' >"$dir/pane.client" \
	"until grep -q ' ready servers=' $log; do sleep 0.1; done;
	 export PORT=\$(sed -nE 's/.* watchdog\\[[0-9]+\\] ready .*port=([0-9]+).*/\\1/p' $log | head -n1) PATH=$bin:\$PATH;
	 echo \"The system listens on port \$PORT. Try:\";
	 echo '  client -p \$PORT requetetype1 requetetype2';
	 echo '  client -p \$PORT -i requetetype2        (type lines, Ctrl-d to end)';
	 echo '  client -p \$PORT -n 200 -c 20           (a load burst)';
	 echo '  printf \"requetetype1\\n\" | nc 127.0.0.1 \$PORT';
	 echo '  pgrep -a -x w; kill -STOP <pid of a w>  (a frozen w is restarted)';
	 exec bash --norc -i"
tmux select-layout -t "$session" tiled >/dev/null
tmux select-pane -t "$(cat "$dir/pane.client")"

cleanup() {
	tmux kill-session -t "$session" 2>/dev/null
	pkill -KILL -f -- "-m /osps-live-$$ " 2>/dev/null
	rm -rf "$dir"
	rm -f "/dev/shm/osps-live-$$"
}
if [[ ${DEMO_LIVE_DETACHED:-0} == 1 ]]; then
	echo "demo-live: session $session started (detached); watchdog pane $(cat "$dir/pane.wd"); log $log"
	exit 0
fi
trap cleanup EXIT
if [[ -t 0 ]]; then
	tmux attach -t "$session"
else
	echo "demo-live: not a terminal: attach with 'tmux attach -t $session' and press Enter to go on" >&2
	read -r _
fi
