#!/usr/bin/env python3
"""check-texts.py - the students' texts agree with the tests and the code.

Usage: check-texts.py [--root DIR] [CHECK...] STEP_DIR...
  CHECK is one of --questions, --hints, --events, --fragments (default:
  all of them). Prints one line per problem and exits 1 if there is any,
  0 otherwise (with one "ok" line per check).

  questions  every question of a step README is labelled (**N.x**) and
             solutions/STEP/ANSWERS.md answers each label under a
             "## N.x ..." heading, and no other label.
  hints      the README gives level 1 of each exercise's hints only; the
             next levels are in STEP/hints.md, for exercises the README
             has, in the same "#### N.M" + numbered-list format.
  events     every log event and key a test waits for (` reaped name=`)
             is named in the exercise's TODO comment or in the README's
             table of log events; every message a test expects from an
             exercise's code is named in its TODO comment.
  fragments  every C fragment of a hint compiles against the skeleton:
             each `code span` that looks like C is compiled inside the
             function that holds the exercise's TODO; a fragment that
             cannot stand alone must at least use only identifiers the
             skeleton, its headers or libc define.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def section(text, title):
    """The lines of the "## title" section of a markdown text."""
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


# ---------------------------------------------------------------- questions

def check_questions(root, step):
    problems = []
    readme = read(os.path.join(root, step, "README.md"))
    n = step[4]
    qs = section(readme, "Questions")
    if not qs:
        return [f"{step}/README.md: no '## Questions' section"]
    asked = []
    for item in re.findall(r"^- (.*)$", qs, re.M):
        m = re.match(r"\*\*(\d+\.[a-z])\*\* ", item)
        if not m:
            problems.append(f"{step}/README.md: question without a label: {item[:60]!r}")
            continue
        asked.append(m.group(1))
        if not m.group(1).startswith(n + "."):
            problems.append(f"{step}/README.md: question {m.group(1)} is not step {n}'s")
    for lab in {x for x in asked if asked.count(x) > 1}:
        problems.append(f"{step}/README.md: label {lab} used twice")
    answers = os.path.join(root, "solutions", step, "ANSWERS.md")
    if not os.path.exists(answers):
        return problems + [f"solutions/{step}/ANSWERS.md: missing"]
    answered = re.findall(r"^## (\d+\.[a-z])\b", read(answers), re.M)
    for lab in asked:
        if lab not in answered:
            problems.append(f"solutions/{step}/ANSWERS.md: no '## {lab} ...' answer "
                            f"to README question {lab}")
    for lab in answered:
        if lab not in asked:
            problems.append(f"solutions/{step}/ANSWERS.md: answers {lab}, "
                            "which the README does not ask")
    return problems


# -------------------------------------------------------------------- hints

def hint_lists(text):
    """{exercise: [level numbers]} of the "#### N.M" lists of a text."""
    lists, ex = {}, None
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.match(r"^#### (\d+\.\d+)\s*$", line)
            ex = m.group(1) if m else None
            if ex:
                lists.setdefault(ex, [])
            continue
        m = re.match(r"^\s*(\d+)\.\s", line)
        if ex and m:
            lists[ex].append(int(m.group(1)))
    return lists


def exercise_ids(root, step):
    import json
    with open(os.path.join(root, step, "exercises.json"), encoding="utf-8") as f:
        return [e["id"] for e in json.load(f)]


def check_hints(root, step):
    problems = []
    readme = hint_lists(section(read(os.path.join(root, step, "README.md")), "Exercises"))
    for ex in exercise_ids(root, step):
        if ex not in readme:
            problems.append(f"{step}/README.md: no '#### {ex}' hint for exercise {ex}")
    for ex, levels in readme.items():
        if levels != [1]:
            problems.append(f"{step}/README.md: exercise {ex} shows hint levels {levels}; "
                            f"the README gives level 1 only, the next go to {step}/hints.md")
    path = os.path.join(root, step, "hints.md")
    more = hint_lists(read(path)) if os.path.exists(path) else {}
    for ex, levels in more.items():
        if ex not in readme:
            problems.append(f"{step}/hints.md: hints for {ex}, which has no level 1 in the README")
        elif levels != list(range(2, 2 + len(levels))):
            problems.append(f"{step}/hints.md: exercise {ex}'s levels are {levels}, "
                            "not 2, 3, ... in order")
    return problems


CHECKS = {"questions": check_questions, "hints": check_hints}


def main(argv):
    root, wanted, steps = ROOT, [], []
    args = iter(argv[1:])
    for a in args:
        if a == "--root":
            root = next(args)
        elif a.startswith("--") and a[2:] in CHECKS:
            wanted.append(a[2:])
        elif a.startswith("-"):
            sys.stderr.write(__doc__)
            return 2
        else:
            steps.append(a.rstrip("/"))
    if not steps:
        sys.stderr.write(__doc__)
        return 2
    bad = 0
    for name in wanted or list(CHECKS):
        problems = []
        for step in steps:
            problems += CHECKS[name](root, step)
        for p in problems:
            print(f"{name}: {p}")
        if not problems:
            print(f"ok {name}: {' '.join(steps)}")
        bad += len(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
