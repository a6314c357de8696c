#!/usr/bin/env python3
"""progress.py - `make progress`: where a learner stands, exercise by
exercise, and what to work on next.

Usage: progress.py [--impl learner|solution] STEP_DIR...
       progress.py [--impl I] --key STEP_DIR
       progress.py [--impl I] --record STEP_DIR RESULTS_DIR KEY

One row per exercise, in one of three states:
  passed       every test named [N.M] passes
  failing      the exercise was started, and a test named [N.M] fails
  not started  the code after each of its "TODO N.M" comments is still the stub
A step whose sources are still the untouched skeleton is not even built.
A step's test results are kept in build/progress/ with a fingerprint of
everything they depend on (sources, tests, build rules): while it is
unchanged they are reused, else the step is built and tested again.
`make test-stepN` records its results the same way (--key before the run,
--record after it). Exit status 0 (it only informs), 2 on bad usage.
In French when OSPS_LANG=fr or the locale is French (see lang.py).
"""
import glob
import hashlib
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
from lang import language   # noqa: E402

# What make progress says, in each language.
SAY = {
    "en": {"passed": "passed", "failing": "failing", "not started": "not started",
           "no build": "does not build", "header": ("step", "exercise", "file", "tests", "state"),
           "running": "(running {step}'s tests: {why}...)", "changed": "sources changed",
           "first": "first run", "total": "{done} of {n} exercises passed.",
           "reran": "tests run for {x}", "reused": "last results reused for {x} (nothing changed since)",
           "untouched": "not run for {x} (untouched skeleton)", "or": " or ", "sep": "; ",
           "next": "Next: exercise {ex} in {where} (look for 'TODO {ex}'); "
                   "'make test-step{n} EX={ex}' to check it, 'make hint-step{n} EX={ex}' if stuck.",
           "all": "Everything passes. Well done!"},
    "fr": {"passed": "réussi", "failing": "en échec", "not started": "pas commencé",
           "no build": "ne compile pas", "header": ("étape", "exercice", "fichier", "tests", "état"),
           "running": "(tests de {step} en cours : {why}...)", "changed": "sources modifiées",
           "first": "premier passage", "total": "Exercices réussis : {done} sur {n}.",
           "reran": "tests lancés pour {x}", "reused": "derniers résultats repris pour {x} (rien n'a changé depuis)",
           "untouched": "non lancés pour {x} (squelette intact)", "or": " ou ", "sep": " ; ",
           "next": "Prochain exercice : {ex}, dans {where} (cherchez 'TODO {ex}') ; "
                   "'make test-step{n} EX={ex}' pour le vérifier, 'make hint-step{n} EX={ex}' si vous bloquez.",
           "all": "Tout passe. Bravo !"},
}


def exercises(step):
    """[(ex, [(file, stub_lines, k)])] of a step in order, from its
    exercises.json (written by make skeletons, so that progress works
    without solutions/); k counts the blocks of ex in that file."""
    with open(os.path.join(ROOT, step, "exercises.json"), encoding="utf-8") as f:
        blocks = json.load(f)
    out, seen = {}, {}
    for b in blocks:
        k = seen.get((b["id"], b["file"]), 0)
        seen[(b["id"], b["file"])] = k + 1
        out.setdefault(b["id"], []).append((b["file"], b["stub"], k))
    return list(out.items())


def norm(lines):
    return [l.strip() for l in lines if l.strip()]


def still_stub(path, ex, stub, k=0):
    """True when the code following the k-th "TODO ex" comment in path is
    still the stub."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        return True
    todos = [i for i, line in enumerate(lines) if re.search(rf"\bTODO {re.escape(ex)}\b", line)]
    if not todos:
        return False    # the TODO comment is gone: the learner has been there
    j = todos[min(k, len(todos) - 1)]
    while j < len(lines) and "*/" not in lines[j]:
        j += 1          # to the end of the TODO comment
    want = norm(stub)
    after = norm(lines[j + 1:j + 1 + len(stub) + 5])
    return len(want) > 0 and after[:len(want)] == want


def src_dir(step, impl):
    return os.path.join(ROOT, "solutions", step, "src") if impl == "solution" else os.path.join(ROOT, step, "src")


def fingerprint(step, impl):
    """A hash of every file a step's test results depend on."""
    pats = [os.path.join(src_dir(step, impl), "**", "*"), os.path.join(ROOT, step, "tests", "**", "*"),
            os.path.join(ROOT, step, "step.mk"), os.path.join(ROOT, step, "exercises.json"),
            os.path.join(ROOT, "common", "**", "*"), os.path.join(ROOT, "mk", "*"),
            os.path.join(ROOT, "tests", "helpers.bash"), os.path.join(ROOT, "scripts", "run-tests.sh")]
    h = hashlib.sha256(impl.encode())
    for path in sorted({p for pat in pats for p in glob.glob(pat, recursive=True)}):
        if os.path.isfile(path):
            h.update(os.path.relpath(path, ROOT).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read() + b"\0")
    return h.hexdigest()


def cache_path(step, impl):
    return os.path.join(ROOT, "build", "progress", impl, step + ".json")


