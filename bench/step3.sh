#!/usr/bin/env bash
# step3.sh - step 3's measurements, all in one run on the reference:
# `make bench`'s step 3 measurements alone (bench/bench.py does the work).
#   1. the watchdog's heartbeat round trip (its "heartbeat ... rtt_us="
#      log lines: SIGUSR1, the server's handler, self-pipe, main loop,
#      counter, SIGUSR2, the watchdog's handler, self-pipe, registry scan)
#      against the raw SIGUSR1/SIGUSR2 round trip between two processes
#      (bench/baselines/signal_rtt.c), in interleaved rounds;
#   2. the detection latency over many injected freezes, against the bound
#      P + T: w's stopped (SIGSTOP) at a random moment until the watchdog's
#      SIGKILL; w's whose main loop hangs (fault hook hang:K);
#   3. the restart time: a w killed until its successor is ready, d killed
#      until every w is ready again.
#
# usage: bench/step3.sh [-n INJECTIONS] [-P MS] [-T MS] [-s SECONDS]
#   defaults: 100 injections of each kind with P = 100 ms, T = 300 ms;
#   heartbeats at P = 2 ms for 2 s a round, 5 rounds.
set -u
cd "$(dirname "$0")/.." || exit 1
n=100 P=100 T=300 secs=2
while getopts n:P:T:s:h c; do
	case $c in
	n) n=$OPTARG ;; P) P=$OPTARG ;; T) T=$OPTARG ;; s) secs=$OPTARG ;;
	*) sed -n '2,18p' "$0"; [[ $c == h ]] && exit 0; exit 2 ;;
	esac
done
exec python3 bench/bench.py --only heartbeat,detection,restart --set "det_n=$n" \
	--set "det_P=$P" --set "det_T=$T" --set "hb_secs=$secs"
