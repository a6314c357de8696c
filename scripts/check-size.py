#!/usr/bin/env python3
"""check-size.py [ROOT] - keep the reference code small enough to hold in one's head.

The kit's rule (CONTRIBUTING.md): no learner-facing .c file over
MAX_FILE lines, and no function over MAX_FUNC lines, counted from the
line that names the function to its closing brace. Learner-facing: the
reference (solutions/STEP/src, examples included), the generated
skeletons (STEP/src) and common/. A table-driven option parser may be
longer: its table is one idea, read a row at a time; it is named here.
Prints every file and function over the limit; exits 1 if any.
"""
import glob
import os
import re
import sys

MAX_FILE = 450
MAX_FUNC = 60
ALLOWED_LONG = set()	# "file:function" of table-driven option parsers

NAME = re.compile(r"^(?:[A-Za-z_][\w \t\*]*\s+\**)?([A-Za-z_]\w*)\s*\(")


def functions(lines):
    """(name, first line, length) of each function of a KNF-style file."""
    start = name = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            j = i - 1
            while j >= 0 and not NAME.match(lines[j]):
                j -= 1
            if j < 0:
                continue
            name, start = NAME.match(lines[j]).group(1), j
        elif line.startswith("}") and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def learner_files(root):
    pats = ["solutions/*/src/*.c", "solutions/*/src/*/*.c",
            "step*_*/src/*.c", "step*_*/src/*/*.c", "common/*.c"]
    for pat in pats:
        yield from sorted(glob.glob(os.path.join(root, pat)))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = 0
    for path in learner_files(root):
        rel = os.path.relpath(path, root)
        with open(path) as f:
            lines = f.read().rstrip("\n").split("\n")
        if len(lines) > MAX_FILE:
            print(f"{rel}: {len(lines)} lines (at most {MAX_FILE}): split it by role")
            bad += 1
        for name, first, n in functions(lines):
            if n > MAX_FUNC and f"{os.path.basename(rel)}:{name}" not in ALLOWED_LONG:
                print(f"{rel}:{first}: {name}() is {n} lines (at most {MAX_FUNC}): name its steps")
                bad += 1
    if bad:
        print(f"check-size: {bad} over the limits (CONTRIBUTING.md, 'Small enough to read')")
        return 1
    print("check-size: every file and function within the limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
