#!/usr/bin/env bash
# check-races.sh [--full] STEP_DIR[/NAME]... - prove that STRESS=1 has teeth
# (every mutant of STEP_DIR, or its mutant NAME only).
#
# Each tests/races/STEP_DIR/NAME.patch is a racy mutant of the reference, a
# plausible student bug that passes the tests by luck. Its first lines say
# what the race is ("race: ..."), which tests meet it ("tests: " and a
# bats --filter regex) and how to make the mutant again from the reference
# when the patch no longer applies ("change: ..."). For each mutant: apply
# the patch to a fresh copy of solutions/STEP_DIR/src (so it follows the
# reference as it changes), build it, run those tests only, a few times
# as they are and a few times with STRESS=1 (seeds SEED0+1, SEED0+2, ...;
# SEED0 defaults to 1000), and print both failure rates as TAP. A mutant
# passes when it is a race, not a plain bug (it rarely fails without
# stress), and the stress catches it (it nearly always fails with it):
#   --full    5 runs without stress, at most 1 failing; 10 with, at least 9
#   default   1 run without stress (its result is only printed), up to 2
#             with, until one fails: the quick check of make test, for a
#             patch that no longer applies or a shim that has lost its teeth
# RESULTS=DIR also saves the TAP as DIR/races.tap.
set -u
cd "$(dirname "$0")/.." || exit 1
plain=1 plain_max=1 stressed=2 stressed_min=1 quick=1
if [[ ${1:-} == --full ]]; then
	plain=5 plain_max=1 stressed=10 stressed_min=9 quick=0
	shift
fi
seed0=${SEED0:-1000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-races.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=${RESULTS:+$RESULTS/races.tap}

make --no-print-directory stress-shim >"$tmp/shim.log" 2>&1 ||
	{ cat "$tmp/shim.log" >&2; echo "check-races: the stress shim does not build" >&2; exit 1; }

mutants=()
for arg in "$@"; do
	step=${arg%%/*}
	for p in tests/races/"$step"/*.patch; do
		[[ -e $p ]] || continue
		[[ $arg == */* && $arg != "$step/$(basename "$p" .patch)" ]] && continue
		mutants+=("$step $p")
	done
done

# failed: did the last run fail a test? Read from its TAP files, not from
# the exit status: a suite with no test matching the filter is no failure.
failed() {
	grep -qs '^not ok' "$tmp"/res/race.*.tap ||
		! grep -qs '^ok' "$tmp"/res/race.*.tap
}

# runs N STRESS BUILD FILTER: "F R": F of the R runs made failed. Up to N
# runs; the quick check stops at the first failure under stress, which is
# all it needs.
runs() {
	local n=$1 stress=$2 build=$3 filter=$4 i nfailed=0 made=0
	for ((i = 1; i <= n; i++)); do
		((quick && stress && nfailed)) && break
		made=$i
		if ((stress)); then
			STRESS=1 OSPS_STRESS_SEED=$((seed0 + i)) TESTS_FILTER=$filter \
				scripts/run-tests.sh --label race "$step" "$build" "$tmp/res" \
				>"$tmp/run.log" 2>&1
		else
			TESTS_FILTER=$filter scripts/run-tests.sh --label race "$step" \
				"$build" "$tmp/res" >"$tmp/run.log" 2>&1
		fi
		failed && nfailed=$((nfailed + 1))
	done
	echo "$nfailed $made"
}

{
echo "1..${#mutants[@]}"
i=0 rc=0
for m in "${mutants[@]}"; do
	read -r step p <<<"$m"
	i=$((i + 1))
	name="$step/$(basename "$p" .patch)"
	race=$(sed -n 's/^race: //p' "$p" | head -n 1)
	filter=$(sed -n 's/^tests: //p' "$p" | head -n 1)
	v="$tmp/${name//\//-}"
	mkdir -p "$v"
	cp -r "solutions/$step/src" "$v/src"
	if ! patch -s -p1 -d "$v/src" --no-backup-if-mismatch -r - <"$p" >"$v/patch.log" 2>&1; then
		echo "not ok $i race $name: its patch no longer applies to solutions/$step/src; make it again from the reference ($p)"
		sed 's/^/# /' "$v/patch.log" | head -5
		sed -n 's/^change: /#   the mutant: /p' "$p" | head -n 1
		rc=1
		continue
	fi
	if ! make --no-print-directory -f mk/step.mk STEP="$step" SRC="$v/src" \
		OUT="$v/build" NO_WERROR=1 all >"$v/build.log" 2>&1; then
		echo "not ok $i race $name: the mutant does not build"
		sed 's/^/# /' "$v/build.log" | tail -5
		rc=1
		continue
	fi
	read -r np nplain < <(runs "$plain" 0 "$v/build" "$filter")
	read -r ns nstressed < <(runs "$stressed" 1 "$v/build" "$filter")
	figures="fails $np/$nplain runs without stress, $ns/$nstressed with STRESS=1 (seeds $((seed0 + 1))..$((seed0 + nstressed)))"
	ok=0
	if ((np <= plain_max && ns >= stressed_min)); then
		ok=1
		echo "ok $i race $name: $figures"
	else
		echo "not ok $i race $name: $figures; needs at most $plain_max and at least $stressed_min"
		rc=1
	fi
	echo "#   $race"
	[[ $ok == 1 ]] || sed -n 's/^change: /#   the mutant: /p' "$p" | head -n 1
	rm -rf "$v"
done
exit "$rc"
} | if [[ -n $out ]]; then tee "$out"; else cat; fi
exit "${PIPESTATUS[0]}"
