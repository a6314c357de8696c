#!/usr/bin/env bats
# The kit's own tooling, as a learner or an instructor meets it: doctor,
# progress, hints, handout, diff, and the Makefile's messages.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	export HINTS_SAVED=$BATS_TEST_TMPDIR/hints
	[[ -d build/hints ]] && mv build/hints "$HINTS_SAVED"
	return 0
}
teardown() {
	# A demo-live session a failed test left behind.
	[[ -f $BATS_TEST_TMPDIR/session ]] && tmux kill-session -t "$(cat "$BATS_TEST_TMPDIR/session")" 2>/dev/null
	# A make watch a failed test left behind (its own session).
	[[ -f $BATS_TEST_TMPDIR/watch.pid ]] && kill -KILL -- "-$(cat "$BATS_TEST_TMPDIR/watch.pid")" 2>/dev/null
	rm -rf build/hints
	[[ -d $HINTS_SAVED ]] && mv "$HINTS_SAVED" build/hints
	return 0
}

@test "[run] make doctor passes on a machine that has everything" {
	run -0 scripts/doctor.sh
	assert_line --partial "All set"
	refute_line --partial "✗"
}

@test "[run] make doctor names missing bats helper libraries and the command that installs them" {
	mkdir "$BATS_TEST_TMPDIR/empty"
	BATS_LIB_PATH=$BATS_TEST_TMPDIR/empty run -1 scripts/doctor.sh
	assert_line --partial "✗ bats-assert is missing"
	assert_line --partial "fix: apt-get install bats-assert"
	assert_line --regexp "sudo apt-get install bats-assert bats-file bats-support$"
}

@test "[run] make doctor notices valgrind missing from PATH, and inotifywait as optional" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	for f in /usr/local/bin/* /usr/bin/* /bin/*; do
		n=${f##*/}
		[[ $n == valgrind* || $n == inotifywait || -e $BATS_TEST_TMPDIR/bin/$n ]] || ln -s "$f" "$BATS_TEST_TMPDIR/bin/$n"
	done
	PATH=$BATS_TEST_TMPDIR/bin run -1 scripts/doctor.sh
	assert_line --partial "✗ valgrind is missing"
	assert_line --partial "fix: apt-get install valgrind"
	# inotify-tools is optional: named, not counted as a problem.
	assert_line --partial "- inotifywait is not installed (optional: make watch"
	assert_line --partial "1 problem(s)."
}

@test "[run] make progress on the pristine skeleton: nothing passed, next is the first exercise" {
	run -0 python3 scripts/progress.py step1_shm
	assert_line --regexp '^step1_shm +1\.1 +shm_area\.c +- +· not started$'
	assert_line "0 of 5 exercises passed."
	assert_line --partial "Next: exercise 1.1 in step1_shm/src/shm_area.c"
}

@test "[run] make progress IMPL=solution: every exercise passed" {
	run -0 python3 scripts/progress.py --impl solution step1_shm
	assert_line "5 of 5 exercises passed."
	refute_line --partial "failing"
}

@test "[run] make progress tells a started but failing exercise from one not started" {
	cp -r step1_shm "$BATS_TEST_TMPDIR/" && cp -r common mk scripts tests Makefile "$BATS_TEST_TMPDIR/"
	mkdir -p "$BATS_TEST_TMPDIR/solutions" # a kit copy: progress only needs the step
	# A learner who started 1.2 with a wrong attempt:
	sed -i '/TODO 1.2/,/return -1;/ s/errno = ENOSYS;/errno = EAGAIN;/' "$BATS_TEST_TMPDIR/step1_shm/src/d.c"
	cd "$BATS_TEST_TMPDIR"
	run -0 python3 scripts/progress.py step1_shm
	assert_line --regexp '^step1_shm +1\.2 +d\.c +0/[0-9]+ +✗ failing$'
	assert_line --regexp '^step1_shm +1\.1 .*· not started$'
	assert_line "(tests run for step1_shm (first run))"
	# Nothing changed: the last results, at once.
	SECONDS=0
	run -0 python3 scripts/progress.py step1_shm
	((SECONDS < 10)) || fail "make progress took $SECONDS s with nothing changed"
	assert_line --regexp '^step1_shm +1\.2 +d\.c +0/[0-9]+ +✗ failing$'
	assert_line "(last results reused for step1_shm (nothing changed since))"
	# A save changes the fingerprint: the step would be tested again.
	key=$(python3 scripts/progress.py --key step1_shm)
	echo '/* saved */' >>step1_shm/src/w.c
	run -0 python3 scripts/progress.py --key step1_shm
	refute_output "$key"
}

