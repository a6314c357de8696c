#!/usr/bin/env bats
# make teeth-matrix: each exercise stubbed alone, the whole suite run, the
# failing tests sorted by the exercise they name (scripts/teeth-matrix.py).
# One row only (step 1's 1.5): the reference and one variant, about 20 s.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
}

@test "teeth-matrix: a stubbed exercise's row counts its own failures and names every collateral one" {
	run --separate-stderr python3 scripts/teeth-matrix.py --only 1.5 step1_shm
	assert_success
	assert_line --regexp '^stubbed +1\.1 +1\.2 +1\.3 +1\.4 +1\.5 +run +collateral$'
	# The stub is caught by its own tests: the 1.5 column of its row is not ".".
	assert_line --regexp '^1\.5( +[.0-9]+){4} +[1-9][0-9]* +[.0-9]+ +[0-9]+$'
	n=$(sed -nE 's/^step1_shm: ([0-9]+) collateral failure.*/\1/p' <<<"$output")
	[[ -n $n ]] || fail "no collateral count in: $output"
	assert_equal "$(grep -c '^  1\.5 stubbed -> \[1\.[1-4]\] ' <<<"$output")" "$n"
	refute_line --regexp '^  1\.5 stubbed -> \[(1\.5|run)\]'
	refute_line --regexp '^1\.[1-4] '
}

@test "teeth-matrix: an exercise the step does not have is refused" {
	run --separate-stderr python3 scripts/teeth-matrix.py --only 1.9 step1_shm
	assert_failure
	assert_equal "$stderr" "teeth-matrix: step1_shm has no exercise 1.9 (its exercises: 1.1 1.2 1.3 1.4 1.5)"
}
