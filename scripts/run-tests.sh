#!/usr/bin/env bash
# run-tests.sh - run one step's unit and process tests, print the TAP
# results as they come and a summary line "N passed, N failed".
#
# usage: scripts/run-tests.sh [--valgrind] [--label L] [--ex N.M] [--brief]
#                             STEP_DIR BIN_DIR RESULTS_DIR
#   STEP_DIR     e.g. step1_shm (its tests/unit binaries are BIN_DIR/test_*,
#                its process tests STEP_DIR/tests/*.bats)
#   BIN_DIR      where the programs and unit test binaries were built
#   RESULTS_DIR  receives one LABEL.<suite>.tap file per suite
#   --ex N.M     only exercise N.M's tests (those named "[N.M] ...")
#   --brief      one line per test, then the first failure in full
# Environment: TIMEOUT_SCALE (default 1, 10 under valgrind), BATS_JOBS
# (parallel bats jobs, needs GNU parallel; default: STEP_DIR/tests/bats-jobs
# if present, else 1), TESTS_FILTER (a bats --filter regex).
set -u
valgrind=0 label= ex= brief=0
while [[ $# -gt 0 && $1 == --* ]]; do
	case $1 in
	--valgrind) valgrind=1 ;;
	--label) label=$2; shift ;;
	--ex) ex=$2; shift ;;
	--brief) brief=1 ;;
	*) echo "run-tests.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $# -eq 3 ]] || { sed -n '4,11p' "$0" >&2; exit 2; }
step=$1
# Close any descriptor above 2 inherited from the caller (make, a terminal
# multiplexer, CI): valgrind would report it as leaked by the program.
for fd in /proc/self/fd/*; do
	fd=${fd##*/}
	((fd > 2)) && eval "exec $fd>&-"
done
KIT_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$2" && pwd) || exit 1
results=$3
label=${label:-$(basename "$step")}
mkdir -p "$results"
rm -f "$results/$label".*.tap

export KIT_ROOT BIN
if ((valgrind)); then
	export VALGRIND=1 VG_LOGDIR
	VG_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/osps-vg.XXXXXX")
	export TIMEOUT_SCALE=${TIMEOUT_SCALE:-10}
else
	export TIMEOUT_SCALE=${TIMEOUT_SCALE:-1}
fi
export BATS_TEST_TIMEOUT=$(awk -v k="$TIMEOUT_SCALE" 'BEGIN { printf "%d", 60 * k }')
limit=$(awk -v k="$TIMEOUT_SCALE" 'BEGIN { printf "%d", 120 * k }')

if [[ -n $ex && -f $step/exercises.json ]]; then
	known=$(python3 -c 'import json, sys
print(" ".join(dict.fromkeys(b["id"] for b in json.load(open(sys.argv[1])))))' "$step/exercises.json")
	if [[ " $known " != *" $ex "* ]]; then
		echo "run-tests.sh: $step has no exercise '$ex'; its exercises: $known" >&2
		exit 2
	fi
fi
# One exercise: cmocka's filter (common/tests/check.h reads it) and bats'.
if [[ -n $ex ]]; then
	export OSPS_UNIT_FILTER="[$ex] *"
	TESTS_FILTER="^\\[${ex//./\\.}\\] "
fi

# show: the TAP stream as it comes, or with --brief only its result lines.
show() {
	if ((brief)); then
		grep --line-buffered -E '^(not )?ok ' | sed -u -E 's/^ok [0-9]+ (- )?/  ok    /; s/^not ok [0-9]+ (- )?/  FAIL  /'
	else
		cat
	fi
}

vg=()
((valgrind)) && vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite
	--track-fds=yes "--log-file=$VG_LOGDIR/vg.%p.log")

# Unit tests: cmocka in TAP mode. stderr (the modules' own messages) is
# kept apart so that nothing a module prints can look like a result.
for t in "$BIN"/test_*; do
	[[ -x $t ]] || continue
	name=$(basename "$t")
	tap="$results/$label.unit_$name.tap"
	((brief)) || echo "# $label: unit tests $name"
	CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 5 "$limit" "${vg[@]}" "$t" \
		>"$tap" 2>"$results/$label.unit_$name.err" 3>&-
	# A test program with none of the exercise's tests ran nothing.
	[[ -n $ex ]] && grep -qx '1\.\.0' "$tap" && { rm -f "$tap"; continue; }
	show <"$tap"
done

# Serial by default: GNU parallel's start-up costs more than it saves on
# short suites (measured: step 1 took 7.0 s serial, 8.7 s with -j 2).
# A step whose suite gains from it names its job count in tests/bats-jobs.
jobs=${BATS_JOBS:-$(cat "$step/tests/bats-jobs" 2>/dev/null || echo 1)}
bats_flags=(--formatter tap)
((jobs > 1)) && bats_flags+=(--jobs "$jobs")
# Tests that measure time are meaningless under valgrind's slowdown.
((valgrind)) && bats_flags+=(--filter-tags '!timing')
[[ -n ${TESTS_FILTER:-} ]] && bats_flags+=(--filter "$TESTS_FILTER")

for f in "$step"/tests/*.bats; do
	[[ -e $f ]] || continue
	tap="$results/$label.$(basename "$f" .bats).tap"
	((brief)) || echo "# $label: process tests $(basename "$f")"
	timeout -k 5 $((limit * 10)) bats "${bats_flags[@]}" "$f" </dev/null | tee "$tap" | show
	[[ -n $ex ]] && grep -qx '1\.\.0' "$tap" && rm -f "$tap"
done

if [[ -n $ex ]] && ! compgen -G "$results/$label.*.tap" >/dev/null; then
	echo "run-tests.sh: no test of $step is named [$ex]" >&2
	exit 2
fi

if ((valgrind)); then
	echo "# $label: valgrind reports"
	python3 "$KIT_ROOT/scripts/vgcheck.py" "$VG_LOGDIR" | tee "$results/$label.valgrind.tap"
	rm -rf "$VG_LOGDIR"
fi

if ((brief)); then
	# The first failure in full (in the order the tests ran), then the
	# summary line alone.
	python3 - "$KIT_ROOT/scripts" "$results/$label".*.tap <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tapsum
	for path in sorted(sys.argv[2:], key=lambda p: (".unit_" not in p, p)):
	    with open(path, encoding="utf-8", errors="replace") as f:
	        tests = tapsum.parse(f.read(), tapsum.suite_name(path))
	    for t in tests:
	        if t.status == "fail":
	            print(f"\nFirst failure, in full: {t.name}")
	            print("\n".join("  " + d for d in t.diag))
	            sys.exit(0)
	EOF
	python3 "$KIT_ROOT/scripts/tapsum.py" --quiet "$results/$label".*.tap
	exit
fi
python3 "$KIT_ROOT/scripts/tapsum.py" "$results/$label".*.tap
