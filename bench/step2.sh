#!/usr/bin/env bash
# step2.sh - step 2's ping/pong round trip against a raw FIFO ping-pong.
#
# usage: bench/step2.sh [-n ROUND_TRIPS] [-k RUNS]
#   defaults: 100000 round trips, 5 runs of each program
#
# Builds the reference d and w (make step2 IMPL=solution) and the baseline
# bench/baselines/fifo_pingpong.c with the kit's flags (bench/step.mk), then
# runs them in turns, baseline, d, baseline, d, ... so that a busy machine
# affects both alike. Each prints the same line (common/rtt.h):
#     100000 round trips in 1.234 s: 81037 round trips/s, p50 11.2 us, p99 25.3 us
# Last come the medians over the runs and the ratios d / baseline.
# Target (issue 3): d's p50 round trip at most 1.5 x the baseline's.
# Exit status: 0 when the target is met, 1 when it is not, 2 on error.
set -u
cd "$(dirname "$0")/.." || exit 2
n=100000 runs=5
while getopts n:k:h c; do
	case $c in
	n) n=$OPTARG ;; k) runs=$OPTARG ;;
	*) sed -n '2,15p' "$0"; [[ $c == h ]] && exit 0; exit 2 ;;
	esac
done

make --no-print-directory step2 IMPL=solution >/dev/null || exit 2
make --no-print-directory -s -f mk/step.mk STEP=bench SRC=bench/baselines \
	OUT=build/bench all >/dev/null || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

for ((i = 1; i <= runs; i++)); do
	build/bench/fifo_pingpong -n "$n" >>"$tmp/baseline" || exit 2
	printf 'baseline  %s\n' "$(tail -n 1 "$tmp/baseline")"
	build/solution/step2_fifo/d -q -n "$n" -r "$tmp/run" \
		-m "/osps-bench-$$" >>"$tmp/d" || exit 2
	printf 'd -q      %s\n' "$(tail -n 1 "$tmp/d")"
done

# The median of field F (7: round trips/s, 11: p50 us, 14: p99 us).
median() { awk -v f="$2" '{ print $f }' "$1" | sort -g | awk '{ v[NR] = $1 }
	END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '\nmedian of %d runs   round trips/s    p50 us    p99 us\n' "$runs"
for who in baseline d; do
	printf '%-18s %14s %9s %9s\n' "$who" "$(median "$tmp/$who" 7)" \
		"$(median "$tmp/$who" 11)" "$(median "$tmp/$who" 14)"
done
awk -v bp="$(median "$tmp/baseline" 11)" -v dp="$(median "$tmp/d" 11)" \
    -v br="$(median "$tmp/baseline" 7)" -v dr="$(median "$tmp/d" 7)" 'BEGIN {
	printf "d / baseline: p50 round trip x%.2f (target <= 1.5), round trips/s x%.2f\n", dp / bp, dr / br
	exit !(dp / bp <= 1.5) }'
