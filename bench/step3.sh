#!/usr/bin/env bash
# step3.sh - step 3's measurements, all in one run on the reference:
#   1. the raw SIGUSR1/SIGUSR2 round trip between two processes
#      (bench/baselines/signal_rtt.c);
#   2. the watchdog's heartbeat round trip (its "heartbeat ... rtt_us="
#      log lines: SIGUSR1, the server's handler, self-pipe, main loop,
#      counter, SIGUSR2, the watchdog's handler, self-pipe, registry scan);
#   3. the detection latency: a w frozen (SIGSTOP) at a random moment,
#      until the watchdog's SIGKILL, over many injections; the bound is
#      P + T.
#
# usage: bench/step3.sh [-n INJECTIONS] [-P MS] [-T MS] [-s SECONDS]
#   defaults: 100 injections with P = 100 ms, T = 300 ms; heartbeats at
#   P = 2 ms for 5 s.
set -u
cd "$(dirname "$0")/.." || exit 1
n=100 P=100 T=300 secs=5
while getopts n:P:T:s:h c; do
	case $c in
	n) n=$OPTARG ;; P) P=$OPTARG ;; T) T=$OPTARG ;; s) secs=$OPTARG ;;
	*) sed -n '2,15p' "$0"; [[ $c == h ]]; exit ;;
	esac
done

make --no-print-directory step3 IMPL=solution >/dev/null || exit 1
make --no-print-directory -s -f mk/step.mk STEP=bench SRC=bench/baselines \
	OUT=build/bench all >/dev/null || exit 1

echo "== raw SIGUSR1/SIGUSR2 round trip (bench/baselines/signal_rtt.c)"
build/bench/signal_rtt -n 100000 || exit 1

BIN=build/solution/step3_watchdog N=$n P=$P T=$T SECS=$secs python3 - <<'PY'
import os, random, re, signal, subprocess, sys, tempfile, time

BIN, N, P, T, SECS = (os.environ["BIN"], int(os.environ["N"]),
                      int(os.environ["P"]), int(os.environ["T"]),
                      float(os.environ["SECS"]))

def pct(xs, p):
    """Nearest-rank percentile, as common/rtt.c computes it."""
    xs = sorted(xs)
    k = max(1, -(-len(xs) * p // 100))
    return xs[int(k) - 1]

def start(tmp, *args):
    run = os.path.join(tmp, "run")
    log = open(os.path.join(tmp, "log"), "w+")
    shm = "/osps-bench-%d" % os.getpid()
    p = subprocess.Popen([BIN + "/watchdog", "-r", run, "-m", shm, *args],
                         stdin=subprocess.DEVNULL, stderr=log,
                         start_new_session=True)
    return p, os.path.join(tmp, "log")

def wait_line(path, rx, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with open(path) as f:
            for line in f:
                m = re.search(rx, line)
                if m:
                    return m, line
        time.sleep(0.002)
    sys.exit("bench: no line /%s/ in %s" % (rx, path))

def stop(p):
    p.send_signal(signal.SIGTERM)
    if p.wait(10) != 0:
        sys.exit("bench: the watchdog exited %d" % p.returncode)

# 2. heartbeat round trip
with tempfile.TemporaryDirectory() as tmp:
    p, log = start(tmp, "-w", "2", "-P", "2", "-T", "1000", "-i", "1000")
    wait_line(log, r" watchdog\[\d+\] ready ")
    time.sleep(SECS)
    stop(p)
    rtts = [int(m) / 1e6 for m in re.findall(r" heartbeat name=\S+ pid=\d+ rtt_us=(\d+)", open(log).read())]
print("== watchdog heartbeat round trip (3 servers, P = 2 ms, %.0f s)" % SECS)
print("%d heartbeats: p50 %.1f us, p99 %.1f us" % (len(rtts), pct(rtts, 50) * 1e6, pct(rtts, 99) * 1e6))

# 3. detection latency
lat = []
with tempfile.TemporaryDirectory() as tmp:
    p, log = start(tmp, "-w", "2", "-P", str(P), "-T", str(T), "-R", "63",
                   "-W", "1000", "-b", "1", "-B", "1", "-i", "1000")
    wait_line(log, r" watchdog\[\d+\] ready ")
    old = None
    for i in range(N):
        # The w1 that is up now (a new one after each kill).
        end = time.monotonic() + 10
        while True:
            pids = re.findall(r" up name=w1 pid=(\d+) ", open(log).read())
            if pids and pids[-1] != old:
                break
            if time.monotonic() > end:
                sys.exit("bench: w1 did not come back")
            time.sleep(0.005)
        pid = pids[-1]
        # Wait for its first heartbeat, then freeze it at a random phase.
        wait_line(log, r" heartbeat name=w1 pid=%s " % pid)
        time.sleep(random.uniform(0, P / 1000))
        t0 = time.monotonic()
        os.kill(int(pid), signal.SIGSTOP)
        m, line = wait_line(log, r"^(\S+) watchdog\[\d+\] kill name=w1 pid=%s " % pid)
        lat.append(float(m.group(1)) - t0)
        old = pid
    stop(p)
ms = [x * 1000 for x in lat]
print("== detection latency, SIGSTOP of w1 -> SIGKILL (P = %d ms, T = %d ms, bound P + T = %d ms)" % (P, T, P + T))
print("%d injections: min %.1f ms, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; max - (P + T) = %+.1f ms"
      % (len(ms), min(ms), pct(ms, 50), pct(ms, 90), pct(ms, 99), max(ms), max(ms) - (P + T)))
hist = {}
for x in ms:
    b = int(x // 50) * 50
    hist[b] = hist.get(b, 0) + 1
for b in sorted(hist):
    print("  %4d-%4d ms %4d %s" % (b, b + 49, hist[b], "#" * hist[b]))
PY
