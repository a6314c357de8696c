#!/usr/bin/env python3
"""teeth-matrix.py - how independent a step's exercises are, measured and checked.

For each exercise stubbed alone (the reference with only that exercise's
blocks replaced by their stubs), run the step's whole suite and sort the
failing tests by the exercise each one names ("[2.3] ..."). A failure under
another exercise's name is collateral: a student who left only 2.5 undone
would also lose 2.2's points. It is declared when the test's exercise needs
the stubbed one (STEP/prerequisites, scripts/prereqs.py); "[run]" tests
(integration) and tests named for no exercise are never collateral.

A collateral failure is counted only if it fails again when just those
tests are run once more on the same variant (else: a flake), and not on
the reference (run only then, on just those tests).

Usage: teeth-matrix.py [--check] [--jobs N] [--only N.M,...] [--json FILE]
                       [--prereqs FILE] STEP_DIR...
  --check    make check-teeth: one TAP line per exercise, "not ok" when its
             stub makes no test fail (no teeth) or makes a test of another
             exercise fail that its prerequisites do not list; the matrix
             follows as TAP comments. A step without a prerequisites file
             is not held to independence: only its teeth are checked, from
             its own tests (the whole suite if none fails), the quick way.
  --jobs N   variants built and run at the same time (default: $TEETH_JOBS,
             else 4: stubbed suites mostly wait, and are built to run side by side)
  --only     only these exercises' rows (after a change to them: quicker)
  --prereqs  read this file instead of STEP_DIR/prerequisites (one step)
Without --check: prints, per step, one row per stubbed exercise (its failing
tests counted per exercise column; "run" and "?" are tests named for no
exercise), then the collateral failures by name; exit status 0 when every
variant built and ran (it measures; --check is the check that fails).
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(KIT, "scripts"))
import prereqs  # noqa: E402
import tapsum  # noqa: E402

EX_NAME = re.compile(r"^(?:-\s+)?\[(\d+\.\d+|run)\]")


def exercise_of(name):
    m = EX_NAME.match(name)
    return m.group(1) if m else "?"


def ex_key(ex):
    return tuple(int(p) for p in ex.split(".")) if ex[0].isdigit() else (10**6, ex)


def exercises(step):
    """{exercise id: "file,file"} of the step's reference, in id order."""
    out = subprocess.run([sys.executable, "scripts/skel.py", "list", f"solutions/{step}/src"],
                         cwd=KIT, capture_output=True, text=True, check=True).stdout
    files = {}
    for line in out.splitlines():
        if line.strip():
            ex, f = line.split()[:2]
            files.setdefault(ex, [])
            if f not in files[ex]:
                files[ex].append(f)
    return {ex: ",".join(files[ex]) for ex in sorted(files, key=ex_key)}


def short(key):
    """The test's own name, without its suite."""
    return key.split(": ", 1)[1] if ": " in key else key


def name_filter(keys):
    """A bats --filter regex that selects exactly these tests (by name;
    every character but letters, digits and spaces matches as "any")."""
    names = sorted({re.sub(r"[^A-Za-z0-9 ]", ".", short(k)) for k in keys})
    return "^(" + "|".join(names) + ")$"


def build(step, ex, v):
    """Build the reference with ex stubbed (None: as it is) into v/build.
    Returns None, or the end of the build log when it fails."""
    mode = ["teeth", ex] if ex else ["solution"]
    subprocess.run([sys.executable, "scripts/skel.py", *mode, f"solutions/{step}/src",
                    f"{v}/src"], cwd=KIT, check=True)
    b = subprocess.run(["make", "--no-print-directory", "-f", "mk/step.mk", f"STEP={step}",
                        f"SRC={v}/src", f"OUT={v}/build", "NO_WERROR=1", "all", "unit"],
                       cwd=KIT, capture_output=True, text=True)
    return None if b.returncode == 0 else (b.stdout + b.stderr)[-2000:]


