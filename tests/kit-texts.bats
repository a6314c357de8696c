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
	# make hint remembers the levels shown: keep the learner's.
	export HINTS_SAVED=$BATS_TEST_TMPDIR/hints
	[[ -d build/hints ]] && mv build/hints "$HINTS_SAVED"
	return 0
}
teardown() {
	rm -rf build/hints
	[[ -d $HINTS_SAVED ]] && mv "$HINTS_SAVED" build/hints
	return 0
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

@test "[run] the READMEs show the first hint level only; hints.md holds the next, which make hint reveals" {
	run -0 scripts/check-texts.py --hints "${STEPS[@]}"
	assert_line "ok hints: ${STEPS[*]}"
	# Level 2 of 1.1 is in hints.md only, and make hint shows it.
	level2=$(sed -n '/^#### 1\.1$/,/^#### /{s/^2\. //p}' step1_shm/hints.md)
	[[ -n $level2 ]]
	run -0 python3 scripts/hint.py step1_shm 1.1 2
	assert_line "Hint 2 of 3 for 1.1: $level2"
	kit_copy
	printf '%s\n' '2. a second level, in the README' >>"$BATS_TEST_TMPDIR/kit/step1_shm/README.md.add"
	sed -i '/^1\. One call: `shm_unlink(name)`/r '"$BATS_TEST_TMPDIR/kit/step1_shm/README.md.add" \
		"$BATS_TEST_TMPDIR/kit/step1_shm/README.md"
	sed -i 's/^3\. /4. /' "$BATS_TEST_TMPDIR/kit/step2_fifo/hints.md"
	run -1 scripts/check-texts.py --root "$BATS_TEST_TMPDIR/kit" --hints "${STEPS[@]}"
	assert_line --partial "step1_shm/README.md: exercise 1.5 shows hint levels [1, 2]"
	assert_line --regexp "step2_fifo/hints.md: exercise 2\.[0-9]+'s levels are \[2, 4"
}

@test "[run] every log event, key, message and exit code a test expects is named in a TODO, the README's table or the given code" {
	run -0 scripts/check-texts.py --events "${STEPS[@]}"
	assert_line "ok events: ${STEPS[*]}"
	kit_copy
	local k=$BATS_TEST_TMPDIR/kit
	# 4.7's serving line named nowhere, 3.10's give-up reason vague again.
	sed -i 's/ \/ `serving id= type= peer=` \*//' "$k/step4_client/README.md"
	sed -i 's/log "serving id=%lu$/log "the/' "$k/solutions/step4_client/src/wjob.c"
	sed -i "s/w's restarted/w restarted/g" "$k/step3_watchdog/src/workers.c"
	sed -i 's/127/99/g' "$k/step1_shm/src/d.c" "$k/step1_shm/README.md"
	run -1 scripts/check-texts.py --root "$k" --events "${STEPS[@]}"
	assert_line --regexp "^events: step4_client/tests/.*\[4\.7\] waits for 'serving id=', which neither TODO 4\.7 nor"
	assert_line --regexp "^events: step3_watchdog/tests/step3.bats: \[3\.10\] expects the text 'w's restarted more than'"
	assert_line "events: step1_shm/tests/step1.bats: [1.4] expects exit code 127, which neither the skeleton (code or TODO) nor the README names"
}

@test "[run] every C fragment of a hint compiles in its exercise's code" {
	run -0 scripts/check-texts.py --fragments "${STEPS[@]}"
	assert_line "ok fragments: ${STEPS[*]}"
	kit_copy
	local k=$BATS_TEST_TMPDIR/kit
	sed -i 's/`accept4(opt\.listen_fd, /`accept4(d.listen_fd, /' "$k/step4_client/README.md"
	sed -i 's/`CHILD_STARTING` and/`STARTING` and/' "$k/step3_watchdog/hints.md"
	run -1 scripts/check-texts.py --root "$k" --fragments "${STEPS[@]}"
	assert_line --regexp "^fragments: step4_client hint 4\.3: \`accept4\(d\.listen_fd, .* does not compile in exercise 4\.3's code: front\.c: .*listen_fd"
	assert_line --regexp "^fragments: step3_watchdog hint 3\.4: \`STARTING\` names STARTING, which"
}
