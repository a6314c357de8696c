#!/usr/bin/env bash
# diff-step.sh STEP_DIR - the learner's sources against the reference, as a
# unified diff. The reference's solution markers are stripped first, so
# only real differences show.
set -u
cd "$(dirname "$0")/.." || exit 1
step=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 scripts/skel.py solution "solutions/$step/src" "$tmp/reference" || exit 1
color=never
[[ -t 1 && -z ${NO_COLOR:-} ]] && color=always
diff -ruN --color=$color "$step/src" "$tmp/reference" |
	sed -e "s|$tmp/reference|reference/$step/src|g"
rc=${PIPESTATUS[0]}
((rc == 0)) && echo "diff-step: $step/src is identical to the reference"
((rc <= 1)) && exit 0
exit 1
