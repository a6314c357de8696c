#!/usr/bin/env python3
"""prereqs.py - the exercises that an exercise's tests also need.

A test named for exercise N.M ("[2.6] ...") should fail only when N.M is
wrong. Some cannot help needing another exercise too: a pong cannot be
checked before the ping it answers is sent. Each step declares those
needs in one place, the file `prerequisites` beside its README:

    # comments and blank lines are ignored
    2.6: 2.5    # the pong answers the ping of 2.5
    2.4: 2.2 2.3

One line per exercise that needs others: its id, a colon, the ids it
needs, and a comment after "#" that says why. `make check-teeth` accepts a failing [2.6] test when 2.5
is the stubbed exercise, and fails on any other collateral failure; the
grader names 2.5 as the likely cause when both fail.

Usage: prereqs.py STEP_DIR      print the step's declarations, checked
"""
import os
import re
import sys

FILE = "prerequisites"
EX_ID = re.compile(r"^\d+\.\d+$")
LINE = re.compile(r"^(\S+)\s*:\s*(.*?)\s*$")


def _ids(text, where):
    """The exercise ids of text (what precedes its comment), checked."""
    text = text.split("#", 1)[0]
    ids = text.split()
    for i in ids:
        if not EX_ID.match(i):
            raise ValueError(f"{where}: '{i}' is not an exercise id (N.M)")
    return ids


def load(step_dir, name=FILE):
    """{exercise: [exercises it needs]} declared by step_dir/prerequisites
    (or step_dir/name; {} when the file does not exist). Raises ValueError
    naming the file and line of a line it cannot read, or of a cycle."""
    path = os.path.join(step_dir, name)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    deps = {}
    for n, line in enumerate(lines, 1):
        where = f"{path}:{n}"
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m or not EX_ID.match(m.group(1)):
            raise ValueError(f"{where}: expected 'N.M: N.M ...', got '{line}'")
        ex, needs = m.group(1), _ids(m.group(2), where)
        if not needs:
            raise ValueError(f"{where}: {ex} needs no exercise: remove the line")
        if ex in deps:
            raise ValueError(f"{where}: {ex} is declared twice")
        if ex in needs:
            raise ValueError(f"{where}: {ex} cannot need itself")
        deps[ex] = needs
    for ex in deps:
        if ex in closure(deps, ex):
            raise ValueError(f"{path}: {ex} needs itself through others (a cycle)")
    return deps


def closure(deps, ex):
    """Every exercise that ex needs, directly or through others."""
    seen, todo = set(), list(deps.get(ex, ()))
    while todo:
        e = todo.pop()
        if e not in seen:
            seen.add(e)
            todo.extend(deps.get(e, ()))
    return seen


def likely_roots(deps, ex, failing):
    """The prerequisites of ex that fail (in the set failing) and need no
    other failing exercise themselves: where a student should look first
    when ex's tests fail too. Sorted; empty when no prerequisite fails."""
    failed_needs = closure(deps, ex) & set(failing)
    roots = [e for e in failed_needs if not (closure(deps, e) & set(failing))]
    return sorted(roots, key=lambda e: tuple(int(p) for p in e.split(".")))


def main(argv):
    if len(argv) != 2:
        print("usage: prereqs.py STEP_DIR", file=sys.stderr)
        return 2
    try:
        deps = load(argv[1])
    except (OSError, ValueError) as e:
        print(f"prereqs: {e}", file=sys.stderr)
        return 1
    for ex, needs in deps.items():
        print(f"{ex}: {' '.join(needs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
