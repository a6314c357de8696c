#!/usr/bin/env bash
# handout.sh - `make handout`: the students' tarball, build/osps-kit.tar.gz.
#
# It holds the steps (READMEs, hints, skeletons, tests), common/, the test
# helpers, the scripts a learner uses (the demo, make submit), the
# benchmark harness (its questions use it), .vscode/; never solutions/,
# answer keys, the grader, the benchmark's recorded results or the kit's
# maintenance scripts. Its markdown files are the students' versions
# (scripts/handout-md.py: the instructors' parts removed), and
# .handout-files lists every file with its checksum (make submit tells
# what it leaves out by it). The tarball is then checked the way a
# student would use it: unpacked in a temporary directory, `make step1`
# must build and `make test-step1` must run and fail (skeleton stubs).
#
# Both editions ship: X.md (English) and X.fr.md (French). With
# HANDOUT_LANG=fr (`make handout LANG=fr` sets it), French is the default:
# X.md is the French edition and X.en.md the English one, links fixed.
set -u
cd "$(dirname "$0")/.." || exit 1
case ${HANDOUT_LANG:-en} in
fr*) first=fr ;;
en*) first=en ;;
*) echo "handout: HANDOUT_LANG=$HANDOUT_LANG: the editions are en (the default) and fr" >&2; exit 2 ;;
esac
out=build/osps-kit.tar.gz
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-handout.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# What a student gets: tracked files (or every file outside a git
# checkout) minus the instructors' material.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files
else
	find . -type f ! -path './build/*' | sed 's|^\./||'
fi | grep -Ev '^(solutions|grader|\.ci|\.github)/|^grader$|^bench/results\.json$|^tests/(kit|demo)[^/]*\.bats$|^scripts/(skel\.py|skeletons\.sh|check-teeth\.sh|teeth-matrix\.py|check-texts\.py|check-editions\.py|kit-test\.sh|handout\.sh|handout-md\.py|check-races\.sh)$|^tests/races/' \
	>"$tmp/files"

mkdir -p "$tmp/osps-kit" build
tar -cf - -T "$tmp/files" | tar -xf - -C "$tmp/osps-kit" || exit 1
grep -E '\.md$' "$tmp/files" | sed "s|^|$tmp/osps-kit/|" | xargs -r python3 scripts/handout-md.py || exit 1
if [[ $first == fr ]]; then
	if ! grep -q '\.fr\.md$' "$tmp/files"; then
		echo "handout: HANDOUT_LANG=fr, but the kit has no French edition (no *.fr.md)" >&2
		exit 1
	fi
	left=$(python3 scripts/handout-md.py --french-first "$tmp/osps-kit") || exit 1
	[[ -n $left ]] && echo "handout: warning: no French edition of $left: English only"
	(cd "$tmp/osps-kit" && find . -type f | sed 's|^\./||' | sort) >"$tmp/files"
	echo "handout: French first: README.md is the French edition, README.en.md the English one"
fi
(cd "$tmp/osps-kit" && sha256sum -- $(cat "$tmp/files")) >"$tmp/osps-kit/.handout-files" || exit 1
if grep -rlE --include='*.[ch]' 'BEGIN SOLUTION|END SOLUTION' "$tmp/osps-kit" >"$tmp/leaks"; then
	echo "handout: solution markers found in: $(tr '\n' ' ' <"$tmp/leaks")" >&2
	exit 1
fi
tar -czf "$out.$$.tmp" -C "$tmp" osps-kit && mv -f "$out.$$.tmp" "$out" || exit 1
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
