#!/usr/bin/env bats
# The students' handout is whole: its READMEs are the students' versions,
# every make command they name works there, make demo and make test run
# the learner's own code, the benchmark scripts the questions name are
# shipped, and make submit builds the archive the grader takes.

bats_require_minimum_version 1.5.0

setup_file() {
	cd "$KIT_ROOT" || return 1
	RESULTS= scripts/handout.sh >"$BATS_FILE_TMPDIR/handout.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/handout.log" >&3
		return 1
	}
	tar -xzf build/osps-kit.tar.gz -C "$BATS_FILE_TMPDIR" || return 1
	export HANDOUT=$BATS_FILE_TMPDIR/osps-kit
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$HANDOUT" || return 1
}

# learner_done STEP_DIR: the learner's src of a step replaced by the
# reference (its markers are comments: it builds as it is).
learner_done() {
	cp "$KIT_ROOT/solutions/$1/src/"*.[ch] "$1/src/"
}

@test "[run] the handout ships the students' READMEs, hints, .vscode, the benchmark scripts, no instructors' material" {
	for f in .vscode/launch.json .vscode/tasks.json bench/step2.sh bench/step3.sh bench/bench.py \
		bench/baselines/fifo_pingpong.c step1_shm/hints.md scripts/submit.sh scripts/demo.sh .handout-files; do
		[[ -f $f ]] || fail "the handout lacks $f"
	done
	for f in bench/results.json scripts/check-texts.py scripts/handout-md.py solutions grader; do
		[[ ! -e $f ]] || fail "the handout has $f, which is the instructors'"
	done
	run -1 grep -rlE 'kit-only|handout-only|## For instructors|## Performance|grader/|seed 000' README.md step1_shm step2_fifo step3_watchdog
	run -0 grep -c 'TD n°7' step4_client/README.md
	run -0 grep -F 'make test     # every step' README.md
	# Level 1 hints only: the README's "#### 1.1" has one numbered item.
	assert_equal "$(sed -n '/^#### 1\.1$/,/^$/p' step1_shm/README.md | grep -cE '^[0-9]+\. ')" 1
}

@test "[run] every make command the handout's READMEs name exists there and does not refuse" {
	mapfile -t cmds < <(cat README.md step*/README.md step*/hints.md step4_client/PROTOCOL.md |
		grep -oE '`make [^`]+`|^make [^#]*' | tr -d '`' | sed -E 's/ +$//; s/stepN/step1/g; s/EX=N\.M/EX=1.1/; s/EX=([0-9])\.M/EX=\1.1/; s/LOG=file/LOG=x.log/' | sort -u)
	((${#cmds[@]} >= 10)) || fail "only ${#cmds[@]} make commands found: ${cmds[*]}"
	for cmd in "${cmds[@]}"; do
		# shellcheck disable=SC2086 # the command's own words
		run make -n ${cmd#make }
		((status == 0)) || fail "'$cmd' fails in the handout (make -n: exit $status): $output"
		[[ $output != *"not part of the student handout"* && $output != *"exit 2"* ]] ||
			fail "'$cmd' refuses in the handout: $output"
	done
	# The cheap ones, for real.
	run -0 make -s help
	assert_output --partial "make submit"
	assert_output --partial "every step's tests on your code"
	refute_output --partial "make skeletons"
	run -0 make -s hint-step1 EX=1.1
	assert_output --partial "Hint 1 of"
	run -0 bench/step2.sh -h
	run -0 bench/step3.sh -h
}

@test "[run] make demo in the handout runs the learner's own build" {
	run make demo STEP=1 NO_COLOR=1 3>&-
	assert_failure	# the skeleton: the stages fail, but the demo ran
	assert_line '== Result'
	refute_output --partial 'not part of the student handout'
	[[ -x build/step1_shm/d && ! -e build/solution ]] || fail "not the learner's build: $(ls build)"
	learner_done step1_shm
	run -0 make demo STEP=1 NO_COLOR=1 3>&-
	assert_output --partial "Every stage behaved as expected"
}

@test "[run] make test in the handout runs every step's tests on the learner's code" {
	run -0 make -n test
	assert_line --regexp 'scripts/test-all.sh 1 2 3 4$'	# make may add "Entering directory" lines
	learner_done step1_shm
	run -0 make test STEPS_READY=1 3>&-
	assert_line --regexp '^=== step 1: make test-step1$'
	assert_line --regexp '^[0-9]+ passed, 0 failed'
}

@test "[run] make submit: the archive the grader takes, after one run of the tests, with warnings" {
	learner_done step1_shm
	git init -q . && git add -A && git -c user.name=s -c user.email=s@x commit -qm handout
	echo '/* mine */' >>step1_shm/src/d.c           # not committed
	echo 'int helper;' >step1_shm/src/helper.c      # a new file: left out
	echo '# mine' >>step1_shm/tests/step1.bats      # a kit file changed: left out
	printf '## 1.a\nPOSIX.\n' >step1_shm/ANSWERS.md
	run -0 env SUBMIT_TEST_STEPS=1 make -s submit 3>&-
	assert_line --regexp '^submit: tests: [0-9]+ passed, 0 failed'
	assert_output --partial "warning: step1_shm/ANSWERS.md does not answer: 1.b 1.c 1.d"
	assert_output --partial "warning: no step2_fifo/ANSWERS.md"
	assert_output --partial "left out (not a file of the kit; the grader takes only the skeleton's files): step1_shm/src/helper.c"
	assert_output --partial "changed, but left out (the grader uses the kit's own copy): step1_shm/tests/step1.bats"
	assert_output --regexp "warning: uncommitted changes .*step1_shm/src/d\.c"
	# The grader's intake takes every file of the archive, and only those.
	run -0 python3 - "$KIT_ROOT" build/osps-submission.tar.gz <<'PY'
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "grader"))
from osps_grader import intake, kit
k = kit.Kit(sys.argv[1])
steps = [k.steps[n].load() for n in sorted(k.steps)]
sub = intake.read_submission(sys.argv[2], steps)
assert sub.error is None, sub.error
assert not sub.ignored, sub.ignored
want = sum(len(s.src_files) for s in steps)
assert len(sub.taken) == want, (len(sub.taken), want)
assert list(sub.answers) == ["step1_shm"], sub.answers
assert b"BEGIN SOLUTION" in sub.files["step1_shm"]["d.c"]
print("taken", len(sub.taken))
PY
	assert_output --regexp '^taken [0-9]+$'
}

@test "[run] bench/step2.sh, which question 2.g names, measures the learner's own d in the handout" {
	learner_done step2_fifo
	run timeout -k 5 300 bench/step2.sh -n 500 -k 1 3>&-
	((status <= 1)) || fail "bench/step2.sh failed (exit $status): $output"
	assert_output --regexp 'round trip p50 +[0-9.]+ us +fifo_pingpong'
	[[ -x build/step2_fifo/d && ! -e build/solution ]] || fail "not the learner's build: $(ls build)"
}