@test "[run] make progress: one row per exercise, the true total, and the next one to do" {
	run -0 python3 scripts/progress.py step1_shm step2_fifo step3_watchdog step4_client
	n=$(cat step?_*/exercises.json | grep -o '"id": "[0-9.]*"' | sort -u | wc -l)
	assert_equal "$(grep -cE '^step[1-4]_[a-z]+ +[1-4]\.[0-9]+ ' <<<"$output")" "$n"
	assert_equal "$(grep -cE '^step2_fifo +2\.3 ' <<<"$output")" 1
	assert_line --regexp '^step2_fifo +2\.2 +child\.c,w\.c +- +· not started$'
	assert_line "0 of $n exercises passed."
	assert_line --partial "Next: exercise 1.1 in step1_shm/src/shm_area.c"
	assert_line --partial "'make test-step1 EX=1.1' to check it"
}

@test "[run] make test-stepN records its results: make progress reuses them" {
	cp -r step1_shm common mk scripts tests solutions Makefile "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	run -0 make -s test-step1 IMPL=solution
	run -0 python3 scripts/progress.py --impl solution step1_shm
	assert_line "(last results reused for step1_shm (nothing changed since))"
	assert_line "5 of 5 exercises passed."
}

@test "[run] make hint-step1 EX=1.1 shows one more level per call, then says it was the last" {
	run -0 make -s hint-step1 EX=1.1
	assert_line --partial "Hint 1 of 3 for 1.1"
	refute_line --partial "Hint 2 of 3"
	run -0 make -s hint-step1 EX=1.1
	assert_line --partial "Hint 2 of 3 for 1.1"
	run -0 make -s hint-step1 EX=1.1 LEVEL=all
	assert_line --partial "Hint 3 of 3 for 1.1"
	assert_line --partial "That was the last hint"
	run -2 make -s hint-step1 EX=9.9
	assert_output --partial "no hints for exercise '9.9'"
}

@test "[run] make diff-step1 shows real differences only, never the solution markers" {
	run -0 make -s diff-step1
	assert_output --partial "+++ reference/step1_shm/src/shm_area.c"
	refute_output --partial "BEGIN SOLUTION"
	refute_output --partial "STUB 1."
}

@test "[run] a step not delivered yet says so and exits 2" {
	for n in 1 2 3 4; do
		grep -qE "^STEPS_READY :=.*\b$n\b" Makefile || break
	done
	grep -qE "^STEPS_READY :=.*\b$n\b" Makefile && skip "every step is delivered"
	run -2 make -s "step$n"
	assert_output --partial "is not delivered yet"
}

@test "[run] make handout: a tarball without the reference that builds and fails its tests" {
	RESULTS= run -0 scripts/handout.sh
	assert_line --partial "make test-step1' runs and fails on the skeleton"
	run -0 tar -tzf build/osps-kit.tar.gz
	refute_output --partial "solutions/"
	refute_output --partial "ANSWERS"
	refute_output --partial "grader"
	assert_line "osps-kit/step1_shm/exercises.json"
}

@test "[run] make timeline draws a run's log lines as a picture" {
	printf '%s\n' "10.000 d[100] started name=w pid=101" "10.001 w[101] ready name=/x" \
		"not a log line" "10.200 d[100] reaped name=w pid=101 status=ok" >"$BATS_TEST_TMPDIR/run.log"
	run -0 make -s timeline LOG="$BATS_TEST_TMPDIR/run.log" OUT="$BATS_TEST_TMPDIR/run.png"
	assert_output --partial "(3 events, 2 processes)"
	run -0 file "$BATS_TEST_TMPDIR/run.png"
	assert_output --partial "PNG image data, 1400 x 252"
	echo "nothing here" >"$BATS_TEST_TMPDIR/empty.log"
	run -1 python3 scripts/timeline.py "$BATS_TEST_TMPDIR/empty.log"
	assert_output --partial "no log line of the kit's format"
}

