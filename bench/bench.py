#!/usr/bin/env python3
"""bench.py - `make bench`: the kit's reference solutions measured against
raw baselines, side by side, in the same run (in the students' handout,
which has no reference, the learner's own programs).

usage: bench/bench.py [--quick | --smoke] [--ready "1 2 3"] [--json FILE]
                      [--tap FILE] [--bin4 DIR] [--make-test]
                      [--only NAME,...] [--rounds K] [--set KEY=VALUE]...
                      [--strict]
       bench/bench.py --markdown FILE.json      README tables from a run

  --quick      a run under 2 minutes (fewer rounds, smaller runs; the kit's
               test times are the ones `make test` last recorded)
  --smoke      a few seconds: every measurement runs once, tiny; for
               `make test`, which checks that the harness runs, not the
               figures (TAP with --tap)
  --ready S    the delivered steps (default: STEPS_READY in the Makefile);
               the others are reported "not available"
  --json FILE  where the results go (default bench/results.json; with
               --smoke, nowhere unless given)
  --tap FILE   also write one TAP line per measurement (for make test)
  --bin4 DIR   measure step 4's programs found in DIR even if step 4 is
               not delivered yet (its author's work in progress)
  --make-test  also run the whole `make test` and time it (it takes longer
               than the rest of the run together)
  --only N,..  only these measurements: step2, heartbeat, detection,
               restart, step4, memory, feedback (no results file unless
               --json)
  --rounds K   interleaved rounds of each comparison (default: the mode's)
  --set K=V    change one size of the mode, e.g. s2_n=100000 (see MODES)
  --strict     exit 1 when a target is missed as well

What is measured (each as the median of several interleaved rounds with
the min-max over the rounds; a ratio is kit / baseline, computed round by
round, so that a busy machine affects both sides of each ratio alike):

  step 2   `d -q -n N` ping/pong round trip vs bench/baselines/fifo_pingpong
  step 3   heartbeat round trip watchdog -> server -> watchdog vs
           bench/baselines/signal_rtt; detection latency over injected
           freezes (SIGSTOP; a main loop hung by the fault hook hang:K)
           against the bound P + T; restart time (SIGKILL of a w until its
           successor is ready; of d until every w is ready again)
  step 4   requests/s and p50/p99 at 1, 10, 100, 1,000 concurrent clients,
           1, 2, 4 w's, fresh and reused d connections, vs
           bench/baselines/tcp_rr (connect + request + close) and
           tcp_rr -k (requests over kept connections)
  memory   resident size of every process at idle and after 100,000
           requests (step 3: d<->w exchanges; step 4: client requests)
  kit      wall time of `make test-stepN IMPL=solution` and of `make test`

Hygiene: every program runs in a session of its own and is killed with its
session at the end, whatever happens (Ctrl-C included); run directories
live in one temporary directory, removed at the end; shared memory names
are /osps-bench-<pid>-<k>, checked for and removed; ports are ephemeral
(-p 0), loopback only; every wait is bounded.
Exit status: 0 when every measurement ran (targets missed are reported,
not failed, unless --strict), 1 when one could not run, 2 on bad usage.
"""
import argparse
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP_DIRS = {1: "step1_shm", 2: "step2_fifo", 3: "step3_watchdog", 4: "step4_client"}
# The reference, or in the students' handout (no solutions/) the learner's
# own code: the programs measured and where make builds them.
IMPL = "solution" if os.path.isdir(os.path.join(ROOT, "solutions")) else "learner"
BUILD = "build/solution" if IMPL == "solution" else "build"

# The sizes of each mode. "rounds": interleaved rounds of every comparison.
MODES = {
    "smoke": dict(rounds=1, s2_n=2000, sig_n=2000, hb_secs=0.3,
                  det_P=20, det_T=60, det_n=2, det_ws=2,
                  rst_w=1, rst_d=1,
                  s4_ws=[1], s4_conc=[1, 10], s4_n={1: 50, 10: 200},
                  mem_n=1000, feedback="recorded"),
    "quick": dict(rounds=3, s2_n=20000, sig_n=20000, hb_secs=0.5,
                  det_P=100, det_T=300, det_n=50, det_ws=8,
                  rst_w=10, rst_d=5,
                  s4_ws=[1, 2, 4], s4_conc=[1, 10, 100, 1000],
                  s4_n={1: 150, 10: 300, 100: 400, 1000: 1000},
                  mem_n=10000, feedback="recorded"),
    "full": dict(rounds=5, s2_n=100000, sig_n=100000, hb_secs=2.0,
                 det_P=100, det_T=300, det_n=100, det_ws=8,
                 rst_w=30, rst_d=15,
                 s4_ws=[1, 2, 4], s4_conc=[1, 10, 100, 1000],
                 s4_n={1: 1000, 10: 2000, 100: 3000, 1000: 3000},
                 mem_n=100000, feedback="run"),
}

# The summary line of common/rtt.h, printed by the kit's benchmark modes,
# by step 4's load client and by every baseline.
RTT = re.compile(r"(\d+) round trips in ([\d.]+) s: ([\d.]+) round trips/s, "
                 r"p50 ([\d.]+) us, p99 ([\d.]+) us")

# The targets: step 2's p50 round trip at most 1.5x the raw FIFO
# ping-pong's; step 4's requests/s with fresh d connections at least 0.35x
# the raw connections/s (each request costs two connections).
STEP2_TARGET = 1.5
STEP4_TARGET = 0.35
# Detection: the margin over P + T for a real process's wake-ups, the one
# step 3's timing tests allow (tests/step3.bats).
DETECT_MARGIN_MS = 50
# Memory: what "no growth" tolerates between the reading after 10% of the
# requests and the one after all of them (a few pages; a leak of a single
# byte a request would already show 90 kB after 100,000 requests).
MEM_SLACK_KB = 64


class BenchError(Exception):
    """A measurement could not run; the message says why."""


class NotAvailable(Exception):
    """A measurement whose step is not delivered yet."""


# ---------------------------------------------------------------- statistics

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def pct(xs, p):
    """Nearest-rank percentile, as common/rtt.c computes it."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(1, math.ceil(len(xs) * p / 100))
    return xs[k - 1]


def spread(xs):
    """Median, min and max of a list of per-round values."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def ratios(kit, base):
    """Round-by-round ratios kit[i] / base[i], as a spread."""
    return spread([k / b for k, b in zip(kit, base) if k is not None and b])


