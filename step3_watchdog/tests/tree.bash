# tree.bash - helpers for step 3's process tests: start the tree, find
# the pids of its servers in the log, check that nothing is orphaned or
# left a zombie.

# Short classroom-free timings, stretched by TIMEOUT_SCALE.
P=$(kit_ms 100)		# heartbeat period
T=$(kit_ms 300)		# reply timeout
K=$(kit_ms 1500)	# clean-stop wait

# start_tree ARGS...: start the watchdog (as "wd") with the test's run
# directory, segment and timings, and wait until every server is up.
start_tree() {
	start_prog wd watchdog -r "$RUN_DIR" -m "$SHM_NAME" -P "$P" -T "$T" \
		-K "$K" -g "$(kit_ms 5000)" -b "$(kit_ms 20)" -B "$(kit_ms 200)" \
		-i "$(kit_ms 100)" "$@"
	wait_log wd ' watchdog\[[0-9]+\] ready servers='
}

# pid_of NAME: the pid of the latest incarnation of server NAME (d, w1...)
# that the watchdog saw come up.
pid_of() {
	sed -nE "s/.* watchdog\[[0-9]+\] up name=$1 pid=([0-9]+) .*/\1/p" "$(log_of wd)" | tail -n1
}

# wait_new NAME OLD: wait until a new incarnation of NAME is up; print it.
wait_new() {
	local i pid limit
	limit=$(kit_scale 5)
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		pid=$(pid_of "$1")
		if [[ -n $pid && $pid != "$2" ]]; then
			echo "$pid"
			return 0
		fi
		sleep 0.05
	done
	echo "# $1 did not come back up (old pid $2)" >&2
	return 1
}

# assert_gone PID: PID has disappeared, zombie included (bounded wait).
assert_gone() {
	local i
	for ((i = 0; i < 40; i++)); do
		[[ -e /proc/$1 ]] || return 0
		sleep 0.05
	done
	fail "process $1 is still there: $(cat /proc/"$1"/stat 2>/dev/null)"
}

# assert_tree_sane: no zombie among the tree's processes or their
# children, and no orphan: every process the test started is the watchdog
# or a child of one of the test's processes.
assert_tree_sane() {
	local ours list
	ours=$(tagged_pids | tr '\n' ' ')
	list=${ours// /,}
	# One ps for the processes and their children (zombies lose their
	# environment, so they are found as children).
	ps -o pid=,ppid=,stat=,args= -p "${list%,}" --ppid "${list%,}" 2>/dev/null |
		awk -v ours=" $ours " -v wd="$wd_PID" '
			$3 ~ /^Z/ { print "zombie: " $0; bad = 1; next }
			index(ours, " " $1 " ") && $1 != wd && !index(ours, " " $2 " ") {
				print "orphan: " $0; bad = 1 }
			END { exit bad }' >&2 ||
		fail "zombie or orphan in the tree (see above)"
}

# end_tree: end the tree from the test's side (end_all, helpers.bash). A
# test of another exercise than the clean stop (3.8) ends with this, so
# that a broken stop fails 3.8's tests only.
end_tree() { end_all wd; }

# stop_tree: SIGTERM the watchdog, expect exit 0 within 2 s and nothing left.
stop_tree() {
	kill -TERM "$wd_PID"
	wait_exit wd 2
	assert_equal "$status" 0
	[[ -z $(ls -A "$RUN_DIR") ]] || fail "left in $RUN_DIR: $(ls -A "$RUN_DIR")"
	assert_file_not_exists "/dev/shm$SHM_NAME"
}

# assert_line_in_log ERE [NAME]: NAME's log (default wd) has a line
# matching ERE.
assert_line_in_log() {
	grep -Eq -- "$1" "$(log_of "${2:-wd}")" ||
		fail "no line matching /$1/ in the log: $(sed 's/^/\n#   /' "$(log_of "${2:-wd}")" | tail -40)"
}

# assert_log_order ERE1 ERE2: in the watchdog's log, the first line
# matching ERE1 comes before the first one matching ERE2.
assert_log_order() {
	local a b
	a=$(grep -Enm1 -- "$1" "$(log_of wd)" | cut -d: -f1)
	b=$(grep -Enm1 -- "$2" "$(log_of wd)" | cut -d: -f1)
	[[ -n $a && -n $b ]] && ((a < b)) ||
		fail "expected /$1/ (line ${a:-none}) before /$2/ (line ${b:-none}) in the log"
}

# wait_count NAME ERE N [SECONDS]: wait (bounded, scaled) until NAME's log
# has at least N lines matching ERE.
wait_count() {
	local i limit
	limit=$(kit_scale "${4:-5}")
	for ((i = 0; i < ${limit%.*} * 20 + 20; i++)); do
		(($(log_count "$1" "$2") >= $3)) && return 0
		sleep 0.05
	done
	echo "# only $(log_count "$1" "$2") lines matching /$2/ after ${limit}s" >&2
	return 1
}
