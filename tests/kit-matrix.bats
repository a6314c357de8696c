#!/usr/bin/env bats
# make check-teeth and make teeth-matrix: each exercise stubbed alone, the
# whole suite run, the failing tests sorted by the exercise they name; a
# failure of another exercise's test that STEP/prerequisites does not
# declare fails the check (scripts/teeth-matrix.py, scripts/prereqs.py).
# One row only (step 1's 1.1, whose stub takes down the tests of the
# exercises that need a segment): about 25 s.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
}

# without LINE_ERE: step 1's prerequisites without the lines matching it.
without() {
	grep -Ev -- "$1" step1_shm/prerequisites >"$BATS_TEST_TMPDIR/prerequisites"
	echo "$BATS_TEST_TMPDIR/prerequisites"
}

@test "check-teeth: collateral failures the prerequisites declare pass, an undeclared one fails the check, naming the tests" {
	# Both runs at once (they mostly wait): the step's own prerequisites,
	# and the same without 1.2's line (1.2's tests need 1.1's segment).
	python3 scripts/teeth-matrix.py --check --only 1.1 step1_shm \
		>"$BATS_TEST_TMPDIR/declared" 2>&1 3>&- &
	declared=$!
	python3 scripts/teeth-matrix.py --check --only 1.1 --prereqs "$(without '^1\.2:')" \
		step1_shm >"$BATS_TEST_TMPDIR/undeclared" 2>&1 3>&- &
	undeclared=$!

	wait "$declared" || fail "the check failed: $(cat "$BATS_TEST_TMPDIR/declared")"
	run cat "$BATS_TEST_TMPDIR/declared"
	assert_line '1..1'
	assert_line --regexp '^ok 1 teeth 1\.1 \(step1_shm/shm_area\.c\): caught by [1-9][0-9]* of its own tests, .*; [1-9][0-9]* collateral, all declared$'
	assert_line --regexp '^# stubbed +1\.1 +1\.2 +1\.3 +1\.4 +1\.5 +run +collateral +undeclared$'
	assert_line --regexp '^# 1\.1 +[1-9][0-9]*( +[.0-9]+){5} +[1-9][0-9]* +0$'
	n=$(sed -nE 's/^# step1_shm: ([0-9]+) collateral failure.*, 0 not declared in step1_shm\/prerequisites$/\1/p' <<<"$output")
	[[ -n $n ]] || fail "no collateral count in: $output"
	assert_equal "$(grep -cE '^#   1\.1 stubbed -> \[1\.[2-5]\] .*  \(declared\)$' <<<"$output")" "$n"
	refute_line --regexp '^#   1\.1 stubbed -> \[(1\.1|run)\]'
	refute_line --partial 'NOT DECLARED'

	wait "$undeclared" && fail "the check passed: $(cat "$BATS_TEST_TMPDIR/undeclared")"
	run cat "$BATS_TEST_TMPDIR/undeclared"
	assert_line --regexp "^not ok 1 teeth 1\.1 .*: caught by .*; but [1-9][0-9]* test\(s\) of other exercises fail too, not declared in $BATS_TEST_TMPDIR/prerequisites"
	assert_line --regexp '^#   \[1\.2\] d starts w, w answers through the segment'
	assert_line --regexp '^#   1\.1 stubbed -> \[1\.2\] .*  \(NOT DECLARED\)$'
	refute_line --regexp '^#   1\.1 stubbed -> \[1\.[3-5]\] .*NOT DECLARED'
}

@test "teeth-matrix: an exercise the step does not have is refused" {
	run --separate-stderr python3 scripts/teeth-matrix.py --only 1.9 step1_shm
	assert_failure
	assert_equal "$stderr" "teeth-matrix: step1_shm has no exercise 1.9 (its exercises: 1.1 1.2 1.3 1.4 1.5)"
}

@test "check-teeth: prerequisites that loop are refused before anything runs" {
	printf '1.1: 1.2  # a\n1.2: 1.1  # b\n' >"$BATS_TEST_TMPDIR/prerequisites"
	run --separate-stderr python3 scripts/teeth-matrix.py --check --prereqs "$BATS_TEST_TMPDIR/prerequisites" step1_shm
	assert_failure
	assert_regex "$stderr" "^teeth-matrix: $BATS_TEST_TMPDIR/prerequisites: 1\.1 needs itself through others \(a cycle\)$"
	assert_equal "$output" ""
}

@test "a leftover fails only the tests charged for it, and the ledger's test counts the others'" {
	# A "program" that leaves its segment behind, and a suite of three tests.
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho leak >"/dev/shm$1"\n' >"$BATS_TEST_TMPDIR/bin/leaky"
	chmod +x "$BATS_TEST_TMPDIR/bin/leaky"
	# (Written as "@TEST": bats would read "@test" here as its own tests.)
	sed 's/^@TEST/@test/' >"$BATS_TEST_TMPDIR/suite.bats" <<-'EOF2'
	setup() {
		load "$KIT_ROOT/tests/helpers"
		KIT_CLEAN_TESTS='^\[(1\.5|run)\] '
		kit_setup
	}
	teardown() { kit_teardown; }
	@TEST "[1.2] a test of another exercise" { run_prog leaky "$SHM_NAME"; }
	@TEST "[1.5] a test of the clean-up" { run_prog leaky "$SHM_NAME"; }
	@TEST "[1.3] a test that asks for it" { expect_clean; run_prog leaky "$SHM_NAME"; }
	@TEST "[run] no test left a process, a segment or a file behind" { assert_no_leftovers; }
	EOF2
	BIN=$BATS_TEST_TMPDIR/bin run -1 bats --formatter tap "$BATS_TEST_TMPDIR/suite.bats"
	assert_line 'ok 1 [1.2] a test of another exercise'
	assert_line 'not ok 2 [1.5] a test of the clean-up'
	assert_line 'not ok 3 [1.3] a test that asks for it'
	assert_line 'not ok 4 [run] no test left a process, a segment or a file behind'
	assert_line --regexp '^# \[1\.2\] a test of another exercise: shared memory segment left: /dev/shm/osps-t[0-9]+-1$'
	refute_line --regexp '^# \[1\.[35]\] .*: shared memory segment left'
	# Teardown removed every one of them, charged or not.
	for f in $(grep -oE '/dev/shm/osps-t[0-9]+-[0-9]+' <<<"$output" | sort -u); do
		[[ ! -e $f ]] || fail "$f is still there"
	done
}

@test "check-teeth: a step without a prerequisites file is checked for teeth only, from its own tests" {
	run --separate-stderr python3 scripts/teeth-matrix.py --check --only 1.4 \
		--prereqs "$BATS_TEST_TMPDIR/none" step1_shm
	assert_success
	assert_line --regexp '^ok 1 teeth 1\.4 \(step1_shm/d\.c\): caught by [1-9][0-9]* of its own tests, e\.g\. "\[1\.4\] '
	assert_line "# step1_shm: no $BATS_TEST_TMPDIR/none: its teeth only, from its own tests (its independence matrix: make teeth-matrix STEP=1)"
	refute_line --regexp '^# stubbed '
}
