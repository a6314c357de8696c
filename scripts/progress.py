#!/usr/bin/env python3
"""progress.py - `make progress`: where a learner stands, exercise by
exercise, and what to work on next.

Usage: progress.py [--impl learner|solution] STEP_DIR...

For each step: build it, run its tests (quietly), and give each exercise
one of three states:
  passed       every test named [N.M] passes
  failing      the exercise was started, and a test named [N.M] fails
  not started  the code after its "TODO N.M" comment is still the stub
A step whose sources are still the untouched skeleton is not even built.
Exit status 0 (it only informs), 2 on bad usage.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import tapsum   # noqa: E402  (the kit's TAP reader)


def blocks(step):
    """[(ex, file, stub_lines)] of a step, from its exercises.json (written
    by make skeletons, so that progress works without solutions/)."""
    with open(os.path.join(ROOT, step, "exercises.json"), encoding="utf-8") as f:
        return [(b["id"], b["file"], b["stub"]) for b in json.load(f)]


def norm(lines):
    return [l.strip() for l in lines if l.strip()]


def still_stub(path, ex, stub):
    """True when the code following "TODO ex" in path is still the stub."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        return True
    for i, line in enumerate(lines):
        if re.search(rf"\bTODO {re.escape(ex)}\b", line):
            j = i
            while j < len(lines) and "*/" not in lines[j]:
                j += 1      # to the end of the TODO comment
            want = norm(stub)
            after = norm(lines[j + 1:j + 1 + len(stub) + 5])
            return len(want) > 0 and after[:len(want)] == want
    return False    # the TODO comment is gone: the learner has been there


def run_tests(step, impl, tmp):
    """Build and test one step; return (built, tests) with tests as Test objects."""
    build = os.path.join("build", "solution", step) if impl == "solution" else os.path.join("build", step)
    n = step[4]
    log = os.path.join(tmp, f"{step}.log")
    with open(log, "w") as out:
        made = subprocess.run(["make", "--no-print-directory", f"step{n}", f"IMPL={impl}"],
                              cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        if made.returncode != 0:
            return False, []
        results = os.path.join(tmp, step)
        subprocess.run([os.path.join(HERE, "run-tests.sh"), step, build, results],
                       cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    tests = []
    for name in sorted(os.listdir(results)):
        if name.endswith(".tap"):
            with open(os.path.join(results, name), encoding="utf-8", errors="replace") as f:
                tests += tapsum.parse(f.read(), name[:-4])
    return True, tests


def main(argv):
    impl = "learner"
    args = argv[1:]
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if args[:1] == ["--impl"] and len(args) >= 2:
        impl, args = args[1], args[2:]
    if impl not in ("learner", "solution") or not args or any(a.startswith("-") for a in args):
        sys.stderr.write(__doc__)
        return 2
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    paint = (lambda c, s: f"\033[{c}m{s}\033[0m") if color else (lambda c, s: s)
    marks = {"passed": paint("32", "✓ passed"), "failing": paint("31", "✗ failing"),
             "not started": paint("2", "· not started"), "no build": paint("31", "✗ does not build")}
    rows, next_ex = [], None
    with tempfile.TemporaryDirectory(prefix="osps-progress.") as tmp:
        for step in args:
            bl = blocks(step)
            src = os.path.join(ROOT, step, "src") if impl == "learner" else None
            pristine = impl == "learner" and all(still_stub(os.path.join(src, f), ex, stub)
                                                for ex, f, stub in bl)
            if pristine:
                built, tests = True, []
            else:
                print(f"(running {step}'s tests...)", file=sys.stderr)
                built, tests = run_tests(step, impl, tmp)
            for ex, rel, stub in bl:
                mine = [t for t in tests if t.name.startswith(f"[{ex}]")]
                npass = sum(t.status == "pass" for t in mine)
                if impl == "learner" and still_stub(os.path.join(src, rel), ex, stub):
                    state = "not started"
                elif not built:
                    state = "no build"
                elif mine and npass == len(mine):
                    state = "passed"
                else:
                    state = "failing"
                rows.append((step, ex, rel, state, f"{npass}/{len(mine)}" if mine else "-"))
                if state != "passed" and next_ex is None:
                    next_ex = (step, ex, rel)
    print(f"{'step':<16} {'exercise':<9} {'file':<14} {'tests':>6}  state")
    for step, ex, rel, state, count in rows:
        print(f"{step:<16} {ex:<9} {rel:<14} {count:>6}  {marks[state]}")
    done = sum(r[3] == "passed" for r in rows)
    print(f"\n{done} of {len(rows)} exercises passed.")
    if next_ex:
        step, ex, rel = next_ex
        print(f"Next: exercise {ex} in {step}/src/{rel} (look for 'TODO {ex}'); "
              f"'make test-step{step[4]}' to check it, 'make hint-step{step[4]} EX={ex}' if stuck.")
        return 0
    print("Everything passes. Well done!")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
