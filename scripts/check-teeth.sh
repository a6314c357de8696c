#!/usr/bin/env bash
# check-teeth.sh STEP_DIR... - prove that the tests catch every exercise,
# and only that exercise.
#
# For each exercise alone: build the reference with only its blocks
# replaced by their stubs and run the step's whole suite (four variants at
# a time: TEETH_JOBS). Require at least one failure, first among the tests
# named for the exercise ([N.M]), else in the whole suite (a block no test
# can catch is a design smell: split or test it); and no failure of a test
# named for another exercise unless that exercise declares it needs this
# one in STEP/prerequisites (scripts/prereqs.py), once confirmed by running
# just those tests again (a flake is not counted) and not failing on the
# reference. A step without a prerequisites file is not held to it: only
# its teeth are checked, from its own tests (make teeth-matrix STEP=N
# measures its matrix). Prints TAP: one line per exercise, then each step's
# independence matrix as comments (scripts/teeth-matrix.py does the work).
# RESULTS=DIR also saves the TAP as DIR/teeth.tap.
# --matrix is accepted and ignored (the matrix is always printed).
set -u
cd "$(dirname "$0")/.." || exit 1
[[ ${1:-} == --matrix ]] && shift
out=${RESULTS:+$RESULTS/teeth.tap}
python3 scripts/teeth-matrix.py --check "$@" | tee ${out:+"$out"}
exit "${PIPESTATUS[0]}"
