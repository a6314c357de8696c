#!/usr/bin/env python3
"""vgcheck.py - turn valgrind's per-process logs into TAP results.

Usage: vgcheck.py LOGDIR     (logs written with --log-file=LOGDIR/vg.%p.log)

One result per process: it passes when valgrind reported 0 errors (definite
leaks count as errors with --errors-for-leak-kinds=definite) and no
descriptor other than 0, 1 and 2 was open at exit. The kit's test helpers
start every program with every descriptor above 2 closed, so any other one,
inherited or not, was opened by the kit's own code (a parent that forgot
O_CLOEXEC shows up in its child's report). A process ended by a signal's
default action (a test's teardown stopping a program that has no handler
for it) closed nothing itself: its open descriptors are not counted, its
memory errors are. A process killed by SIGKILL writes no summary: it is
reported as skipped, not as passed.
"""
import glob
import os
import re
import sys

ERRORS = re.compile(r"ERROR SUMMARY: (\d+) errors")
OPEN_FD = re.compile(r"Open (?:file descriptor|AF_\w+ socket|pipe) (\d+):?(.*)")
COMMAND = re.compile(r"==\d+== Command: (\S+)(.*)")
KILLED = re.compile(r"Process terminating with default action of signal \d+")


def check(path):
    """Return (status, name, details) for one valgrind log."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    pid = re.sub(r"\D", "", os.path.basename(path))
    m = COMMAND.search(text)
    prog = os.path.basename(m.group(1)) if m else "?"
    name = f"valgrind {prog}[{pid}]"
    errors = ERRORS.search(text)
    if errors is None:
        return "skip", name, ["killed before valgrind could report"]
    problems = []
    if int(errors.group(1)) != 0:
        problems.append(f"{errors.group(1)} errors")
    # valgrind's own log file shows up as an open descriptor: not ours.
    fds = [f"fd {fd}{what}" for fd, what in OPEN_FD.findall(text)
           if int(fd) > 2 and "/vg." not in what]
    if KILLED.search(text):
        fds = []
    if fds:
        problems.append("descriptors open at exit: " + "; ".join(fds))
    if problems:
        lines = [l for l in text.splitlines() if "==" in l][:40]
        return "fail", name, problems + [f"log {path}:"] + lines
    return "pass", name, []


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    logs = sorted(glob.glob(os.path.join(argv[1], "vg.*.log")))
    print(f"1..{len(logs)}")
    for i, path in enumerate(logs, 1):
        status, name, details = check(path)
        if status == "pass":
            print(f"ok {i} {name}")
        elif status == "skip":
            print(f"ok {i} {name} # skip {details[0]}")
        else:
            print(f"not ok {i} {name}")
            for d in details:
                print(f"# {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
