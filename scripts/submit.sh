#!/usr/bin/env bash
# submit.sh STEP_DIR... - `make submit`: the archive to hand in,
# build/osps-submission.tar.gz, holding what the grader takes and nothing
# else (grader/osps_grader/intake.py): each step's src/ files, as the
# skeleton names them, and its ANSWERS.md.
#
# First, every step's tests run once on this code (SUBMIT_TEST_STEPS="1 2"
# limits them): their summary is printed, and failing tests do not stop
# the submission. Then it warns about what the grader will not see: files
# added to the kit (a new .c in src/), kit files changed (tests, Makefile:
# the grader uses its own copy), a missing ANSWERS.md or answers missing
# from it, and, in a git checkout, changes not committed.
set -u
cd "$(dirname "$0")/.." || exit 1
(($# > 0)) || { echo "usage: scripts/submit.sh STEP_DIR..." >&2; exit 2; }
out=build/osps-submission.tar.gz
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-submit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
warnings=0
warn() { echo "submit: warning: $*" >&2; warnings=$((warnings + 1)); }

# What the kit shipped: the handout's manifest (sha256sum lines), or in a
# checkout of the kit itself, its tracked files.
if [[ -f .handout-files ]]; then
	sed 's/^[0-9a-f]*  //' .handout-files >"$tmp/shipped"
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files >"$tmp/shipped"
else
	echo "submit: no .handout-files here: run make submit in the kit the course gave you" >&2
	exit 1
fi

# 1. The tests, once.
steps=()
for d in "$@"; do
	n=${d#step}
	steps+=("${n%%_*}")
done
echo "submit: running the tests of step(s) ${SUBMIT_TEST_STEPS:-${steps[*]}} once (this takes a few minutes)..."
# shellcheck disable=SC2086 # a list of step numbers
scripts/test-all.sh ${SUBMIT_TEST_STEPS:-${steps[*]}} >"$tmp/tests.log" 2>&1
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/tests.log" | tail -n 1)
mkdir -p build
cp "$tmp/tests.log" build/submit-tests.log
echo "submit: tests: ${summary:-no summary (see build/submit-tests.log)}; the full output is in build/submit-tests.log"

# 2. The learner's files: src/ files the skeleton has (examples/ too), and the answers.
mkdir -p "$tmp/osps-submission"
: >"$tmp/taken"
for d in "$@"; do
	grep -E "^$d/src/.+\$" "$tmp/shipped" | while read -r f; do
		[[ -f $f ]] && echo "$f"
	done >>"$tmp/taken"
	answers=
	for a in ANSWERS.md answers.md Answers.md ANSWERS.txt answers.txt; do
		[[ -f $d/$a ]] && { answers=$d/$a; break; }
	done
	if [[ -z $answers ]]; then
		warn "no $d/ANSWERS.md: answer the README's questions there, by label (${d:4:1}.a, ${d:4:1}.b, ...)"
	else
		echo "$answers" >>"$tmp/taken"
		missing=$(grep -oE '^- \*\*[0-9]+\.[a-z]\*\*' "$d/README.md" | grep -oE '[0-9]+\.[a-z]' |
			while read -r q; do grep -qE "(^|[^0-9])${q//./\\.}([^a-z]|$)" "$answers" || echo "$q"; done | tr '\n' ' ')
		[[ -n $missing ]] && warn "$answers does not answer: ${missing% }"
	fi
done
tar -cf - -T "$tmp/taken" | tar -xf - -C "$tmp/osps-submission" || exit 1
tar -czf "$out.tmp" -C "$tmp" osps-submission && mv -f "$out.tmp" "$out" || exit 1

# 3. What the grader will not see.
for d in "$@" common tests mk; do
	find "$d" -type f ! -name '*.o' ! -name '*.d' ! -name '*~' ! -name '.*.swp' 2>/dev/null
done | sort >"$tmp/present"
grep -vxF -f "$tmp/shipped" "$tmp/present" | grep -vxF -f "$tmp/taken" | while read -r f; do
	echo "left out (not a file of the kit; the grader takes only the skeleton's files): $f"
done >"$tmp/left"
if [[ -f .handout-files ]]; then
	sha256sum --quiet -c .handout-files 2>/dev/null | sed -nE 's/^(.*): FAILED$/\1/p' |
		grep -vxF -f "$tmp/taken" | while read -r f; do
			echo "changed, but left out (the grader uses the kit's own copy): $f"
		done >>"$tmp/left"
fi
while read -r line; do warn "$line"; done <"$tmp/left"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	dirty=$(git status --porcelain -- "$@" | cut -c4- | tr '\n' ' ')
	[[ -n $dirty ]] && warn "uncommitted changes (the archive has them as they are on disk; commit them if you hand in through git): ${dirty% }"
fi

echo "submit: $out: $(wc -l <"$tmp/taken") files (sources and answers of $*), $warnings warning(s)"
echo "submit: hand in this file; check its content with: tar -tzf $out"