def run_suite(step, v, res, tests_filter=""):
    """{suite: name -> status} of the step's tests on v/build (only those
    tests_filter selects among the bats tests; the unit tests all run)."""
    subprocess.run(["scripts/run-tests.sh", "--label", "m", step, f"{v}/build", f"{v}/{res}"],
                   cwd=KIT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, TESTS_FILTER=tests_filter))
    status = {}
    for f in sorted(os.listdir(f"{v}/{res}")):
        if f.endswith(".tap"):
            with open(os.path.join(v, res, f), encoding="utf-8", errors="replace") as fh:
                for t in tapsum.parse(fh.read(), tapsum.suite_name(f)):
                    status[f"{t.suite}: {t.name}"] = t.status
    return status


def still_failing(step, v, res, keys):
    """The tests among keys that fail when run again on v's build (a test
    the filter did not reach counts as failing: never hide a failure)."""
    if not keys:
        return set()
    st = run_suite(step, v, res, name_filter(keys))
    return {k for k in keys if st.get(k, "fail") == "fail"}


def allowed(deps, stubbed, test_ex):
    """May a test named for test_ex fail when stubbed is the stub?"""
    return test_ex in (stubbed, "run", "?") or stubbed in prereqs.closure(deps, test_ex)


def variant(step, ex, deps, tmp):
    """Build and run the variant with ex stubbed. A dict: failing, suspects
    (its undeclared collateral failures), its build in v; or error."""
    v = os.path.join(tmp, f"{step}-{ex}")
    t0 = time.monotonic()
    err = build(step, ex, v)
    if err is not None:
        return {"error": "the stubbed variant does not build", "log": err}
    st = run_suite(step, v, "all")
    failing = sorted(k for k, s in st.items() if s == "fail")
    suspects = {k for k in failing if not allowed(deps, ex, exercise_of(short(k)))}
    return {"failing": failing, "suspects": suspects, "flaky": [], "names": st, "v": v,
            "seconds": time.monotonic() - t0}


def own_teeth(step, ex, tmp):
    """For a step not held to prerequisites: the variant's own tests only
    ([N.M]), and the whole suite only if none of them fails (quick)."""
    v = os.path.join(tmp, f"{step}-{ex}")
    t0 = time.monotonic()
    err = build(step, ex, v)
    if err is not None:
        return {"error": "the stubbed variant does not build", "log": err}
    st = run_suite(step, v, "own", "\\[" + ex.replace(".", "\\.") + "\\] ")
    own = sorted(short(k) for k, s in st.items() if s == "fail" and exercise_of(short(k)) == ex)
    failing = own or sorted(short(k) for k, s in run_suite(step, v, "all").items() if s == "fail")
    return {"own_only": True, "own": len(own), "failing_total": len(failing),
            "first": failing[0] if failing else None, "collateral": [], "undeclared": [],
            "seconds": time.monotonic() - t0}


def confirm(step, r):
    """Run r's suspects once more on their variant, alone on the machine
    (after every variant has run): those that pass are flakes."""
    if "error" in r or not r["suspects"]:
        return
    again = still_failing(step, r["v"], "again", r["suspects"])
    r["flaky"] = sorted(r["suspects"] - again)
    r["suspects"] = again


def reference_failures(step, keys, tmp):
    """The tests among keys that fail on the reference too (not counted)."""
    if not keys:
        return set()
    v = os.path.join(tmp, f"{step}-ref")
    if not os.path.isdir(f"{v}/build"):
        err = build(step, None, v)
        if err is not None:
            sys.exit(f"teeth-matrix: the reference of {step} does not build:\n{err}")
    return still_failing(step, v, "ref", keys)


