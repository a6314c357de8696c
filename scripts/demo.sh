#!/usr/bin/env bash
# demo.sh [STEP] - the classroom demo (`make demo`, `make demo STEP=N`):
# a narrated, scripted run of the reference solution of one step. Needs
# only cc and make. Exits 0 only if every stage behaved as expected, so it
# doubles as an end-to-end test. Colour on a terminal, none when piped or
# with NO_COLOR set.
set -u
cd "$(dirname "$0")/.." || exit 1
step=${1:-1}

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B= G= R= D= N=
fi
failures=0
say()   { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note()  { printf '%s%s%s\n' "$D" "$*" "$N"; }
check() {	# check DESCRIPTION COMMAND...: run a check, print ✓ or ✗
	local what=$1
	shift
	if "$@"; then
		printf '  %s✓%s %s\n' "$G" "$N" "$what"
	else
		printf '  %s✗ %s%s\n' "$R" "$what" "$N"
		failures=$((failures + 1))
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"; rm -f "/dev/shm$shm" 2>/dev/null' EXIT
shm="/osps-demo-$$"

demo_step1() {
	local bin=build/solution/step1_shm
	say "Step 1: d and w share memory, without synchronisation"
	make --no-print-directory step1 IMPL=solution >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }

	say "d creates the segment, starts w, waits, and reads w's answer"
	note "\$ d -m $shm -t 200"
	"$bin/d" -m "$shm" -t 200 >"$tmp/out" 2>"$tmp/log"
	local rc=$?
	sed 's/^/    /' "$tmp/log"
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "d exited 0" test "$rc" -eq 0
	check "w's answer came back through the segment" grep -q '^d read: w\[[0-9]*\] done: request 1' "$tmp/out"
	check "w was reaped" grep -q 'reaped name=w .*exited with code 0' "$tmp/log"
	check "the segment is gone from /dev/shm" test ! -e "/dev/shm$shm"

	say "Race mode: d and w each add 1 to one counter 10 million times"
	note "\$ d -R -m $shm"
	"$bin/d" -R -m "$shm" >"$tmp/out" 2>"$tmp/log"
	rc=$?
	printf '    %s%s%s\n' "$B" "$(cat "$tmp/out")" "$N"
	check "d exited 0" test "$rc" -eq 0
	check "expected = actual + lost" awk '/^race:/ { gsub(/,/, ""); exit !($3 == $5 + $7) }' "$tmp/out"
	note "Lost updates: two processes loaded the same value, both stored value+1."
	note "Step 2 synchronises d and w with named pipes; the answers explain atomics."
}

case $step in
1) demo_step1 ;;
*) echo "demo: no demo for step $step yet (steps with a demo: 1)" >&2; exit 2 ;;
esac

say "Result"
if ((failures == 0)); then
	printf '%sEvery stage behaved as expected.%s\n' "$G" "$N"
else
	printf '%s%d check(s) failed.%s\n' "$R" "$failures" "$N"
	exit 1
fi