@test "[run] make demo-live: four panes, the system up, Enter in the watchdog's pane stops it" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	run -0 env DEMO_LIVE_DETACHED=1 scripts/demo-live.sh
	session=$(sed -nE 's/^demo-live: session ([^ ]+) .*/\1/p' <<<"$output")
	wd_pane=$(sed -nE 's/.* watchdog pane ([^;]+);.*/\1/p' <<<"$output")
	log=$(sed -nE 's/.* log (.*)$/\1/p' <<<"$output")
	echo "$session" >"$BATS_TEST_TMPDIR/session"
	run -0 tmux list-panes -t "$session"
	assert_equal "${#lines[@]}" 4
	for ((i = 0; i < 100; i++)); do grep -q ' ready servers=4' "$log" && break; sleep 0.1; done
	assert_equal "$(grep -c ' ready servers=4' "$log")" 1
	tmux send-keys -t "$wd_pane" Enter
	for ((i = 0; i < 100; i++)); do grep -q ' stopped code=0 ' "$log" && break; sleep 0.1; done
	run -0 grep -E ' watchdog\[[0-9]+\] (stop reason=enter|stopped code=0)' "$log"
	assert_equal "${#lines[@]}" 2
	tmux kill-session -t "$session"
	rm -rf "$(dirname "$log")"
}

@test "[run] make demo-live without tmux says how to get it" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	for f in /usr/local/bin/* /usr/bin/* /bin/*; do
		n=${f##*/}
		[[ $n == tmux || -e $BATS_TEST_TMPDIR/bin/$n ]] || ln -s "$f" "$BATS_TEST_TMPDIR/bin/$n"
	done
	PATH=$BATS_TEST_TMPDIR/bin run -1 scripts/demo-live.sh
	assert_output --partial "tmux is not installed: apt-get install tmux"
}

@test "[run] a failing process test shows the program's own error line and how it ended" {
	make -s step1 >/dev/null
	# The skeleton's d: exercise 1.1 is a stub, d fails with an error line.
	BIN=$KIT_ROOT/build/step1_shm run -1 bats --formatter tap \
		--filter 'd starts w, w answers' step1_shm/tests/step1.bats
	assert_line --regexp '^# d -m /osps-[^ ]+ -t [0-9]+: exited with code 1$'
	assert_line --regexp '^#     d: [a-z_]+ /osps-[^ ]+: Function not implemented$'
}

@test "[run] a crashed or deadlocked program is reported in words, within the test's own time bound" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "d: about to crash" >&2\nkill -SEGV $$\n' >"$BATS_TEST_TMPDIR/bin/d"
	chmod +x "$BATS_TEST_TMPDIR/bin/d"
	BIN=$BATS_TEST_TMPDIR/bin run -1 bats --formatter tap \
		--filter 'd starts w, w answers' step1_shm/tests/step1.bats
	assert_line --regexp '^# d -m .*: killed by SIGSEGV$'
	assert_line '#     d: about to crash'
	printf '#!/bin/sh\necho "d: waiting for w" >&2\nexec sleep 600\n' >"$BATS_TEST_TMPDIR/bin/d"
	SECONDS=0
	TIMEOUT_SCALE=0.2 BIN=$BATS_TEST_TMPDIR/bin run -1 bats --formatter tap \
		--filter 'd starts w, w answers' step1_shm/tests/step1.bats
	assert_line --regexp '^# d -m .*: timed out after 2 s .*raise TIMEOUT_SCALE on a slow machine$'
	assert_line '#     d: waiting for w'
	((SECONDS < 15)) || fail "the deadlock took $SECONDS s to be reported"
}

@test "[run] a failing unit test names the call, errno by name and the exercise not done yet" {
	make -s step1 >/dev/null
	make -s -f mk/step.mk STEP=step1_shm SRC=step1_shm/src OUT=build/step1_shm unit >/dev/null
	CMOCKA_MESSAGE_OUTPUT=TAP run build/step1_shm/test_shm_area
	assert_failure
	assert_line "# shm_area_create(name, SIZE) returned NULL, errno ENOSYS (Function not implemented): exercise 1.1 is not done yet (its stub is still there: look for 'TODO 1.1')"
	assert_line --partial "# expected errno ENOENT (No such file or directory), got errno ENOSYS"
}