def step_rows(step, exs, deps, results, tmp, confirm=True):
    """The matrix of one step from its variants' results."""
    named = {}
    for r in results.values():
        for k in r.get("names", ()):
            named.setdefault(exercise_of(short(k)), set()).add(k)
    cols = sorted(named, key=ex_key)
    suspects = set().union(*(r.get("suspects", set()) for r in results.values()))
    on_ref = reference_failures(step, suspects, tmp) if confirm else set()
    rows = {}
    for ex in exs:
        r = results[ex]
        if "error" in r:
            rows[ex] = {"error": r["error"], "log": r["log"]}
            continue
        failing = r["failing"]
        by_col = {c: sum(1 for k in failing if exercise_of(short(k)) == c) for c in cols}
        declared = [short(k) for k in failing if exercise_of(short(k)) not in (ex, "run", "?")
                    and allowed(deps, ex, exercise_of(short(k)))]
        undeclared = sorted(short(k) for k in r["suspects"] - on_ref)
        rows[ex] = {"failing": by_col, "own": by_col.get(ex, 0), "declared": declared,
                    "collateral": sorted(declared + undeclared), "undeclared": undeclared,
                    "flaky": [short(k) for k in r["flaky"]],
                    "unnamed": [short(k) for k in failing if exercise_of(short(k)) in ("run", "?")],
                    "first": next((short(k) for k in failing if exercise_of(short(k)) == ex),
                                  short(failing[0]) if failing else None),
                    "failing_total": len(failing)}
    return {"step": step, "columns": {c: len(named[c]) for c in cols}, "reference_failures": sorted(short(k) for k in on_ref),
            "rows": rows}


def render(m, prereqs_file):
    cols = list(m["columns"])
    w = max(7, *(len(c) + 2 for c in cols)) if cols else 7
    lines = [f"{m['step']}: independence matrix - a row per exercise stubbed alone: how many "
             "of the tests named for each exercise fail (row \"tests\": how many there are)",
             "stubbed " + "".join(c.rjust(w) for c in cols) + "  collateral  undeclared",
             "tests   " + "".join(str(m["columns"][c]).rjust(w) for c in cols)]
    total = undeclared = 0
    for ex, r in m["rows"].items():
        if "error" in r:
            lines.append(f"{ex:<8}{r['error']}")
            continue
        cells = "".join((str(r["failing"].get(c, 0)) if r["failing"].get(c) else ".").rjust(w)
                        for c in cols)
        lines.append(f"{ex:<8}{cells}  {len(r['collateral']):>10}  {len(r['undeclared']):>10}")
        total += len(r["collateral"])
        undeclared += len(r["undeclared"])
    lines.append(f"{m['step']}: {total} collateral failure(s) (a test named for another "
                 f"exercise failing when only this one is stubbed), {undeclared} not declared "
                 f"in {prereqs_file}")
    for ex, r in m["rows"].items():
        for name in r.get("collateral", []):
            how = "NOT DECLARED" if name in r["undeclared"] else "declared"
            lines.append(f"  {ex} stubbed -> {name}  ({how})")
    for ex, r in m["rows"].items():
        for name in r.get("flaky", []):
            lines.append(f"  ({ex} stubbed -> {name}: failed once, passed when run again; "
                         "not counted)")
    if m["reference_failures"]:
        lines.append(f"  (failing on the reference too, not counted: "
                     f"{', '.join(m['reference_failures'])})")
    return lines


def verdict(i, step, ex, files, r, enforced, prereqs_file):
    """The TAP line of one exercise, for --check."""
    where = f"{ex} ({step}/{files})"
    if "error" in r:
        tail = "\n".join("# " + s for s in r["log"].splitlines()[-5:])
        return f"not ok {i} teeth {where}: {r['error']}\n{tail}"
    if r["failing_total"] == 0:
        return f"not ok {i} teeth {where}: NOT caught, every test passes with the stub"
    if r["own"]:
        caught = f"caught by {r['own']} of its own tests, e.g. \"{r['first']}\""
    else:
        caught = f"caught by {r['failing_total']} test(s), none named [{ex}], e.g. \"{r['first']}\""
    if r["undeclared"] and enforced:
        names = "\n".join(f"#   {n}" for n in r["undeclared"])
        return (f"not ok {i} teeth {where}: {caught}; but {len(r['undeclared'])} test(s) of other "
                f"exercises fail too, not declared in {prereqs_file} (make them independent of "
                f"{ex}, or declare the need and why):\n{names}")
    note = f"; {len(r['collateral'])} collateral, all declared" if r["collateral"] else ""
    if r["undeclared"]:
        note = (f"; {len(r['undeclared'])} undeclared collateral, not confirmed (not enforced: "
                f"no {prereqs_file})")
    return f"ok {i} teeth {where}: {caught}{note}"