def parse_rtt(text, what):
    m = None
    for m in RTT.finditer(text):
        pass
    if m is None:
        raise BenchError("%s printed no summary line: %r" % (what, text[-300:]))
    n, secs, rate, p50, p99 = m.groups()
    return {"n": int(n), "secs": float(secs), "rate": float(rate),
            "p50_us": float(p50), "p99_us": float(p99)}


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """(state, ppid, pgrp, session) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def session_members(sid):
    """Live (non-zombie) processes of session sid."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None and st[3] == sid and st[0] != "Z":
                pids.append(int(d))
    return pids


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """CPU time the processes pids have used so far: the scheduler's count
    in ns (/proc/PID/schedstat), else user + system time in clock ticks."""
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/schedstat" % pid) as f:
                total += int(f.read().split()[0]) / 1e9
            continue
        except (OSError, ValueError, IndexError):
            pass
        try:
            with open("/proc/%d/stat" % pid) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def children_cpu():
    """CPU time of every child this harness has reaped (and of the
    children they reaped in turn)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_label(pid):
    """watchdog, d, w3, ...: the program and, for a w, its number."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    name = os.path.basename(argv[0])
    if name == "w" and "-n" in argv[:-1]:
        return "w" + argv[argv.index("-n") + 1]
    return name


class LogTail:
    """The lines a program has written to its log file so far."""

    def __init__(self, path):
        self.path = path
        self.f = None
        self.buf = b""
        self.lines = []

    def poll(self):
        """Read what came since the last call; returns the new lines."""
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except FileNotFoundError:
                return []
        data = self.f.read()
        if not data:
            return []
        *done, self.buf = (self.buf + data).split(b"\n")
        new = [x.decode(errors="replace") for x in done]
        self.lines += new
        return new

    def close(self):
        if self.f is not None:
            self.f.close()


