# OSPS lab kit - the one entry point. `make help` lists the targets.
#
# IMPL=solution runs any step target on the reference instead of the
# learner's code (build directory build/solution/...).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Steps and their directories; STEPS_READY are the ones the kit delivers.
STEP_DIRS   := 1:step1_shm 2:step2_fifo 3:step3_watchdog 4:step4_client
STEPS_READY := 1 2 3 4
step_dir     = $(patsubst $(1):%,%,$(filter $(1):%,$(STEP_DIRS)))
READY_DIRS   = $(foreach n,$(STEPS_READY),$(call step_dir,$(n)))

# The students' handout has no solutions/: the targets that need the
# reference say so instead of failing obscurely.
HAVE_SOLUTIONS := $(wildcard solutions)
no_solutions = @echo "make: $(1) needs the reference solutions, which are not part of the student handout" >&2; exit 2

IMPL ?= learner
ifeq ($(IMPL)$(HAVE_SOLUTIONS),solution)
  $(error IMPL=solution needs the reference solutions, which are not part of the student handout)
endif
ifeq ($(IMPL),solution)
  src_of   = solutions/$(1)/src
  build_of = build/solution/$(1)
else ifeq ($(IMPL),learner)
  src_of   = $(1)/src
  build_of = build/$(1)
else
  $(error IMPL must be "learner" or "solution", not "$(IMPL)")
endif

STEP_MAKE = $(MAKE) -s --no-print-directory -f mk/step.mk

# STRESS=1: the step's process tests with the stress shim (tests/stress)
# preloaded into the programs under test; SEED=N replays a run's delays.
ifeq ($(STRESS),1)
  STRESS_SEED := $(or $(SEED),$(shell od -An -N4 -tu4 /dev/urandom | tr -d ' '))
  stress_note  = echo "\# stress: seed $(STRESS_SEED); the same delays again: make $(1) STRESS=1 SEED=$(STRESS_SEED)"
  stress_run   = $(call stress_note,$(1)); STRESS=1 OSPS_STRESS_SEED=$(STRESS_SEED) $(2) || { $(call stress_note,$(1)) >&2; exit 1; }
  stress_dep   = stress-shim
else
  stress_run   = $(2)
endif

.PHONY: help deps doctor progress watch timeline demo-live handout test test-grader clean skeletons \
	check-skeletons check-teeth teeth-matrix check-races check-size test-common demo compile_commands.json bench submit

help:
	@echo 'OSPS lab kit: make TARGET [IMPL=solution]'
	@echo
	@echo 'Learners:'
	@echo '  make stepN            build your step N (N = 1..4) into build/'
	@echo '  make test-stepN       run step N'"'"'s tests on your code; ends with "N passed, N failed"'
	@echo '  ... EX=N.M            only exercise N.M'"'"'s tests (e.g. make test-step2 EX=2.3)'
	@echo '  make valgrind-stepN   the same tests with every program under valgrind'
	@echo '  make diff-stepN       your sources against the reference, as a unified diff'
	@echo '  ... IMPL=solution     any of the above on the reference solution instead'
	@echo '  make watch STEP=N [EX=N.M]  step N'"'"'s tests again on every save: one line per test,'
	@echo '                        the first failure in full (needs inotify-tools)'
	@echo '  make test-stepN STRESS=1 [SEED=N]  random short delays at racy calls: lucky races fail (not with valgrind)'
	@echo '  make progress         one row per exercise: passed, failing, not started; what to do next'
	@echo '                        (re-runs only the steps whose sources changed since their last tests)'
	@echo '  make hint-stepN EX=N.M  the hints of one exercise, one level per call'
	@echo '  make doctor           check this machine: compiler, test tools, limits'
	@echo '  make submit           the archive to hand in: your sources and ANSWERS.md, after one run of the tests'
	@echo '  make demo [STEP=N]    the classroom demo (needs only cc and make)'
	@echo '  make demo-live        the full system in tmux panes, for a projector'
	@echo '  make timeline [LOG=F] a picture of a run from its log lines (default: the last demo)'
	@echo
ifeq ($(HAVE_SOLUTIONS),)
	@echo '  make test             every step'"'"'s tests on your code; ends with "N passed, N failed"'
	@echo '  make bench [QUICK=1]  your programs against raw baselines (bench/step2.sh, bench/step3.sh: one step)'
	@echo '  make deps             install the test dependencies (as root) or print the command'
	@echo '  make clean            remove build/'