@test "[run] make test-stepN EX=N.M runs that exercise's unit and process tests only" {
	run -0 make -s test-step1 IMPL=solution EX=1.3
	assert_line "ok 1 - [1.3] test_open_missing_fails_enoent"
	assert_line --regexp '^ok [0-9]+ \[1\.3\] w started alone'
	refute_line --regexp '^(not )?ok .*\[1\.[^3]\]'
	assert_line --regexp '^[1-9][0-9]* passed, 0 failed$'
	run -2 make -s test-step1 EX=1.9
	assert_output --partial "step1_shm has no exercise '1.9'; its exercises: 1.1 1.2 1.3 1.4 1.5"
}

@test "[run] make watch re-runs an exercise's tests on every save: one line per test, the first failure in full" {
	command -v inotifywait >/dev/null || skip "inotify-tools is not installed"
	cp -r step1_shm common mk scripts tests Makefile "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	(for fd in /proc/self/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
	 exec setsid make -s watch STEP=1 EX=1.3) >watch.out 2>&1 </dev/null &
	echo $! >"$BATS_TEST_TMPDIR/watch.pid"
	for ((i = 0; i < 600; i++)); do grep -q 'waiting for a change' watch.out && break; sleep 0.1; done
	echo '/* saved */' >>step1_shm/src/shm_area.c
	for ((i = 0; i < 600; i++)); do (($(grep -c 'waiting for a change' watch.out) == 2)) && break; sleep 0.1; done
	kill -TERM -- "-$(cat "$BATS_TEST_TMPDIR/watch.pid")"
	run -0 cat watch.out
	assert_equal "$(grep -c '^== .* make test-step1 EX=1.3$' watch.out)" 2
	assert_line "  FAIL  [1.3] test_open_missing_fails_enoent"
	assert_line --regexp '^  FAIL  \[1\.3\] w started alone'
	refute_line --regexp '\[1\.[^3]\]'
	assert_line "First failure, in full: [1.3] test_open_missing_fails_enoent"
	assert_line --partial "got errno ENOSYS (Function not implemented): exercise 1.3 is not done yet"
	assert_line "0 passed, 4 failed"
}

@test "[run] make demo builds only the programs it runs: it works without cmocka" {
	cp -r common mk scripts tests solutions Makefile step1_shm step2_fifo step3_watchdog step4_client "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	# The compiler's own include directories, mirrored without cmocka's
	# headers: a machine where `make test` has not installed anything yet.
	flags="-nostdinc"
	for d in $(cc -xc -E -v - </dev/null 2>&1 | sed -n '/^#include <...>/,/^End/{/^ /p}'); do
		m=$BATS_TEST_TMPDIR/inc$RANDOM
		mkdir "$m"
		for f in "$d"/*; do [[ ${f##*/} == cmocka* ]] || ln -s "$f" "$m/"; done
		flags+=" -isystem $m"
	done
	export CC="cc $flags"
	run ! make -s unit-step1 IMPL=solution
	assert_output --partial "cmocka.h: No such file or directory"
	run -0 make -s demo STEP=1 NO_COLOR=1
	run -0 make -s demo NO_COLOR=1
	refute_output --partial "cmocka"
}

@test "[run] valgrind's report: a descriptor left open fails, unless a signal ended the program (its teardown)" {
	local d=$BATS_TEST_TMPDIR/vg
	mkdir -p "$d"
	cat >"$d/vg.101.log" <<-'LOG'
	==101== Command: /x/select_server -p 0
	==101== FILE DESCRIPTORS: 4 open (3 std) at exit.
	==101== Open AF_INET socket 4: 127.0.0.1:1 <-> 127.0.0.1:2
	==101== ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)
	LOG
	sed -e 's/101/102/g' -e '2i ==102== Process terminating with default action of signal 15 (SIGTERM)' \
		"$d/vg.101.log" >"$d/vg.102.log"
	run -0 python3 scripts/vgcheck.py "$d"
	assert_line 'not ok 1 valgrind select_server[101]'
	assert_line '# descriptors open at exit: fd 4 127.0.0.1:1 <-> 127.0.0.1:2'
	assert_line 'ok 2 valgrind select_server[102]'
}
