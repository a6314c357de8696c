#!/usr/bin/env bash
# step2.sh - step 2's ping/pong round trip against a raw FIFO ping-pong:
# `make bench`'s step 2 measurement alone (bench/bench.py does the work).
#
# usage: bench/step2.sh [-n ROUND_TRIPS] [-k RUNS]
#   defaults: 100000 round trips, 5 runs of each program
#
# The reference d (`d -q -n N`) and bench/baselines/fifo_pingpong.c, both
# built with the kit's flags, run in turns (baseline, d, then d, baseline,
# ...) so that a busy machine affects both alike. Each prints the summary
# line of common/rtt.h:
#     100000 round trips in 1.234 s: 81037 round trips/s, p50 11.2 us, p99 25.3 us
# Then the medians over the runs, their min-max, and the ratios d / baseline.
# Target (issue 3): d's p50 round trip at most 1.5 x the baseline's.
# Exit status: 0 when the target is met, 1 when it is not or on error.
set -u
cd "$(dirname "$0")/.." || exit 1
n=100000 runs=5
while getopts n:k:h c; do
	case $c in
	n) n=$OPTARG ;; k) runs=$OPTARG ;;
	*) sed -n '2,16p' "$0"; [[ $c == h ]] && exit 0; exit 2 ;;
	esac
done
exec python3 bench/bench.py --only step2 --rounds "$runs" --set "s2_n=$n" --strict
