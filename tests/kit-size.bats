#!/usr/bin/env bats
# The reference stays small enough to hold in one's head
# (scripts/check-size.py, CONTRIBUTING.md "Small enough to read"), and
# scripts/reading.py counts what a student reads before a step's first TODO.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	K=$BATS_TEST_TMPDIR/kit
	mkdir -p "$K/solutions/step1_x/src" "$K/step1_x/src" "$K/common"
}

# lines N: N lines of C, a comment each.
lines() {
	local i
	for ((i = 1; i <= $1; i++)); do echo "/* line $i */"; done
}

# func NAME N: a KNF function NAME of N lines, from its name to its brace.
func() {
	echo "static int"
	echo "$1(int x)"
	echo "{"
	lines $(($2 - 3))
	echo "}"
}

@test "[kit] every learner-facing file and function of the kit is within the size limits" {
	run -0 scripts/check-size.py
	assert_output --partial "within the limits"
}

@test "[kit] check-size: a file over 450 lines is named, 450 pass" {
	lines 450 >"$K/solutions/step1_x/src/a.c"
	run -0 scripts/check-size.py "$K"
	lines 451 >"$K/step1_x/src/a.c"
	run -1 scripts/check-size.py "$K"
	assert_output --partial "step1_x/src/a.c: 451 lines (at most 450)"
	refute_output --partial "solutions/step1_x/src/a.c"
}

@test "[kit] check-size: a function over 60 lines is named with its line, 60 pass" {
	{ func short 60; func long 61; } >"$K/common/f.c"
	run -1 scripts/check-size.py "$K"
	assert_output --partial "common/f.c:63: long() is 61 lines (at most 60)"
	refute_output --partial "short()"
	{ func onlyshort 60; } >"$K/common/f.c"
	run -0 scripts/check-size.py "$K"
}

@test "[kit] check-size: the TD examples count too" {
	mkdir -p "$K/solutions/step1_x/src/examples"
	func main 70 >"$K/solutions/step1_x/src/examples/e.c"
	run -1 scripts/check-size.py "$K"
	assert_output --partial "examples/e.c:2: main() is 70 lines"
}

@test "[kit] reading.py: the file of the first TODO down to it, and the headers it includes" {
	for s in step1_shm step2_fifo step3_watchdog step4_client; do
		mkdir -p "$K/$s/src"
		{ echo '#include "a.h"'; echo '#include <stdio.h>'; lines 3
		  echo "/* TODO ${s:4:1}.2: later */"; } >"$K/$s/src/b.c"
		{ echo '#include "a.h"'; lines 5; echo "/* TODO ${s:4:1}.1: first */"; lines 50; } >"$K/$s/src/c.c"
		lines 10 >"$K/$s/src/a.h"
	done
	run -0 scripts/reading.py "$K"
	assert_line "step1_shm: 17 lines before TODO 1.1 (c.c 7, step1_shm/src/a.h 10)"
	assert_line --partial "step4_client: 17 lines before TODO 4.1"
}
