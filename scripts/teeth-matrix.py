#!/usr/bin/env python3
"""teeth-matrix.py - how independent a step's exercises are, measured.

For each exercise stubbed alone (the reference with only that exercise's
blocks replaced by their stubs, as check-teeth builds it), run the step's
whole suite and sort the failing tests by the exercise each one names
("[2.3] ..."). A failure under another exercise's name is collateral: a
student who left only 2.5 undone would also lose 2.2's points. The
reference itself is run first: a test failing there is flaky or broken,
and is not counted as collateral.

Usage: teeth-matrix.py [--json FILE] [--only N.M,...] STEP_DIR...
  --only   only these exercises' rows (after a change to them: quicker)
Prints, per step, one row per stubbed exercise: its failing tests counted
per exercise column ("run" and "?" are tests named for no exercise), then
the collateral failures by name. Exit status 0 when every variant built and
ran (the matrix measures; check-teeth.sh is the check that fails).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(KIT, "scripts"))
import tapsum  # noqa: E402

EX_NAME = re.compile(r"^(?:-\s+)?\[(\d+\.\d+|run)\]")


def exercise_of(name):
    m = EX_NAME.match(name)
    return m.group(1) if m else "?"


def ex_key(ex):
    return tuple(int(p) for p in ex.split(".")) if ex[0].isdigit() else (10**6, ex)


def exercises(step):
    out = subprocess.run([sys.executable, "scripts/skel.py", "list", f"solutions/{step}/src"],
                         cwd=KIT, capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[0] for line in out.splitlines() if line.strip()}, key=ex_key)


def run_variant(step, ex, tmp):
    """{test name: status} of the step's suite on the reference with ex
    stubbed (ex None: the reference), or None if it does not build."""
    v = os.path.join(tmp, f"{step}-{ex or 'ref'}")
    mode = ["teeth", ex] if ex else ["solution"]
    subprocess.run([sys.executable, "scripts/skel.py", *mode, f"solutions/{step}/src",
                    f"{v}/src"], cwd=KIT, check=True)
    b = subprocess.run(["make", "--no-print-directory", "-f", "mk/step.mk", f"STEP={step}",
                        f"SRC={v}/src", f"OUT={v}/build", "NO_WERROR=1", "all", "unit"],
                       cwd=KIT, capture_output=True, text=True)
    if b.returncode != 0:
        sys.stderr.write(b.stdout[-2000:] + b.stderr[-2000:])
        return None
    subprocess.run(["scripts/run-tests.sh", "--label", "m", step, f"{v}/build", f"{v}/res"],
                   cwd=KIT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, TESTS_FILTER=""))
    status = {}
    for f in sorted(os.listdir(f"{v}/res")):
        if f.endswith(".tap"):
            with open(os.path.join(v, "res", f), encoding="utf-8", errors="replace") as fh:
                for t in tapsum.parse(fh.read(), tapsum.suite_name(f)):
                    status[f"{t.suite}: {t.name}"] = t.status
    return status


def short(key):
    """The test's own name, without its suite."""
    return key.split(": ", 1)[1] if ": " in key else key


def matrix(step, tmp, say, only=None):
    exs = exercises(step)
    if only:
        if only - set(exs):
            sys.exit(f"teeth-matrix: {step} has no exercise {', '.join(sorted(only - set(exs)))} "
                     f"(its exercises: {' '.join(exs)})")
        exs = [ex for ex in exs if ex in only]
    say(f"# {step}: the reference, then each of {len(exs)} exercises stubbed alone")
    base = run_variant(step, None, tmp)
    if base is None:
        return None
    flaky = {k for k, s in base.items() if s == "fail"}
    named = {}
    for k in base:
        named.setdefault(exercise_of(short(k)), set()).add(k)
    cols = sorted(named, key=ex_key)
    rows = {}
    for ex in exs:
        st = run_variant(step, ex, tmp)
        if st is None:
            rows[ex] = {"error": "does not build"}
            say(f"# {step} {ex}: the stubbed variant does not build")
            continue
        failing = sorted(k for k, s in st.items() if s == "fail")
        by_col = {c: sum(1 for k in failing if exercise_of(short(k)) == c) for c in cols}
        collateral = [short(k) for k in failing if k not in flaky and
                      exercise_of(short(k)) not in (ex, "run", "?")]
        rows[ex] = {"failing": by_col, "collateral": collateral,
                    "own": by_col.get(ex, 0),
                    "unnamed": [short(k) for k in failing if exercise_of(short(k)) in ("run", "?")]}
        say(f"# {step} {ex}: {len(failing)} failing, {len(collateral)} collateral")
    return {"step": step, "columns": {c: len(named[c]) for c in cols},
            "reference_failures": sorted(short(k) for k in flaky), "rows": rows}


def render(m):
    cols = list(m["columns"])
    w = max(7, *(len(c) + 2 for c in cols))
    lines = [f"{m['step']}: independence matrix - a row per exercise stubbed alone: how many "
             "of the tests named for each exercise fail (row \"tests\": how many there are)",
             "stubbed " + "".join(c.rjust(w) for c in cols) + "  collateral",
             "tests   " + "".join(str(m["columns"][c]).rjust(w) for c in cols)]
    total = 0
    for ex, r in m["rows"].items():
        if "error" in r:
            lines.append(f"{ex:<8}{r['error']}")
            continue
        cells = "".join((str(r["failing"][c]) if r["failing"][c] else ".").rjust(w) for c in cols)
        lines.append(f"{ex:<8}{cells}  {len(r['collateral'])}")
        total += len(r["collateral"])
    lines.append(f"{m['step']}: {total} collateral failure(s) (a test named for another "
                 "exercise failing when only this one is stubbed)")
    for ex, r in m["rows"].items():
        for name in r.get("collateral", []):
            lines.append(f"  {ex} stubbed -> {name}")
    if m["reference_failures"]:
        lines.append(f"  (failing on the reference too, not counted: "
                     f"{', '.join(m['reference_failures'])})")
    return "\n".join(lines)


def main(argv):
    json_out, only = None, None
    while len(argv) > 2 and argv[1] in ("--json", "--only"):
        if argv[1] == "--json":
            json_out = argv[2]
        else:
            only = set(argv[2].split(","))
        argv = argv[:1] + argv[3:]
    if len(argv) < 2:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    results, rc = [], 0
    with tempfile.TemporaryDirectory(prefix="osps-matrix.") as tmp:
        for step in argv[1:]:
            m = matrix(step, tmp, say, only)
            if m is None:
                print(f"{step}: the reference does not build")
                rc = 1
                continue
            results.append(m)
            print(render(m), flush=True)
            print()
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
