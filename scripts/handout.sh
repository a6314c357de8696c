#!/usr/bin/env bash
# handout.sh - `make handout`: the students' tarball, build/osps-kit.tar.gz.
#
# It holds the steps (READMEs, skeletons, tests), common/, the test helpers
# and the scripts a learner uses; never solutions/, answer keys, the grader
# or the kit's maintenance scripts. The tarball is then checked the way a
# student would use it: unpacked in a temporary directory, `make step1`
# must build and `make test-step1` must run and fail (skeleton stubs).
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/osps-kit.tar.gz
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-handout.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# What a student gets: tracked files (or every file outside a git
# checkout) minus the instructors' material.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files
else
	find . -type f ! -path './build/*' | sed 's|^\./||'
fi | grep -Ev '^(solutions|grader|bench|\.ci|\.github)/|^grader$|^tests/kit[^/]*\.bats$|^scripts/(skel\.py|skeletons\.sh|check-teeth\.sh|kit-test\.sh|handout\.sh|demo\.sh|check-races\.sh)$|^tests/races/' \
	>"$tmp/files"

mkdir -p "$tmp/osps-kit" build
tar -cf - -T "$tmp/files" | tar -xf - -C "$tmp/osps-kit" || exit 1
if grep -rlE --include='*.[ch]' 'BEGIN SOLUTION|END SOLUTION' "$tmp/osps-kit" >"$tmp/leaks"; then
	echo "handout: solution markers found in: $(tr '\n' ' ' <"$tmp/leaks")" >&2
	exit 1
fi
tar -czf "$out" -C "$tmp" osps-kit || exit 1
echo "handout: $out ($(wc -l <"$tmp/files") files, $(du -h "$out" | cut -f1))"

# Check it as a student would.
mkdir "$tmp/check"
tar -xzf "$out" -C "$tmp/check" || exit 1
cd "$tmp/check/osps-kit" || exit 1
if ! make step1 >"$tmp/step1.log" 2>&1; then
	echo "handout: 'make step1' fails in the unpacked handout:" >&2
	tail -20 "$tmp/step1.log" >&2
	exit 1
fi
make test-step1 >"$tmp/test.log" 2>&1
rc=$?
summary=$(tail -n 3 "$tmp/test.log" | grep -E '^[0-9]+ passed, [0-9]+ failed')
failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
if ((rc == 0)) || [[ -z $summary ]] || ((failed == 0)); then
	echo "handout: 'make test-step1' should run and fail on the skeleton; it gave:" >&2
	tail -20 "$tmp/test.log" >&2
	exit 1
fi
echo "handout: checked: unpacked, 'make step1' builds, 'make test-step1' runs and fails on the skeleton ($summary)"
