#!/usr/bin/env python3
"""hint.py - `make hint-stepN EX=N.M`: show an exercise's hints one level
at a time. The step's README gives level 1 under a "#### N.M" heading (a
numbered list); the step's hints.md gives the next levels, under the same
heading and in the same format.

Usage: hint.py STEP_DIR EX [LEVEL]
  Each call shows the next level (remembered in build/hints/); LEVEL=N
  shows levels 1 to N, LEVEL=all every level, LEVEL=0 starts over.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hints(path, ex):
    """The numbered hint texts under "#### ex" in path, in order."""
    levels, inside = [], False
    if not os.path.exists(path):
        return levels
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                inside = line.strip() == f"#### {ex}"
                continue
            if not inside:
                continue
            m = re.match(r"^\s*\d+\.\s+(.*)", line)
            if m:
                levels.append(m.group(1).strip())
            elif line.strip() and levels:
                levels[-1] += " " + line.strip()    # a hint continued
    return levels


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    step, ex = argv[1], argv[2]
    wanted = argv[3] if len(argv) == 4 else ""
    readme = os.path.join(ROOT, step, "README.md")
    levels = hints(readme, ex)
    if levels:
        levels += hints(os.path.join(ROOT, step, "hints.md"), ex)
    if not levels:
        known = sorted(set(re.findall(r"^#### (\d+\.\d+)", open(readme, encoding="utf-8").read(), re.M)))
        sys.stderr.write(f"hint: no hints for exercise {ex!r} in {step}/README.md; "
                         f"exercises with hints: {', '.join(known) or 'none'}\n")
        return 2
    state = os.path.join(ROOT, "build", "hints", ex)
    try:
        with open(state) as f:
            shown = int(f.read() or 0)
    except (OSError, ValueError):
        shown = 0
    if wanted == "all":
        upto = len(levels)
    elif wanted.isdigit():
        upto = min(int(wanted), len(levels))
    else:
        upto = min(shown + 1, len(levels))
    os.makedirs(os.path.dirname(state), exist_ok=True)
    with open(state, "w") as f:
        f.write(str(upto))
    if upto == 0:
        print(f"Hints for {ex} start over: the next call shows hint 1.")
        return 0
    for i in range(upto):
        print(f"Hint {i + 1} of {len(levels)} for {ex}: {levels[i]}\n")
    if upto < len(levels):
        print(f"Try it, then run 'make hint-step{step[4]} EX={ex}' again for hint {upto + 1}.")
    else:
        print("That was the last hint. Still stuck? Read the test named "
              f"[{ex}] that fails: it says what is expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
