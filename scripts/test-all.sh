#!/usr/bin/env bash
# test-all.sh N... - every given step's tests on the learner's code
# (`make test` in the students' handout, `make submit`): `make test-stepN`
# for each, then one line "N passed, N failed" over all of them. Exits 0
# only if every test passed.
set -u
cd "$(dirname "$0")/.." || exit 1
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/osps-results.XXXXXX") || exit 1
export RESULTS
trap 'rm -rf "$RESULTS"' EXIT
rc=0
for n in "$@"; do
	printf '\n=== step %s: make test-step%s\n' "$n" "$n"
	make --no-print-directory "test-step$n" || rc=1
done
printf '\n=== every step (%s)\n' "$*"
python3 scripts/tapsum.py "$RESULTS"/*.tap || rc=1
exit "$rc"
