#!/usr/bin/env bats
# The students' texts agree with the tests, the code and the answer key
# (scripts/check-texts.py): question labels, hint levels, log events and
# messages, hint fragments. Each check is also shown to fail on a copy of
# the kit broken on purpose.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	STEPS=(step1_shm step2_fifo step3_watchdog step4_client)
}

# kit_copy: a copy of the texts the checks read, in $BATS_TEST_TMPDIR/kit.
kit_copy() {
	local copy=$BATS_TEST_TMPDIR/kit
	mkdir -p "$copy"
	cp -r common "${STEPS[@]}" "$copy/"
	mkdir -p "$copy/solutions"
	cp -r "${STEPS[@]/#/solutions/}" "$copy/solutions/"
}

@test "[run] every README question has a label, and ANSWERS.md answers exactly those labels" {
	run -0 scripts/check-texts.py --questions "${STEPS[@]}"
	assert_line "ok questions: ${STEPS[*]}"
	kit_copy
	sed -i 's/^- \*\*1\.c\*\* /- /' "$BATS_TEST_TMPDIR/kit/step1_shm/README.md"
	sed -i 's/^## 2\.b /## /' "$BATS_TEST_TMPDIR/kit/solutions/step2_fifo/ANSWERS.md"
	run -1 scripts/check-texts.py --root "$BATS_TEST_TMPDIR/kit" --questions "${STEPS[@]}"
	assert_line --partial "step1_shm/README.md: question without a label: 'Run \`d -R\` several"
	assert_line --partial "solutions/step2_fifo/ANSWERS.md: no '## 2.b ...' answer to README question 2.b"
}
