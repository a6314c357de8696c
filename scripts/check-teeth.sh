#!/usr/bin/env bash
# check-teeth.sh STEP_DIR... - prove that the tests catch every exercise.
#
# For each exercise alone: build the reference with only its blocks
# replaced by their stubs, run the step's tests, and require at least one
# failure: first among the tests named for the exercise ([N.M]), else in
# the whole suite. Prints TAP: one line per exercise, "caught by ..." or
# "NOT caught" (a block no test can catch is a design smell: split or test it).
# RESULTS=DIR also saves the TAP as DIR/teeth.tap.
# --matrix: afterwards, print each step's independence matrix (which tests
# fail with each exercise stubbed alone: scripts/teeth-matrix.py, slow).
set -u
cd "$(dirname "$0")/.." || exit 1
matrix=0
[[ ${1:-} == --matrix ]] && { matrix=1; shift; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-teeth.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=${RESULTS:+$RESULTS/teeth.tap}

blocks=()
for step in "$@"; do
	# One variant per exercise id, all its blocks stubbed together (an
	# exercise may have blocks in several files: "2.2 d.c,w.c").
	while read -r ex files; do
		blocks+=("$step $ex $files")
	done < <(python3 scripts/skel.py list "solutions/$step/src" |
		awk '!($1 in files) { files[$1] = $2; next }
		     index("," files[$1] ",", "," $2 ",") == 0 { files[$1] = files[$1] "," $2 }
		     END { for (ex in files) print ex, files[ex] }' | sort -t. -k1,1n -k2,2n)
done

{
echo "1..${#blocks[@]}"
i=0 rc=0
for b in "${blocks[@]}"; do
	read -r step ex file <<<"$b"
	i=$((i + 1))
	v="$tmp/$step-$ex"
	python3 scripts/skel.py teeth "$ex" "solutions/$step/src" "$v/src" || exit 1
	if ! make --no-print-directory -f mk/step.mk STEP="$step" SRC="$v/src" \
		OUT="$v/build" NO_WERROR=1 all unit >"$v/build.log" 2>&1; then
		echo "not ok $i teeth $ex ($step/$file): the stubbed variant does not build"
		sed 's/^/# /' "$v/build.log" | tail -5
		rc=1
		continue
	fi
	# First the exercise's own tests (named [N.M]): quick, and the
	# stronger proof. Only if none of them fails, the whole suite.
	TESTS_FILTER="\\[${ex//./\\.}\\]" scripts/run-tests.sh --label teeth "$step" \
		"$v/build" "$v/own" >"$v/own.log" 2>&1
	own=$(grep '^  FAIL ' "$v/own.log" | grep -cF ": [$ex] ")
	if ((own > 0)); then
		first=$(grep '^  FAIL ' "$v/own.log" | grep -m1 -F ": [$ex] ")
		echo "ok $i teeth $ex ($step/$file): caught by $own of its own tests, e.g. \"${first#*: }\""
		continue
	fi
	scripts/run-tests.sh --label teeth "$step" "$v/build" "$v/all" >"$v/all.log" 2>&1
	caught=$(grep -c '^  FAIL ' "$v/all.log")
	if ((caught > 0)); then
		first=$(grep -m1 '^  FAIL ' "$v/all.log")
		echo "ok $i teeth $ex ($step/$file): caught by $caught test(s), none named [$ex], e.g. \"${first#*: }\""
	else
		echo "not ok $i teeth $ex ($step/$file): NOT caught, every test passes with the stub"
		rc=1
	fi
done
exit $rc
} | tee ${out:+"$out"}
rc=${PIPESTATUS[0]}
((matrix)) && { python3 scripts/teeth-matrix.py "$@" || rc=1; }
exit "$rc"