def load(step, impl, key):
    """The recorded results of step if they were made from key, else None."""
    try:
        with open(cache_path(step, impl), encoding="utf-8") as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    return saved if saved.get("key") == key else None


def record(step, impl, key, built, tests):
    """Save a step's results (written whole, then renamed)."""
    path = cache_path(step, impl)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {"key": key, "built": built, "tests": [[t.name, t.status] for t in tests]}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)
    return data


def read_results(step, results):
    tests = []
    for path in sorted(glob.glob(os.path.join(results, f"{step}.*.tap"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            tests += tapsum.parse(f.read(), tapsum.suite_name(path))
    return tests


def run_tests(step, impl, tmp):
    """Build and test one step; return (built, tests)."""
    build = os.path.join("build", "solution", step) if impl == "solution" else os.path.join("build", step)
    n = step[4]
    log = os.path.join(tmp, f"{step}.log")
    with open(log, "w") as out:
        made = subprocess.run(["make", "--no-print-directory", f"step{n}", f"unit-step{n}", f"IMPL={impl}"],
                              cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        if made.returncode != 0:
            return False, []
        results = os.path.join(tmp, step)
        subprocess.run([os.path.join(HERE, "run-tests.sh"), step, build, results],
                       cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return True, read_results(step, results)


def state_of(step, impl, ex, blocks, built, tests):
    """(state, "passed/total") of one exercise."""
    mine = [(name, st) for name, st in tests if name.startswith(f"[{ex}]")]
    npass = sum(st == "pass" for _, st in mine)
    count = f"{npass}/{len(mine)}" if mine else "-"
    src = src_dir(step, impl)
    if impl == "learner" and all(still_stub(os.path.join(src, f), ex, stub, k) for f, stub, k in blocks):
        return "not started", count
    if impl == "learner" and not tests and built:
        return "not started", count     # in a step left untouched
    if not built:
        return "no build", count
    if mine and npass == len(mine):
        return "passed", count
    return "failing", count


def main(argv):
    impl = "learner"
    args = argv[1:]
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if args[:1] == ["--impl"] and len(args) >= 2:
        impl, args = args[1], args[2:]
    if impl not in ("learner", "solution"):
        sys.stderr.write(__doc__)
        return 2
    if args[:1] == ["--key"] and len(args) == 2:
        print(fingerprint(args[1], impl))
        return 0
    if args[:1] == ["--record"] and len(args) == 4:
        _, step, results, key = args
        record(step, impl, key, True, read_results(step, results))
        return 0
    if not args or any(a.startswith("-") for a in args):
        sys.stderr.write(__doc__)
        return 2
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    paint = (lambda c, s: f"\033[{c}m{s}\033[0m") if color else (lambda c, s: s)
    say = SAY[language()]
    marks = {"passed": paint("32", "✓ " + say["passed"]), "failing": paint("31", "✗ " + say["failing"]),
             "not started": paint("2", "· " + say["not started"]), "no build": paint("31", "✗ " + say["no build"])}
    rows, next_ex, reran, reused, untouched = [], None, [], [], []
    with tempfile.TemporaryDirectory(prefix="osps-progress.") as tmp:
        for step in args:
            exs = exercises(step)
            src = src_dir(step, impl)
            # An empty stub (code to add, nothing to replace) cannot tell:
            # the others decide whether the step was started.
            pristine = impl == "learner" and all(still_stub(os.path.join(src, f), ex, stub, k)
                                                for ex, blocks in exs for f, stub, k in blocks
                                                if norm(stub))
            if pristine:
                untouched.append(step)
                built, tests = True, []
            else:
                key = fingerprint(step, impl)
                saved = load(step, impl, key)
                if saved is None:
                    why = say["changed"] if os.path.exists(cache_path(step, impl)) else say["first"]
                    print(say["running"].format(step=step, why=why), file=sys.stderr, flush=True)
                    built, found = run_tests(step, impl, tmp)
                    saved = record(step, impl, key, built, found)
                    reran.append(f"{step} ({why})")
                else:
                    reused.append(step)
                built, tests = saved["built"], saved["tests"]
            for ex, blocks in exs:
                state, count = state_of(step, impl, ex, blocks, built, tests)
                files = ",".join(dict.fromkeys(f for f, _, _ in blocks))
                rows.append((step, ex, files, state, count))
                if state != "passed" and next_ex is None:
                    next_ex = (step, ex, files)
    print("{:<16} {:<9} {:<14} {:>6}  {}".format(*say["header"]))
    for step, ex, files, state, count in rows:
        print(f"{step:<16} {ex:<9} {files:<14} {count:>6}  {marks[state]}")
    done = sum(r[3] == "passed" for r in rows)
    print("\n" + say["total"].format(done=done, n=len(rows)))
    said = [say[k].format(x=", ".join(v)) for k, v in (("reran", reran), ("reused", reused),
                                                       ("untouched", untouched)) if v]
    print("(" + say["sep"].join(said) + ")")
    if next_ex:
        step, ex, files = next_ex
        where = say["or"].join(f"{step}/src/{f}" for f in files.split(","))
        print(say["next"].format(ex=ex, where=where, n=step[4]))
        return 0
    print(say["all"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