class Tree:
    """A watchdog and its servers, started in a session of their own, with
    their log (every process writes its lines to the same file)."""

    def __init__(self, bench, argv, name):
        self.bench = bench
        self.log = os.path.join(bench.tmp, "%s.log" % name)
        with open(self.log, "wb") as f:
            self.proc = bench.spawn(argv, stdout=subprocess.DEVNULL, stderr=f)
        self.tail = LogTail(self.log)
        self.argv = argv

    def wait(self, rx, timeout, since=0):
        """The first line from index since that matches rx, as (match,
        index); BenchError after timeout seconds."""
        rx = re.compile(rx)
        end = time.monotonic() + timeout
        i = since
        while True:
            self.tail.poll()
            while i < len(self.tail.lines):
                m = rx.search(self.tail.lines[i])
                if m:
                    return m, i
                i += 1
            if time.monotonic() > end:
                raise BenchError("no line /%s/ within %.0f s in the log of %s:\n%s"
                                 % (rx.pattern, timeout, " ".join(self.argv[:1]),
                                    "\n".join(self.tail.lines[-15:])))
            if self.proc.poll() is not None:
                raise BenchError("%s exited (status %s) before /%s/:\n%s"
                                 % (self.argv[0], self.proc.returncode, rx.pattern,
                                    "\n".join(self.tail.lines[-15:])))
            time.sleep(0.002)

    def members(self):
        return session_members(self.proc.pid)

    def stop(self):
        """Clean stop by SIGTERM (bounded), then whatever is left is killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        rc = self.proc.poll()
        self.bench.end_session(self.proc)
        self.tail.poll()
        self.tail.close()
        if rc != 0:
            raise BenchError("%s did not stop cleanly (status %s):\n%s"
                             % (self.argv[0], rc, "\n".join(self.tail.lines[-10:])))


# ---------------------------------------------------------------- the harness

class Bench:
    def __init__(self, mode, ready, bin4=None, make_test=False, out=sys.stdout,
                 only=None, cfg=None):
        self.mode = mode
        self.cfg = cfg or MODES[mode]
        self.only = only
        self.ready = ready
        self.bin4 = bin4
        self.make_test = make_test
        self.out = out
        self.procs = []          # every Popen whose session is still ours
        self.nshm = 0
        self.figures = []        # see figure()
        self.checks = []         # (ok, name, detail) for TAP
        self.tmp = tempfile.mkdtemp(prefix="osps-bench.", dir=os.environ.get("TMPDIR"))
        self.shm_prefix = "osps-bench-%d-" % os.getpid()

    # -- processes

    def spawn(self, argv, **kw):
        """Start argv in a session of its own (its group and every group it
        makes), from the kit's root, stdin closed."""
        p = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def end_session(self, p):
        """Kill every process left in p's session, reap p."""
        end = time.monotonic() + 10
        while True:
            left = session_members(p.pid)
            if p.poll() is None and p.pid not in left:
                left.append(p.pid)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > end:
                raise BenchError("processes of session %d would not die: %s" % (p.pid, left))
            time.sleep(0.01)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if p in self.procs:
            self.procs.remove(p)

    def run(self, argv, timeout, what=None):
        """Run argv to its end (bounded); returns its stdout. Non-zero exit:
        BenchError with its output."""
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.end_session(p)
            raise BenchError("%s took more than %d s" % (what or argv[0], timeout))
        self.end_session(p)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        if p.returncode != 0:
            raise BenchError("%s exited %d:\n%s%s" % (what or " ".join(argv), p.returncode,
                                                      out[-800:], err[-800:]))
        return out

    def shm(self):
        self.nshm += 1
        return "/%s%d" % (self.shm_prefix, self.nshm)

    def rundir(self, name):
        return os.path.join(self.tmp, name)

    def cleanup(self):
        """Whatever happened: no process, no segment, no directory left."""
        problems = []
        for p in list(self.procs):
            try:
                self.end_session(p)
            except BenchError as e:
                problems.append(str(e))
        for name in os.listdir("/dev/shm"):
            if name.startswith(self.shm_prefix):
                problems.append("shared memory /%s was left behind (removed)" % name)
                try:
                    os.unlink("/dev/shm/" + name)
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    # -- output

    def say(self, *a):
        print(*a, file=self.out, flush=True)

    def figure(self, section, fid, what, unit, kit=None, base=None, base_name=None,
               ratio=None, target=None, met=None, note=None, status="ok", **extra):
        """Record one figure: kit (and baseline) as spreads over rounds, the
        ratio kit / baseline as a spread of per-round ratios."""
        f = {"section": section, "id": fid, "what": what, "unit": unit,
             "status": status, "kit": kit, "baseline": base,
             "baseline_name": base_name, "ratio": ratio, "target": target,
             "met": met, "note": note}
        f.update(extra)
        self.figures.append(f)
        return f

    # -- building

    def build(self):
        """The reference of every delivered step and the baselines."""
        self.built = {}
        need = {step for _, meth, step in self.MEASUREMENTS
                if step and (not self.only or meth in self.only)}
        if need & {3}:
            need.add(4)     # the memory measurement also runs step 4
        for n in sorted(STEP_DIRS):
            if n not in self.ready or n not in need:
                continue
            try:
                self.run(["make", "--no-print-directory", "-s", "-j%d" % ncores(),
                          "step%d" % n, "IMPL=" + IMPL], 600, "make step%d IMPL=%s" % (n, IMPL))
                self.built[n] = os.path.join(ROOT, BUILD, STEP_DIRS[n])
            except BenchError as e:
                self.built[n] = e
        if self.bin4 is not None:
            self.built[4] = os.path.abspath(self.bin4)
        self.run(["make", "--no-print-directory", "-s", "-j%d" % ncores(), "-f", "mk/step.mk", "STEP=bench",
                  "SRC=bench/baselines", "OUT=build/bench", "all"], 600, "the baselines' build")
        self.base = os.path.join(ROOT, "build/bench")

    def bin(self, step):
        b = self.built.get(step)
        if b is None:
            raise NotAvailable("step %d is not delivered yet (not in STEPS_READY)" % step)
        if isinstance(b, BenchError):
            raise BenchError("step %d does not build: %s" % (step, b))
        return b

    # -- interleaving

    def rounds(self, runs, n_rounds):
        """Run every (name, fn) of runs once per round, the order rotating
        from round to round; returns {name: [result per round]}."""
        res = {name: [] for name, _ in runs}
        for r in range(n_rounds):
            order = runs[r % len(runs):] + runs[:r % len(runs)]
            for name, fn in order:
                res[name].append(fn())
        return res

    # ------------------------------------------------------------ step 2

    def step2(self):
        sec = "step 2: FIFO ping-pong"
        c = self.cfg
        d = os.path.join(self.bin(2), "d")
        k = [0]

        def kit():
            k[0] += 1
            out = self.run([d, "-q", "-n", str(c["s2_n"]), "-r", self.rundir("s2-%d" % k[0]),
                            "-m", self.shm()], 120, "step 2's d -q")
            return parse_rtt(out, "d -q")

        def base():
            return parse_rtt(self.run([os.path.join(self.base, "fifo_pingpong"), "-n",
                                       str(c["s2_n"])], 120), "fifo_pingpong")

        res = self.rounds([("base", base), ("kit", kit)], c["rounds"])
        self._rtt_figures(sec, "step2", res, "fifo_pingpong", "round trip",
                          "d -q -n %d (%d round trips a run)" % (c["s2_n"], c["s2_n"]),
                          target=("p50", STEP2_TARGET))

    def _rtt_figures(self, sec, fid, res, base_name, what, note, target=None):
        kit, base = res["kit"], res["base"]
        for key, label, unit in (("p50_us", "p50", "us"), ("p99_us", "p99", "us"),
                                 ("rate", "per second", "/s")):
            kv, bv = [x[key] for x in kit], [x[key] for x in base]
            r = ratios(kv, bv)
            t = met = None
            if target and target[0] == label:
                t = "<= %gx baseline" % target[1]
                met = r["median"] <= target[1]
            self.figure(sec, "%s.%s" % (fid, label.replace(" ", "_")),
                        "%s %s" % (what, label), unit, kit=spread(kv), base=spread(bv),
                        base_name=base_name, ratio=r, target=t, met=met, note=note)

    # ------------------------------------------------------------ step 3

    def tree3(self, name, *args):
        b = self.bin(3)
        t = Tree(self, [os.path.join(b, "watchdog"), "-r", self.rundir(name),
                        "-m", self.shm(), *args], name)
        t.wait(r" watchdog\[\d+\] ready servers=", 20)
        return t

    def heartbeat(self):
        sec = "step 3: heartbeat round trip"
        c = self.cfg
        k = [0]

        def kit():
            k[0] += 1
            t = self.tree3("hb-%d" % k[0], "-w", "2", "-P", "2", "-T", "1000", "-i", "1000")
            time.sleep(c["hb_secs"])
            t.stop()
            us = [int(x) for x in re.findall(r" heartbeat name=\S+ pid=\d+ rtt_us=(\d+)",
                                             "\n".join(t.tail.lines))]
            if not us:
                raise BenchError("no heartbeat logged")
            return {"p50_us": pct(us, 50), "p99_us": pct(us, 99), "n": len(us),
                    "rate": len(us) / c["hb_secs"]}

        def base():
            return parse_rtt(self.run([os.path.join(self.base, "signal_rtt"), "-n",
                                       str(c["sig_n"])], 120), "signal_rtt")

        res = self.rounds([("base", base), ("kit", kit)], c["rounds"])
        kit_, base_ = res["kit"], res["base"]
        n = sum(x["n"] for x in kit_)
        note = ("watchdog -w 2 -P 2: %d heartbeats over %d round(s) of %.1f s, read from "
                "its 'heartbeat rtt_us=' lines; baseline: %d SIGUSR1/SIGUSR2 round trips "
                "a round" % (n, c["rounds"], c["hb_secs"], c["sig_n"]))
        for key, label in (("p50_us", "p50"), ("p99_us", "p99")):
            kv, bv = [x[key] for x in kit_], [x[key] for x in base_]
            self.figure(sec, "step3.heartbeat.%s" % label, "heartbeat round trip %s" % label,
                        "us", kit=spread(kv), base=spread(bv), base_name="signal_rtt",
                        ratio=ratios(kv, bv), note=note)

    def detection(self):
        sec = "step 3: detection latency"
        c = self.cfg
        P, T, ws, n = c["det_P"], c["det_T"], c["det_ws"], c["det_n"]
        common = ["-w", str(ws), "-P", str(P), "-T", str(T), "-R", "63", "-W", "1000",
                  "-b", "1", "-B", "1", "-i", "1000"]
        # 1. Stopped processes: a w gets SIGSTOP at a random moment of its
        # heartbeat cycle, until the watchdog's SIGKILL. The w's are frozen
        # independently of one another, several at a time.
        t = self.tree3("det-stop", *common)
        slots = {"w%d" % i: {"state": "wait", "old": set()} for i in range(1, ws + 1)}
        lat = []
        frozen = 0
        beat = re.compile(r" heartbeat name=(w\d+) pid=(\d+) ")
        kill = re.compile(r"^(\S+) watchdog\[\d+\] kill name=(w\d+) pid=(\d+) ")
        end = time.monotonic() + 30 + n * (P + T) / 1000
        while len(lat) < n:
            if time.monotonic() > end:
                t.stop()
                raise BenchError("freezes not detected in time: %d of %d" % (len(lat), n))
            for line in t.tail.poll():
                m = beat.search(line)
                if m and m.group(1) in slots:
                    s = slots[m.group(1)]
                    if s["state"] == "wait" and m.group(2) not in s["old"]:
                        s.update(state="armed", pid=m.group(2),
                                 at=time.monotonic() + random.uniform(0, P / 1000))
                m = kill.search(line)
                if m and m.group(2) in slots:
                    s = slots[m.group(2)]
                    if s["state"] == "frozen" and m.group(3) == s["pid"]:
                        lat.append((float(m.group(1)) - s["t0"]) * 1000)
                        s["old"].add(s["pid"])
                        s["state"] = "wait"
                        frozen -= 1
            now = time.monotonic()
            for s in slots.values():
                if s["state"] == "armed" and now >= s["at"] and len(lat) + frozen < n:
                    s["t0"] = time.monotonic()
                    os.kill(int(s["pid"]), signal.SIGSTOP)
                    s["state"] = "frozen"
                    frozen += 1
            time.sleep(0.001)
        t.stop()
        self._latency(sec, "step3.detect.stop", "SIGSTOP of a w -> SIGKILL", lat, P, T,
                      "a w stopped at a random moment of its heartbeat cycle "
                      "(watchdog -w %d -P %d -T %d; freezes overlap)" % (ws, P, T))

        # 2. Hung main loops: the fault hook hang:K stops a w's main loop
        # for good after K heartbeats, its handlers still running. Only a
        # w's first incarnation hangs: one tree gives ws freezes.
        lat = []
        k = 0
        while len(lat) < n:
            k += 1
            faults = []
            for i in range(1, ws + 1):
                faults += ["-f", "w%d:hang:%d" % (i, 2 + (i + k) % 4)]
            t = self.tree3("det-hang-%d" % k, *common, *faults)
            got = 0
            start = 0
            hung = {}
            while got < ws:
                m, start = t.wait(r"^(\S+) w\[(\d+)\] fault kind=hang|"
                                  r"^(\S+) watchdog\[\d+\] kill name=w\d+ pid=(\d+) ",
                                  10 + 10 * (P + T) / 1000, start)
                start += 1
                if m.group(2):
                    hung[m.group(2)] = float(m.group(1))
                elif m.group(4) in hung:
                    lat.append((float(m.group(3)) - hung.pop(m.group(4))) * 1000)
                    got += 1
            t.stop()
        self._latency(sec, "step3.detect.hang", "main loop hung (hang:K) -> SIGKILL",
                      lat, P, T,
                      "fault hook -f wI:hang:K, measured from the w's 'fault kind=hang' "
                      "line (just after its last reply: the worst phase); %d trees of "
                      "%d w's" % (k, ws))

    def _latency(self, sec, fid, what, ms, P, T, note):
        # P + T is the state machine's bound (test_sup checks it with a
        # fake clock); a real watchdog adds two wake-ups (a poll() time-out
        # rounded up to the ms, and the scheduler). The check allows the
        # margin step 3's timing tests allow.
        bound = P + T
        over = [x for x in ms if x > bound]
        dist = {"n": len(ms), "min": min(ms), "p50": pct(ms, 50), "p99": pct(ms, 99),
                "max": max(ms), "bound": bound, "over_bound": len(over),
                "max_over": max(over) - bound if over else 0}
        self.figure(sec, fid, what, "ms", dist=dist,
                    target="max <= P + T + %d ms" % DETECT_MARGIN_MS,
                    met=max(ms) <= bound + DETECT_MARGIN_MS,
                    note=note + "; log timestamps, 1 ms resolution")

    def restart(self):
        sec = "step 3: restart time"
        c = self.cfg
        # A window of 200 ms and kills spaced further apart: every restart
        # is a "first" one, immediate by the policy (no backoff). Ready
        # means the w's own "ready" line: it can serve.
        ws = 2
        t = self.tree3("restart", "-w", str(ws), "-P", "100", "-T", "300", "-R", "63",
                       "-W", "200", "-i", "1000")
        ready = re.compile(r"^(\S+) w\[(\d+)\] ready name=(w\d+)")
        cur = {}
        for line in t.tail.lines:
            m = ready.search(line)
            if m:
                cur[m.group(3)] = m.group(2)
        wlat, dlat = [], []
        for i in range(c["rst_w"]):
            name = "w%d" % (1 + i % ws)
            old = cur[name]
            since = len(t.tail.lines)
            t0 = time.monotonic()
            os.kill(int(old), signal.SIGKILL)
            while True:
                m, since = t.wait(ready, 10, since)
                since += 1
                cur[m.group(3)] = m.group(2)
                if m.group(3) == name and m.group(2) != old:
                    break
            wlat.append((float(m.group(1)) - t0) * 1000)
            time.sleep(0.25 + random.uniform(0, 0.05))
        for i in range(c["rst_d"]):
            dpid = None
            for line in t.tail.lines:
                m = re.search(r" watchdog\[\d+\] (?:started name=d pid=(\d+)|restart name=d "
                              r"old=\d+ new=(\d+))", line)
                if m:
                    dpid = m.group(1) or m.group(2)
            old = dict(cur)
            since = len(t.tail.lines)
            t0 = time.monotonic()
            os.kill(int(dpid), signal.SIGKILL)
            back = {}
            while len(back) < ws:
                m, since = t.wait(ready, 10, since)
                since += 1
                cur[m.group(3)] = m.group(2)
                if m.group(2) != old[m.group(3)]:
                    back[m.group(3)] = float(m.group(1))
            dlat.append((max(back.values()) - t0) * 1000)
            time.sleep(0.25 + random.uniform(0, 0.05))
        t.stop()
        note = ("watchdog -w %d, window 200 ms and kills 250-300 ms apart: every restart "
                "immediate by the policy; log timestamps, 1 ms resolution" % ws)
        for fid, what, xs in (("step3.restart.w", "SIGKILL of a w -> its successor ready", wlat),
                              ("step3.restart.d", "SIGKILL of d -> every w ready again", dlat)):
            self.figure(sec, fid, what, "ms",
                        dist={"n": len(xs), "min": min(xs), "p50": pct(xs, 50),
                              "p99": pct(xs, 99), "max": max(xs)}, note=note)

    # ------------------------------------------------------------ step 4

    def tree4(self, name, ws):
        b = self.bin(4)
        run = self.rundir(name)
        os.mkdir(run, 0o700)
        args = [os.path.join(b, "watchdog"), "-p", "0", "-r", run, "-w", str(ws),
                "-t", "0", "-Q", "-q", "4096"]
        if " -m NAME" in self._usage4():
            args += ["-m", self.shm()]
        t = Tree(self, args, name)
        m, _ = t.wait(r" d\[\d+\] ready port=(\d+)", 20)
        t.port = m.group(1)
        return t

    def _usage4(self):
        if not hasattr(self, "usage4"):
            self.usage4 = self.run([os.path.join(self.bin(4), "watchdog"), "-h"], 10)
        return self.usage4

    def client(self, t, n, conc, reuse):
        argv = [os.path.join(self.bin(4), "client"), "-p", t.port, "-n", str(n),
                "-c", str(conc)] + (["-k"] if reuse else []) + ["requetetype1"]
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            self.end_session(p)
            raise BenchError("client -n %d -c %d took more than 300 s" % (n, conc))
        self.end_session(p)
        out = out.decode(errors="replace")
        r = parse_rtt(out, "client")
        m = re.search(r"errors=(\d+)", out)
        r["errors"] = int(m.group(1)) if m else None
        if p.returncode != 0 and not r["errors"]:
            raise BenchError("client exited %d: %s" % (p.returncode, err.decode()[-500:]))
        return r

    def cpu_of(self, fn, tree=None):
        """fn, with the CPU time it cost: "cpu_client" (the programs it ran
        and reaped: the load client, or a baseline with its server) and
        "cpu_servers" (tree's watchdog, d and w's meanwhile), in seconds."""
        def go():
            c0 = children_cpu()
            s0 = cpu_seconds(tree.members()) if tree else 0.0
            r = fn()
            r["cpu_client"] = children_cpu() - c0
            r["cpu_servers"] = cpu_seconds(tree.members()) - s0 if tree else 0.0
            return r
        return go

    def step4(self):
        sec = "step 4: requests"
        c = self.cfg
        self.bin(4)
        tcp = os.path.join(self.base, "tcp_rr")
        trees = {ws: self.tree4("s4-w%d" % ws, ws) for ws in c["s4_ws"]}
        cpu = []    # the CPU section's figures, printed after this one

        def us(xs, n, keys=("cpu_client", "cpu_servers")):
            return [sum(x[k] for k in keys) / n * 1e6 for x in xs]

        try:
            for conc in c["s4_conc"]:
                n = c["s4_n"][conc]
                runs = [("base", self.cpu_of(lambda: parse_rtt(self.run(
                            [tcp, "-n", str(n), "-c", str(conc)], 300), "tcp_rr"))),
                        ("basek", self.cpu_of(lambda: parse_rtt(self.run(
                            [tcp, "-k", "-n", str(n), "-c", str(conc)], 300), "tcp_rr -k")))]
                for ws, t in trees.items():
                    runs.append((("fresh", ws), self.cpu_of(
                        lambda t=t: self.client(t, n, conc, False), t)))
                    runs.append((("reuse", ws), self.cpu_of(
                        lambda t=t: self.client(t, n, conc, True), t)))
                res = self.rounds(runs, c["rounds"])
                base, basek = res["base"], res["basek"]
                bcpu = us(base, n)
                cpu.append(dict(fid="step4.cpu.base.c%d" % conc, what="raw TCP connect+request"
                                "+close, %d at a time" % conc, kit=spread(bcpu),
                                note="tcp_rr: its client and server, per connection"))
                self.figure(sec, "step4.base.c%d" % conc,
                            "raw TCP connect+request+close, %d at a time" % conc, "/s",
                            kit=spread([x["rate"] for x in base]),
                            p50_ms=spread([x["p50_us"] / 1000 for x in base]),
                            p99_ms=spread([x["p99_us"] / 1000 for x in base]),
                            note="tcp_rr -n %d -c %d: connections/s" % (n, conc))
                self.figure(sec, "step4.basek.c%d" % conc,
                            "raw TCP request/response on kept connections, %d at a time" % conc,
                            "/s", kit=spread([x["rate"] for x in basek]),
                            p50_ms=spread([x["p50_us"] / 1000 for x in basek]),
                            p99_ms=spread([x["p99_us"] / 1000 for x in basek]),
                            note="tcp_rr -k -n %d -c %d: requests/s" % (n, conc))
                for ws in trees:
                    for mode in ("fresh", "reuse"):
                        xs = res[(mode, ws)]
                        rv = [x["rate"] for x in xs]
                        r = ratios(rv, [x["rate"] for x in base])
                        t = met = None
                        if mode == "fresh":
                            t = ">= %gx connections/s" % STEP4_TARGET
                            met = r["median"] >= STEP4_TARGET
                        errors = sum(x["errors"] or 0 for x in xs)
                        kcpu = us(xs, n)
                        cpu.append(dict(
                            fid="step4.cpu.%s.w%d.c%d" % (mode, ws, conc),
                            what="%s d connections, %d w, %d at a time" % (mode, ws, conc),
                            kit=spread(kcpu), base=spread(bcpu), base_name="tcp_rr",
                            ratio=ratios(kcpu, bcpu),
                            client_us=spread(us(xs, n, ("cpu_client",))),
                            servers_us=spread(us(xs, n, ("cpu_servers",))),
                            note="the client, and the watchdog, d and w's, per request"))
                        self.figure(
                            sec, "step4.%s.w%d.c%d" % (mode, ws, conc),
                            "%s d connections, %d w, %d at a time" % (mode, ws, conc), "/s",
                            kit=spread(rv), base=spread([x["rate"] for x in base]),
                            base_name="tcp_rr", ratio=r, target=t, met=met,
                            p50_ms=spread([x["p50_us"] / 1000 for x in xs]),
                            p99_ms=spread([x["p99_us"] / 1000 for x in xs]),
                            ratio_kept=ratios(rv, [x["rate"] for x in basek]),
                            errors=errors, ws=ws, conc=conc, mode=mode,
                            note="client -n %d -c %d%s requetetype1, watchdog -w %d -t 0 -Q"
                                 "%s" % (n, conc, " -k" if mode == "reuse" else "", ws,
                                         "; %d requests failed" % errors if errors else ""))
        finally:
            for t in trees.values():
                t.stop()
        # Where the time goes: the CPU time a request costs (client and
        # servers), against a raw connection's (client and server). On a
        # machine whose cores are all busy, rate ratio ~ 1 / CPU ratio.
        for f in cpu:
            self.figure("step 4: CPU time per request", unit="us", **f)

    # ------------------------------------------------------------ memory

    def _rss(self, t):
        return {proc_label(pid): rss_kb(pid) for pid in sorted(t.members())}

    def _memory_figure(self, sec, fid, what, idle, warm, after, note):
        def diff(a, b):
            return {k: b[k] - a[k] for k in a if a[k] is not None and b.get(k) is not None}
        growth, since_warm = diff(idle, after), diff(warm, after)
        self.figure(sec, fid, what, "kB", rss_idle=idle, rss_warm=warm, rss_after=after,
                    growth=growth, growth_after_warmup=since_warm,
                    target="no growth after warm-up (<= %d kB a process)" % MEM_SLACK_KB,
                    met=max(since_warm.values()) <= MEM_SLACK_KB, note=note)

    def memory(self):
        sec = "memory: resident size"
        n = self.cfg["mem_n"]
        # Step 3: the whole tree, 8 w's, d asking each w every ms; readings
        # at idle (just ready), after 10% of the exchanges, after all.
        t = self.tree3("mem3", "-w", "8", "-P", "10", "-T", "1000", "-i", "1")
        try:
            time.sleep(0.3)
            idle = self._rss(t)
            got, warm = 0, None
            rx = re.compile(r" recv msg=pong ")
            end = time.monotonic() + 30 + n / 500
            while got < n:
                if time.monotonic() > end:
                    raise BenchError("only %d d<->w exchanges in time" % got)
                got += sum(1 for x in t.tail.poll() if rx.search(x))
                if warm is None and got >= n // 10:
                    warm = self._rss(t)
                time.sleep(0.02)
            after = self._rss(t)
            beats = sum(1 for x in t.tail.lines if " heartbeat name=" in x)
        finally:
            t.stop()
        self._memory_figure(sec, "memory.step3", "step 3 tree, %d d<->w exchanges" % n,
                            idle, warm, after, "watchdog -w 8 -P 10 -i 1: readings at idle, "
                            "after %d and after %d exchanges (%d heartbeats meanwhile)"
                            % (n // 10, got, beats))
        try:
            self.bin(4)
        except NotAvailable as e:
            self.figure(sec, "memory.step4", "step 4 tree, %d requests" % n, "kB",
                        status="not available", note=str(e))
            return
        # Step 4: half the requests with fresh d connections, half reused,
        # 10 at a time; readings at idle, after 10%, after all.
        t = self.tree4("mem4", 4)
        errors = 0
        try:
            time.sleep(0.3)
            idle = self._rss(t)
            w = n // 20
            for k, reuse in ((w, False), (w, True)):
                errors += self.client(t, k, 10, reuse)["errors"] or 0
            warm = self._rss(t)
            for k, reuse in ((n // 2 - w, False), (n - n // 2 - w, True)):
                errors += self.client(t, k, 10, reuse)["errors"] or 0
            time.sleep(0.3)
            after = self._rss(t)
        finally:
            t.stop()
        self._memory_figure(sec, "memory.step4", "step 4 tree, %d requests" % n,
                            idle, warm, after, "watchdog -w 4 -t 0 -Q; client -c 10, half "
                            "with fresh d connections, half reused; readings at idle, after "
                            "%d and after %d requests (%d failed)" % (2 * w, n, errors))

    # ------------------------------------------------------------ the kit's tests

    def timed(self, argv):
        """Run a test command to its end (at most 2 hours); returns its wall
        time and its summary line (with its exit status if it failed)."""
        t0 = time.monotonic()
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=7200)
        except subprocess.TimeoutExpired:
            raise BenchError("%s took more than 2 hours" % " ".join(argv))
        finally:
            self.end_session(p)
        secs = time.monotonic() - t0
        summary = [x for x in out.decode(errors="replace").splitlines()
                   if re.match(r"\d+ passed, \d+ failed", x)]
        result = summary[-1] if summary else "no summary line"
        if p.returncode != 0:
            result += " (exit status %d)" % p.returncode
        return secs, result

    def feedback(self):
        sec = "the kit's feedback loop"
        rec = recorded_times()
        live = self.cfg["feedback"] == "run"
        for n in sorted(STEP_DIRS):
            label = "make test-step%d IMPL=%s" % (n, IMPL)
            fid = "kit.test-step%d" % n
            if n not in self.ready:
                self.figure(sec, fid, label, "s", status="not available",
                            note="step %d is not delivered yet" % n)
                continue
            if live:
                secs, result = self.timed(["make", "--no-print-directory", "test-step%d" % n,
                                           "IMPL=" + IMPL])
                self.figure(sec, fid, label, "s", kit=spread([secs]), note=result)
            elif rec and label in rec["phases"]:
                rc = rec["status"].get(label)
                self.figure(sec, fid, label, "s", kit=spread([rec["phases"][label]]),
                            status="recorded",
                            note="as recorded by make test on %s%s" % (
                                rec["date"], "" if rc == "0" else " (it failed: exit %s)" % rc))
            else:
                self.figure(sec, fid, label, "s", status="not recorded",
                            note="not run in %s mode, and no make test recorded its time "
                                 "(build/test-times.tsv)" % self.mode)
        if self.make_test:
            secs, result = self.timed(["make", "--no-print-directory", "test"])
            self.figure(sec, "kit.test", "make test", "s", kit=spread([secs]), note=result)
        elif rec and "total" in rec:
            self.figure(sec, "kit.test", "make test", "s", kit=spread([rec["total"]]),
                        status="recorded",
                        note="as recorded by make test on %s (%s); --make-test runs it now"
                             % (rec["date"], rec.get("summary", "")))
        else:
            self.figure(sec, "kit.test", "make test", "s", status="not recorded",
                        note="no make test has recorded its time yet (build/test-times.tsv); "
                             "--make-test runs it now")

    # ------------------------------------------------------------ driver

    MEASUREMENTS = [("step 2: FIFO ping-pong", "step2", 2),
                    ("step 3: heartbeat round trip", "heartbeat", 3),
                    ("step 3: detection latency", "detection", 3),
                    ("step 3: restart time", "restart", 3),
                    ("step 4: requests", "step4", 4),
                    ("memory: resident size", "memory", 3),
                    ("the kit's feedback loop", "feedback", None)]

    def measure(self):
        failed = 0
        try:
            self.build()
        except BenchError as e:
            self.say("bench: %s" % e)
            self.checks.append((False, "the reference and the baselines build", str(e)))
            return 1
        for sec, meth, step in self.MEASUREMENTS:
            if self.only and meth not in self.only:
                continue
            t0 = time.monotonic()
            self.say("... %s" % sec)
            try:
                if step is not None and step not in self.ready and not (step == 4 and self.bin4):
                    raise NotAvailable("step %d is not delivered yet (not in STEPS_READY)" % step)
                getattr(self, meth)()
                secs = time.monotonic() - t0
                self.checks.append((True, "%s runs (%.1f s)" % (sec, secs), None))
                self.say("    %.1f s" % secs)
            except NotAvailable as e:
                self.figure(sec, meth, "every figure", "", status="not available", note=str(e))
                self.checks.append((None, sec, str(e)))
            except BenchError as e:
                failed += 1
                self.figure(sec, meth, "every figure", "", status="failed", note=str(e))
                self.checks.append((False, "%s runs" % sec, str(e)))
                self.say("bench: %s: %s" % (sec, e))
            finally:
                # A measurement that failed midway may leave a tree up:
                # it must not weigh on the next ones.
                for p in list(self.procs):
                    self.end_session(p)
        return 1 if failed else 0


def recorded_times():
    """The phase times scripts/kit-test.sh recorded in build/test-times.tsv:
    {"date": ..., "phases": {name: seconds}, "status": {name: exit status},
    "total": s, "summary": ...}."""
    path = os.path.join(ROOT, "build", "test-times.tsv")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    rec = {"date": "?", "phases": {}, "status": {}}
    for line in lines:
        if line.startswith("# recorded "):
            rec["date"] = line[len("# recorded "):].split(" by ")[0].strip()
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and not line.startswith("#"):
            try:
                secs = float(parts[1])
            except ValueError:
                continue
            if parts[0] == "total":
                rec["total"] = secs
                rec["summary"] = parts[2] if len(parts) > 2 else ""
            else:
                rec["phases"][parts[0]] = secs
                rec["status"][parts[0]] = parts[2] if len(parts) > 2 else "?"
    return rec


def ready_steps():
    """STEPS_READY from the Makefile."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^STEPS_READY\s*:?=\s*(.*)$", f.read(), re.M)
    return [int(x) for x in m.group(1).split()] if m else []


def ncores():
    return len(os.sched_getaffinity(0))


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": ncores(), "cpu": model, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version()}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------- reporting

def fnum(x):
    """Three significant digits or so: 12345, 123, 12.3, 1.23."""
    if x is None:
        return "-"
    a = abs(x)
    if a >= 99.5:
        return "%.0f" % x
    if a >= 9.95:
        return "%.1f" % x
    return "%.2f" % x


def fx(r, target=None):
    """A ratio, with a third decimal where two would hide which side of
    the target it is on."""
    s = "%.2f" % r
    if target is not None and s == "%.2f" % target and r != target:
        s = "%.3f" % r
    return s


def fspread(s, unit="", dash="–"):
    if not s:
        return "-"
    u = " " + unit if unit and unit != "/s" else ("/s" if unit == "/s" else "")
    if len(s.get("runs", [])) <= 1:
        return "%s%s" % (fnum(s["median"]), u)
    return "%s%s [%s%s%s]" % (fnum(s["median"]), u, fnum(s["min"]), dash, fnum(s["max"]))


def fratio(s, dash="–", target=None):
    if not s:
        return ""
    if len(s.get("runs", [])) <= 1:
        return "%sx" % fx(s["median"], target)
    return "%sx [%.2f%s%.2f]" % (fx(s["median"], target), s["min"], dash, s["max"])


def ftarget(f):
    if not f.get("target"):
        return ""
    return "%s: %s" % (f["target"], "met" if f["met"] else "NOT met")


def rows_of(f, dash="–"):
    """The (label, kit, baseline, ratio, target) cells of one figure."""
    what = f["what"]
    if f["status"] in ("not available", "failed", "not recorded"):
        return [(what, f["status"], "", "", f.get("note") or "")]
    if "dist" in f:
        d = f["dist"]
        kit = "min %s / p50 %s / p99 %s / max %s ms (n=%d)" % (
            fnum(d["min"]), fnum(d["p50"]), fnum(d["p99"]), fnum(d["max"]), d["n"])
        extra = ""
        if "bound" in d:
            extra = "P + T = %d ms; %d of %d above it" % (d["bound"], d["over_bound"], d["n"])
            if d["over_bound"]:
                extra += ", by <= %.1f ms" % d["max_over"]
        return [(what, kit, extra, "", ftarget(f))]
    if "growth" in f:
        out = []
        for k in f["rss_idle"]:
            g, gw = f["growth"].get(k), f["growth_after_warmup"].get(k)
            out.append(("%s: %s" % (what, k), "%s -> %s -> %s kB" % (
                f["rss_idle"][k], f["rss_warm"].get(k), f["rss_after"].get(k)),
                "%+d kB; after warm-up %+d kB" % (g, gw) if g is not None else "", "", ""))
        out[-1] = out[-1][:4] + (ftarget(f),)
        return out
    kit = fspread(f["kit"], f["unit"], dash)
    if "client_us" in f:
        kit += " (client %s, servers %s)" % (fnum(f["client_us"]["median"]),
                                            fnum(f["servers_us"]["median"]))
    if "p50_ms" in f:
        kit += ", p50 %s ms, p99 %s ms" % (fnum(f["p50_ms"]["median"]), fnum(f["p99_ms"]["median"]))
    base = ""
    if f.get("baseline"):
        base = "%s %s" % (f["baseline_name"], fspread(f["baseline"], f["unit"], dash))
    if f["status"] == "recorded" or f["id"].startswith("kit."):
        base = f.get("note", "")
    target = {"step2.p50": STEP2_TARGET}.get(f["id"], STEP4_TARGET if f.get("mode") == "fresh"
                                             else None)
    return [(what, kit, base, fratio(f.get("ratio"), dash, target), ftarget(f))]


def table(figures, out):
    sections = []
    for f in figures:
        if not sections or sections[-1][0] != f["section"]:
            sections.append((f["section"], []))
        sections[-1][1].extend(rows_of(f))
    head = ("measurement", "kit: median [min-max]", "baseline", "ratio kit/baseline", "target")
    for sec, rows in sections:
        w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
        w = [min(x, 60) for x in w]
        print("\n%s" % sec, file=out)
        for r in [head] + rows:
            print("  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip(), file=out)


def markdown(results, out):
    """README-ready tables from a results JSON: one table of every figure
    but step 4's, then step 4's matrix (rates, latencies, CPU time)."""
    m = results["meta"]
    mc = m["machine"]
    print("Measured on %s, %s mode (%s rounds), kit `%s`, %.0f s: %s cores (%s), %s, "
          "Linux %s; load average %s at the start, %s at the end."
          % (m["date"], m["mode"], m["rounds"], m["commit"], m["seconds"], mc["cores"],
             mc["cpu"], mc["memory"], mc["kernel"],
             " ".join("%.2f" % x for x in m["load_start"]),
             " ".join("%.2f" % x for x in m["load_end"])), file=out)

    def row(cells):
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |", file=out)

    print("", file=out)
    row(("measurement", "kit: median [min–max]", "baseline", "kit / baseline", "target"))
    row(("---",) * 5)
    s4 = []
    for f in results["figures"]:
        if f["section"].startswith("step 4"):
            s4.append(f)
            continue
        what = "%s: %s" % (f["section"].split(":")[0], f["what"])
        if "growth" in f and f["status"] == "ok":
            idle = [v for v in f["rss_idle"].values() if v is not None]
            row((what + " (%d processes)" % len(idle),
                 "resident %d–%d kB at idle" % (min(idle), max(idle)),
                 "growth: %+d kB at most, %+d kB after warm-up" % (
                     max(f["growth"].values()), max(f["growth_after_warmup"].values())),
                 "", ftarget(f)))
            continue
        for r in rows_of(f):
            row((what,) + r[1:] if r[0] == f["what"] else r)
    by = {f["id"]: f for f in s4}
    if not any(f["status"] == "ok" for f in s4):
        if s4:
            print("\nStep 4: %s (%s)." % (s4[0]["status"], s4[0].get("note")), file=out)
        return
    concs = sorted({f["conc"] for f in s4 if "conc" in f})
    wss = sorted({f["ws"] for f in s4 if "ws" in f})
    print("\nStep 4, requests/s (median of the rounds) and, in brackets, kit / raw "
          "connections/s (✓: the target >= %g met, fresh connections):\n" % STEP4_TARGET,
          file=out)
    row(["clients", "raw: connect+close", "raw: kept"] +
        ["fresh, %d w" % w for w in wss] + ["reused, %d w" % w for w in wss])
    row(["---"] * (3 + 2 * len(wss)))
    for c in concs:
        cells = [str(c), fnum(by["step4.base.c%d" % c]["kit"]["median"]),
                 fnum(by["step4.basek.c%d" % c]["kit"]["median"])]
        for mode in ("fresh", "reuse"):
            for w in wss:
                f = by["step4.%s.w%d.c%d" % (mode, w, c)]
                cells.append("%s (%s%s)" % (fnum(f["kit"]["median"]),
                                              fx(f["ratio"]["median"], STEP4_TARGET),
                                              "" if f["met"] is None else
                                              " ✓" if f["met"] else " ✗"))
        row(cells)
    print("\nStep 4, latency p50 / p99 in ms (medians of the rounds):\n", file=out)
    row(["clients", "raw: connect+close", "raw: kept"] +
        ["fresh, %d w" % w for w in wss] + ["reused, %d w" % w for w in wss])
    row(["---"] * (3 + 2 * len(wss)))
    for c in concs:
        cells = []
        for fid in ["step4.base.c%d" % c, "step4.basek.c%d" % c] + \
                   ["step4.%s.w%d.c%d" % (mode, w, c) for mode in ("fresh", "reuse") for w in wss]:
            f = by[fid]
            cells.append("%s / %s" % (fnum(f["p50_ms"]["median"]), fnum(f["p99_ms"]["median"])))
        row([str(c)] + cells)
    print("\nStep 4, CPU time per request in µs, client + servers (raw: its client and "
          "server per connection), and kit / raw:\n", file=out)
    row(["clients", "raw: connect+close"] + ["fresh, %d w" % w for w in wss] +
        ["reused, %d w" % w for w in wss])
    row(["---"] * (2 + 2 * len(wss)))
    for c in concs:
        cells = [str(c), fnum(by["step4.cpu.base.c%d" % c]["kit"]["median"])]
        for mode in ("fresh", "reuse"):
            for w in wss:
                f = by["step4.cpu.%s.w%d.c%d" % (mode, w, c)]
                cells.append("%s + %s (%.1f×)" % (fnum(f["client_us"]["median"]),
                                                 fnum(f["servers_us"]["median"]),
                                                 f["ratio"]["median"]))
        row(cells)


def dump_results(meta, figures):
    """The results as JSON, one line per figure (readable diffs)."""
    return '{"meta": %s,\n "figures": [\n%s\n]}\n' % (
        json.dumps(meta), ",\n".join("  " + json.dumps(f) for f in figures))


def tap(checks, problems, path):
    lines = []
    n = 0
    for ok, name, detail in checks:
        n += 1
        if ok is None:
            lines.append("ok %d bench: %s # skip %s" % (n, name, detail))
        elif ok:
            lines.append("ok %d bench: %s" % (n, name))
        else:
            lines.append("not ok %d bench: %s" % (n, name))
            lines += ["# " + x for x in (detail or "").splitlines()[:12]]
    n += 1
    if problems:
        lines.append("not ok %d bench: nothing left behind (processes, /dev/shm, run directories)" % n)
        lines += ["# " + x for x in problems]
    else:
        lines.append("ok %d bench: nothing left behind (processes, /dev/shm, run directories)" % n)
    with open(path, "w") as f:
        f.write("1..%d\n%s\n" % (n, "\n".join(lines)))
    return lines


def main(argv):
    ap = argparse.ArgumentParser(prog="bench.py", add_help=False)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--json")
    ap.add_argument("--tap")
    ap.add_argument("--bin4")
    ap.add_argument("--make-test", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--only")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("-h", "--help", action="store_true")
    try:
        a = ap.parse_args(argv[1:])
    except SystemExit:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if a.help:
        print(__doc__)
        return 0
    if a.markdown:
        with open(a.markdown) as f:
            markdown(json.load(f), sys.stdout)
        return 0
    if a.quick and a.smoke:
        print("bench.py: --quick or --smoke, not both", file=sys.stderr)
        return 2
    mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    ready = [int(x) for x in a.ready.split()] if a.ready is not None else ready_steps()
    json_path = a.json or (None if a.smoke or a.only else
                           os.path.join(ROOT, "bench", "results.json"))
    cfg = dict(MODES[mode])
    only = a.only.split(",") if a.only else None
    names = [m for _, m, _ in Bench.MEASUREMENTS]
    if only and not set(only) <= set(names):
        print("bench.py: --only takes %s" % ",".join(names), file=sys.stderr)
        return 2
    if a.rounds:
        cfg["rounds"] = a.rounds
    for kv in a.set:
        k, _, v = kv.partition("=")
        if k not in cfg or not isinstance(cfg[k], (int, float)) or isinstance(cfg[k], bool):
            print("bench.py: --set %s: not a number of the mode" % kv, file=sys.stderr)
            return 2
        try:
            cfg[k] = type(cfg[k])(v)
        except ValueError:
            print("bench.py: --set %s: not a number" % kv, file=sys.stderr)
            return 2

    # SIGTERM (make interrupted, a time limit) cleans up as Ctrl-C does.
    def interrupted(signo, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    b = Bench(mode, ready, a.bin4, a.make_test, only=only, cfg=cfg)
    t0 = time.monotonic()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "mode": mode,
            "machine": machine(), "load_start": loadavg(), "commit": git_commit(),
            "ready": ready, "rounds": cfg["rounds"], "sizes": cfg}
    b.say("OSPS kit benchmark, %s mode: %s cores (%s), load average %s; steps delivered: %s"
          % (mode, meta["machine"]["cores"], meta["machine"]["cpu"],
             " ".join("%.2f" % x for x in meta["load_start"]), " ".join(map(str, ready))))
    b.say("every figure: the median of %d interleaved round(s) [min–max over the rounds]; "
          "a ratio is kit / baseline, round by round" % meta["rounds"])
    rc = 1
    try:
        rc = b.measure()
    except KeyboardInterrupt:
        b.say("bench: interrupted")
        rc = 130
    finally:
        problems = b.cleanup()
    meta["load_end"] = loadavg()
    meta["seconds"] = time.monotonic() - t0
    for p in problems:
        b.say("bench: %s" % p)
    if problems and rc == 0:
        rc = 1
    table(b.figures, sys.stdout)
    results = dump_results(meta, b.figures)
    targets = [f for f in b.figures if f.get("target") and f["status"] == "ok"]
    missed = [f for f in targets if not f["met"]]
    print("\n%d target(s) checked, %d met%s. %.0f s, load average %s at the end."
          % (len(targets), len(targets) - len(missed),
             "; missed: " + ", ".join(f["id"] for f in missed) if missed else "",
             meta["seconds"], " ".join("%.2f" % x for x in meta["load_end"])))
    if missed and a.strict and rc == 0:
        rc = 1
    if json_path and rc != 130:     # an interrupted run keeps the last results
        with open(json_path + ".tmp", "w") as f:
            f.write(results)
        os.replace(json_path + ".tmp", json_path)
        print("results: %s" % os.path.relpath(json_path))
    if a.tap:
        b.checks.append((True, "the table and the results (JSON) are produced", None))
        tap(b.checks, problems, a.tap)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
