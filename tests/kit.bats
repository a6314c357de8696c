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
	assert_line --regexp '^step2_fifo +2\.2 +d\.c,w\.c +- +· not started$'
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