else
	@echo 'The kit itself:'
	@echo '  make test             every check: tests on the reference, valgrind, skeletons, teeth, races'
	@echo '  make deps             install the test dependencies (as root) or print the command'
	@echo '  make skeletons        regenerate every stepN/src from solutions/'
	@echo '  make check-skeletons  fail when a generated skeleton is stale'
	@echo '  make check-teeth      every exercise stubbed alone: a test of its own must fail, and no test'
	@echo '                       of another exercise unless stepN/prerequisites declares it; prints the matrix'
	@echo '  make teeth-matrix [STEP=N [EX=N.M,..]]  that matrix alone: which tests fail, no verdict'
	@echo '  make check-races [FULL=1]  prove that STRESS=1 catches racy mutants of the reference'
	@echo '  make check-size       no reference file over 450 lines, no function over 60 (CONTRIBUTING.md)'
	@echo '  make bench [QUICK=1]  the reference against raw baselines: a table and bench/results.json'
	@echo '  make handout          the students'"'"' tarball (no solutions), checked by building it'
	@echo '  make handout LANG=fr  the same, French edition first (README.md in French)'
	@echo '  make test-grader      the grader'"'"'s own tests (grading: grader/README.md)'
	@echo '  make clean            remove build/'
endif
	@echo
	@echo 'Steps delivered: $(STEPS_READY)'

deps:
	@scripts/deps.sh

doctor:
	@scripts/doctor.sh

watch:
	@IMPL=$(IMPL) scripts/watch.sh "$(STEP)" "$(EX)"

progress:
	@python3 scripts/progress.py --impl $(IMPL) $(READY_DIRS)

timeline:
	@python3 scripts/timeline.py $(or $(LOG),build/demo/demo.log) $(OUT)

# Per-step targets. A step not delivered yet says so and exits 2.
define step_rules
.PHONY: step$(1) unit-step$(1) test-step$(1) valgrind-step$(1) diff-step$(1) hint-step$(1)
ifneq ($(filter $(1),$(STEPS_READY)),)
step$(1):
	@$$(STEP_MAKE) STEP=$(call step_dir,$(1)) SRC=$(call src_of,$(call step_dir,$(1))) OUT=$(call build_of,$(call step_dir,$(1))) all

# The unit tests (cmocka) are built only to be run: building the
# programs, as make demo does, needs only cc and make.
unit-step$(1): step$(1)
	@$$(STEP_MAKE) STEP=$(call step_dir,$(1)) SRC=$(call src_of,$(call step_dir,$(1))) OUT=$(call build_of,$(call step_dir,$(1))) unit

# A whole run's results are kept for make progress, with a fingerprint of
# the sources taken before the run (not a run of one exercise, nor under
# stress). STRESS=1 preloads the stress shim (see stress_run above).
test-step$(1): step$(1) deps-quiet unit-step$(1) $$(stress_dep)
	@r=$$$${RESULTS:-$$$$(mktemp -d)}; key=$$$$(python3 scripts/progress.py --impl $(IMPL) --key $(call step_dir,$(1))); \
	$$(call stress_run,test-step$(1),scripts/run-tests.sh $$(if $$(EX),--ex $$(EX)) $$(if $$(filter-out 0,$$(BRIEF)),--brief) $(call step_dir,$(1)) $(call build_of,$(call step_dir,$(1))) "$$$$r"); rc=$$$$?; \
	$$(if $$(EX)$$(filter 1,$$(STRESS)),,python3 scripts/progress.py --impl $(IMPL) --record $(call step_dir,$(1)) "$$$$r" "$$$$key";) exit $$$$rc

valgrind-step$(1): step$(1) deps-quiet unit-step$(1)
	@$$(if $$(filter 1,$$(STRESS)),echo "make: STRESS=1 does not combine with valgrind (run them apart)" >&2; exit 2;)scripts/run-tests.sh --valgrind $$(if $$(EX),--ex $$(EX)) --label $(call step_dir,$(1)).valgrind $(call step_dir,$(1)) $(call build_of,$(call step_dir,$(1))) $$$${RESULTS:-$$$$(mktemp -d)}

diff-step$(1):
ifneq ($(HAVE_SOLUTIONS),)
	@scripts/diff-step.sh $(call step_dir,$(1))
else
	$(call no_solutions,diff-step$(1))
endif