def main(argv):
    args = argv[1:]
    check, jobs, only, json_out, prereqs_override = False, None, None, None, None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--check":
            check = True
        elif opt in ("--jobs", "--only", "--json", "--prereqs") and args:
            val = args.pop(0)
            if opt == "--jobs":
                jobs = int(val)
            elif opt == "--only":
                only = set(val.split(","))
            elif opt == "--json":
                json_out = val
            else:
                prereqs_override = val
        else:
            sys.stderr.write(__doc__.split("\n\n")[2] + "\n")
            return 2
    if not args or (prereqs_override and len(args) != 1):
        sys.stderr.write(__doc__.split("\n\n")[2] + "\n")
        return 2
    jobs = jobs or int(os.environ.get("TEETH_JOBS", "4"))
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    out = lambda s: print(s, flush=True)  # noqa: E731

    plan, decl = [], {}
    for step in args:
        exs = exercises(step)
        if only:
            if only - set(exs):
                sys.exit(f"teeth-matrix: {step} has no exercise {', '.join(sorted(only - set(exs)))} "
                         f"(its exercises: {' '.join(exs)})")
            exs = {ex: f for ex, f in exs.items() if ex in only}
        path = prereqs_override or os.path.join(step, prereqs.FILE)
        try:
            deps = prereqs.load(os.path.dirname(path) or ".", os.path.basename(path))
        except (OSError, ValueError) as e:
            sys.exit(f"teeth-matrix: {e}")
        decl[step] = (deps, os.path.isfile(path), path)
        plan += [(step, ex, files) for ex, files in exs.items()]

    rc, matrices = 0, []
    if check:
        out(f"1..{len(plan)}")
    with tempfile.TemporaryDirectory(prefix="osps-matrix.") as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        # The last steps' suites are the longest: started first, they do
        # not leave one worker alone at the end.
        # In make check-teeth, a step without a prerequisites file is not
        # held to independence: only its teeth are checked, the quick way
        # (make teeth-matrix STEP=N measures its matrix).
        quick = {step for step in decl if check and not decl[step][1]}
        futures = {pool.submit(own_teeth, step, ex, tmp) if step in quick else
                   pool.submit(variant, step, ex, decl[step][0], tmp): (step, ex)
                   for step, ex, _ in sorted(plan, key=lambda p: -args.index(p[0]))}
        results, i = {}, 0
        for fut in concurrent.futures.as_completed(futures):
            step, ex = futures[fut]
            r = results.setdefault(step, {})[ex] = fut.result()
            say(f"# {step} {ex}: " + (r["error"] if "error" in r else
                f"{r['own']} of its own tests failing, {r['seconds']:.0f} s" if "own_only" in r else
                f"{len(r['failing'])} failing, {len(r['suspects'])} undeclared collateral "
                f"(not yet confirmed), {r['seconds']:.0f} s"))
        for step in dict.fromkeys(s for s, _, _ in plan):
            deps, enforced, path = decl[step]
            if step in quick:
                for s, e, f in plan:
                    if s == step:
                        i += 1
                        line = verdict(i, step, e, f, results[step][e], enforced, path)
                        rc |= line.startswith("not ok")
                        out(line)
                out(f"# {step}: no {path}: its teeth only, from its own tests (its "
                    f"independence matrix: make teeth-matrix STEP={step[4:].split('_')[0]})")
                continue
            # A step not held to its prerequisites (no file) is measured
            # only: its collateral failures are not run again, nor on the
            # reference.
            if enforced or not check:
                for r in results[step].values():
                    confirm(step, r)
            m = step_rows(step, [e for s, e, _ in plan if s == step], deps, results[step], tmp,
                          enforced or not check)
            matrices.append(m)
            lines = render(m, path)
            if check:
                for s, e, f in plan:
                    if s == step:
                        i += 1
                        line = verdict(i, step, e, f, m["rows"][e], enforced, path)
                        rc |= line.startswith("not ok")
                        out(line)
                out("\n".join("# " + x for x in lines))
            else:
                rc |= any("error" in r for r in m["rows"].values())
                out("\n".join(lines) + "\n")
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(matrices, f, indent=1)
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
