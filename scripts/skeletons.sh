#!/usr/bin/env bash
# skeletons.sh - generate the learners' sources from the reference.
#
# usage: scripts/skeletons.sh STEP_DIR...           regenerate STEP_DIR/src and
#                                                   STEP_DIR/exercises.json
#        scripts/skeletons.sh --check STEP_DIR...   compare, print TAP, exit 1 if stale
# The reference in solutions/STEP_DIR/src is the single source of truth:
# never edit STEP_DIR/src by hand in the kit's own repository.
set -u
cd "$(dirname "$0")/.." || exit 1
check=0
[[ ${1:-} == --check ]] && { check=1; shift; }

if ((!check)); then
	for step in "$@"; do
		rm -rf "$step/src"
		python3 scripts/skel.py skeleton "solutions/$step/src" "$step/src" || exit 1
		python3 scripts/skel.py manifest "solutions/$step/src" >"$step/exercises.json" || exit 1
		echo "generated $step/src and $step/exercises.json from solutions/$step/src"
	done
	exit 0
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..$#"
i=0 rc=0
for step in "$@"; do
	i=$((i + 1))
	if python3 scripts/skel.py skeleton "solutions/$step/src" "$tmp/$step" &&
		python3 scripts/skel.py manifest "solutions/$step/src" >"$tmp/$step.json" &&
		diff -r "$tmp/$step" "$step/src" >"$tmp/$step.diff" 2>&1 &&
		diff "$tmp/$step.json" "$step/exercises.json" >>"$tmp/$step.diff" 2>&1; then
		echo "ok $i skeleton $step/src is up to date"
	else
		echo "not ok $i skeleton $step/src is stale: run 'make skeletons'"
		sed 's/^/# /' "$tmp/$step.diff" | head -20
		rc=1
	fi
done
exit $rc