hint-step$(1):
	@python3 scripts/hint.py $(call step_dir,$(1)) "$$(EX)" $$(LEVEL)
else
step$(1) unit-step$(1) test-step$(1) valgrind-step$(1) diff-step$(1) hint-step$(1):
	@echo "make: step $(1) ($(call step_dir,$(1))) is not delivered yet; steps available: $(STEPS_READY)" >&2
	@exit 2
endif
endef
$(foreach n,1 2 3 4,$(eval $(call step_rules,$(n))))

.PHONY: stress-shim
stress-shim:
	@$(STEP_MAKE) STEP=tests/stress SRC=tests/stress OUT=build/stress all

.PHONY: deps-quiet
deps-quiet:
	@scripts/deps.sh --check

test-common: deps-quiet
	@$(STEP_MAKE) STEP=common SRC=common OUT=build/common unit
	@scripts/run-tests.sh --label common common build/common $${RESULTS:-$$(mktemp -d)}

ifneq ($(HAVE_SOLUTIONS),)
skeletons:
	@scripts/skeletons.sh $(READY_DIRS)

check-skeletons:
	@scripts/skeletons.sh --check $(READY_DIRS)

check-teeth: deps-quiet
	@scripts/check-teeth.sh $(READY_DIRS)

# The independence matrix alone (check-teeth prints it and checks it):
# every exercise stubbed alone against the whole suite; EX=N.M,... only
# those exercises' rows.
teeth-matrix: deps-quiet
	@python3 scripts/teeth-matrix.py $(if $(EX),--only $(EX)) $(if $(STEP),$(or $(call step_dir,$(STEP)),$(error STEP=$(STEP): no such step; steps: $(STEPS_READY))),$(READY_DIRS))

# Racy mutants of the reference (tests/races) against STRESS=1: the quick
# check of make test, or FULL=1 for 5 runs without stress and 10 with.
check-races: deps-quiet
	@scripts/check-races.sh $(if $(filter 1,$(FULL)),--full) $(READY_DIRS)

# The size rule of CONTRIBUTING.md, and what a student reads before each
# step's first TODO (scripts/reading.py says how it counts).
check-size:
	@scripts/check-size.py && scripts/reading.py

test: deps
	@scripts/kit-test.sh $(READY_DIRS)

demo:
	@scripts/demo.sh $(or $(STEP),$(lastword $(STEPS_READY)))

demo-live:
	@scripts/demo-live.sh

# make handout LANG=fr (or HANDOUT_LANG=fr): French is the handout's
# default edition. LANG counts only on the command line, not from the locale.
handout:
	@HANDOUT_LANG=$(or $(HANDOUT_LANG),$(if $(filter command line,$(origin LANG)),$(LANG)),en) scripts/handout.sh

# The grader's own tests, printed as TAP; under make test (RESULTS set)
# also saved in $RESULTS/grader.tap for the summary.
test-grader: deps-quiet
	@python3 grader/tests/run.py $${RESULTS:+--tap "$$RESULTS/grader.tap"}

else
skeletons check-skeletons check-teeth teeth-matrix check-races check-size demo-live handout test-grader:
	$(call no_solutions,$@)

# The students' handout: every step's tests, and the demo, on the
# learner's own code.
test: deps
	@scripts/test-all.sh $(STEPS_READY)

demo:
	@DEMO_IMPL=learner scripts/demo.sh $(or $(STEP),$(lastword $(STEPS_READY)))
endif

# The reference (the learner's code in the handout) measured against raw
# baselines (bench/bench.py; README, Performance): 6 to 9 minutes on 2
# cores, QUICK=1 under 2. BENCH_FLAGS passes more options (e.g. --make-test).
bench:
	@python3 bench/bench.py $(if $(filter-out 0,$(QUICK)),--quick) --ready "$(STEPS_READY)" $(BENCH_FLAGS)

# What the grader takes (build/submit/): the learner's sources and answers,
# after one run of every step's tests.
submit:
	@scripts/submit.sh $(READY_DIRS)

compile_commands.json:
	@command -v bear >/dev/null || { echo "make: bear is not installed (apt-get install bear)" >&2; exit 1; }
	rm -rf $(if $(HAVE_SOLUTIONS),build/solution,$(addprefix build/,$(READY_DIRS))) && \
	bear -- $(MAKE) $(foreach n,$(STEPS_READY),step$(n)) $(if $(HAVE_SOLUTIONS),IMPL=solution)

clean:
	rm -rf build
