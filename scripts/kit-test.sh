#!/usr/bin/env bash
# kit-test.sh STEP_DIR... - the kit's own check (`make test`): the common
# library's tests, every delivered step's tests on the reference, the same
# under valgrind, skeletons up to date and compiling without warnings, the
# teeth check, the demo. Ends with one line "N passed, N failed" over all
# of it, also saved in build/test-summary.txt; the phases' wall times go
# to build/test-times.tsv (`make bench` reports them).
set -u
export OSPS_LANG=en  # the kit's tests read the tools' English messages
cd "$(dirname "$0")/.." || exit 1
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/osps-results.XXXXXX") || exit 1
export RESULTS
trap 'rm -rf "$RESULTS"' EXIT
start=$SECONDS

phase() { printf '\n=== %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# run_phase NAME COMMAND...: run one phase and record its exit status as a
# result of its own, so that a phase that dies before writing its results
# still counts as a failure.
nphase=0
run_phase() {
	local name=$1 rc t0=$EPOCHREALTIME
	shift
	"$@"
	rc=$?
	nphase=$((nphase + 1))
	printf '%s\t%s\t%s\n' "$name" "$(elapsed "$t0")" "$rc" >>"$RESULTS/times.tsv"
	if ((rc == 0)); then
		echo "ok $nphase $name" >>"$RESULTS/phases.body"
	else
		echo "not ok $nphase $name (exit status $rc)" >>"$RESULTS/phases.body"
	fi
}

phase "common library"
run_phase "make test-common" make --no-print-directory test-common

for step in "$@"; do
	n=${step#step}
	n=${n%%_*}
	phase "step $n on the reference"
	run_phase "make test-step$n IMPL=solution" make --no-print-directory "test-step$n" IMPL=solution
	phase "step $n on the reference, under valgrind"
	run_phase "make valgrind-step$n IMPL=solution" make --no-print-directory "valgrind-step$n" IMPL=solution
done

phase "skeletons"
scripts/skeletons.sh --check "$@" | tee "$RESULTS/skeletons.tap"
{
	echo "1..$#"
	i=0
	for step in "$@"; do
		i=$((i + 1))
		n=${step#step}
		n=${n%%_*}
		if log=$(make --no-print-directory "step$n" "unit-step$n" 2>&1); then
			echo "ok $i skeleton of $step builds without warnings"
		else
			echo "not ok $i skeleton of $step does not build warning-free"
			sed 's/^/# /' <<<"$log" | tail -8
		fi
	done
} | tee "$RESULTS/skeleton-build.tap"

phase "kit tooling: doctor, progress, hints, handout, diff"
run_phase "kit tooling tests" scripts/run-tests.sh --label kit . build "$RESULTS"

phase "bench: the harness runs (smoke test; the figures are not checked)"
run_phase "bench/bench.py --smoke" python3 bench/bench.py --smoke --tap "$RESULTS/bench.tap"

phase "grader: its own tests (grader/tests)"
run_phase "make test-grader" make --no-print-directory test-grader

phase "teeth: every exercise's stub makes a test fail"
run_phase "check-teeth" scripts/check-teeth.sh "$@"

phase "races: STRESS=1 catches racy mutants of the reference (tests/races)"
run_phase "check-races" scripts/check-races.sh "$@"

phase "demos: make demo STEP=N for every step"
{
	echo "1..$#"
	i=0
	for step in "$@"; do
		i=$((i + 1))
		n=${step#step}
		n=${n%%_*}
		if log=$(make --no-print-directory demo STEP="$n" NO_COLOR=1 2>&1); then
			echo "ok $i make demo STEP=$n: every stage behaved as expected"
		else
			echo "not ok $i make demo STEP=$n failed"
			sed 's/^/# /' <<<"$log" | grep -E '✗|rror|FAIL' | head -15
		fi
	done
} | tee "$RESULTS/demo.tap"

{ echo "1..$nphase"; cat "$RESULTS/phases.body"; } >"$RESULTS/phases.tap"
phase "summary ($((SECONDS - start)) s)"
mkdir -p build
python3 scripts/tapsum.py "$RESULTS"/*.tap | tee build/test-summary.txt
rc=${PIPESTATUS[0]}
{
	echo "# recorded $(date -u '+%Y-%m-%d %H:%M UTC') by scripts/kit-test.sh: phase, seconds, exit status"
	cat "$RESULTS/times.tsv"
	printf 'total\t%s\t%s\n' "$((SECONDS - start))" "$(tail -n 1 build/test-summary.txt)"
} >build/test-times.tsv
exit "$rc"
