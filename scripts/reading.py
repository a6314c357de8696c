#!/usr/bin/env python3
"""reading.py [ROOT] - lines a student reads before the step's first TODO.

How it counts, per step (the generated skeleton, STEP/src): the README
sends the student to the TODO of the step's first exercise (N.1, or the
lowest id). They read the file holding it from its first line down to
that TODO, and the headers that file includes with "..." (the step's own
src/ first, then common/), whole: the types and contracts the TODO uses.
Other files of the step are read when an exercise sends the student
there, not before the first one.
"""
import os
import re
import sys

STEPS = ["step1_shm", "step2_fifo", "step3_watchdog", "step4_client"]
TODO = re.compile(r"TODO (\d+)\.(\d+)\b")


def first_todo(src):
    best = None
    for name in sorted(os.listdir(src)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(src, name)) as f:
            for no, line in enumerate(f, 1):
                m = TODO.search(line)
                if m:
                    key = (int(m.group(1)), int(m.group(2)), name, no)
                    if best is None or key < best:
                        best = key
    return best


def count(root, step):
    src = os.path.join(root, step, "src")
    major, minor, name, no = first_todo(src)
    path = os.path.join(src, name)
    with open(path) as f:
        text = f.read().split("\n")
    parts = [(name, no)]
    for line in text[:no]:
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        for d in (src, os.path.join(root, "common")):
            h = os.path.join(d, m.group(1))
            if os.path.exists(h):
                with open(h) as f:
                    parts.append((os.path.relpath(h, root), len(f.read().rstrip("\n").split("\n"))))
                break
    return f"{major}.{minor}", parts


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    for step in STEPS:
        ex, parts = count(root, step)
        total = sum(n for _, n in parts)
        print(f"{step}: {total} lines before TODO {ex} ("
              + ", ".join(f"{p} {n}" for p, n in parts) + ")")


if __name__ == "__main__":
    main()
