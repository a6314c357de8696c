"""feedback.py - the short feedback a teacher can send as is: per step,
the points lost per exercise and the first failure in the program's own
words. Used by the top of report.md, by the Moodle import's feedback
columns and by VPL's comments.

Points are weighted like the step's score (the rubric's weight), so that
every output adds up to the same total.
"""
import re

from .kit import exercise_of

MAX_MESSAGE = 160
ERROR_LINE = re.compile(r"^[a-z_][a-z0-9_]*: \S")     # the kit's "prog: call object: reason"


def fmt(x):
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def ex_key(e):
    return (e == "hidden", e == "run", e == "?",
            [int(x) for x in e.split(".") if x.isdigit()] if e[:1].isdigit() else [])


def _clip(s):
    s = " ".join(s.split())
    return s if len(s) <= MAX_MESSAGE else s[:MAX_MESSAGE - 3] + "..."


def first_message(t):
    """What went wrong in test t, in the words of the program or of the
    check that failed: how a process died, else the last line a process
    logged, else the value the test saw, else the assertion."""
    if t.get("deaths"):
        return _clip(t["deaths"][0])
    diag = [d[1:].strip() if d.startswith("#") else d.strip() for d in t.get("diag", [])]
    for key in ("actual", "value", "output"):
        for d in diag:
            m = re.match(rf"^{key}\s*:\s*(\S.*)$", d)
            if m:
                return _clip(m.group(1))
    # A program's error line ("d: exec ...: No such file or directory"),
    # else the last line a process logged.
    logs = [line for log in t.get("logs", {}).values() for line in log]
    for line in logs:
        if ERROR_LINE.match(line):
            return _clip(line)
    if logs:
        return _clip(t["logs"][next(iter(t["logs"]))][-1])
    for n in t.get("notes", []):
        return _clip(n)
    # cmocka: the assertion ("0x26 != 0x2") and where it is.
    where = next((d for d in diag if re.search(r":\d+: error:", d)), "")
    what = next((d for d in diag if d and d != where and not d.startswith("(")), "")
    if where:
        loc = re.sub(r"^.*/", "", where.split(": error")[0])
        return _clip(f"{what} ({loc})" if what and len(what) > 1 else f"assertion failed at {loc}")
    return _clip(what or "failed")


def shown(t, audience="graded"):
    """Whether a student may read test t's name and output (the rubric's
    feedback levels): a visible test always; an after_due_date one in what
    is handed out with the grades (audience "graded": report.md, Moodle's
    feedback), not in what a student reads at once ("early": VPL,
    Gradescope's summary, GitHub Classroom); a hidden one never."""
    v = t.get("visibility", "visible")
    return v == "visible" or (v == "after_due_date" and audience == "graded")


def exercise_rows(sr, audience="graded"):
    """{exercise: {earned, max, passed, tests}} over the tests a student may
    see, weighted, and the others together under "hidden"."""
    w = sr["score"].get("weight", 1.0)
    rows = {}
    for s in sr["suites"]:
        for t in s["tests"]:
            key = exercise_of(t["name"]) if shown(t, audience) else "hidden"
            e = rows.setdefault(key, {"earned": 0.0, "max": 0.0, "passed": 0, "tests": 0})
            e["earned"] += t.get("score", 0.0) * w
            e["max"] += t.get("max_score", 0.0) * w
            e["passed"] += t["status"] == "pass"
            e["tests"] += 1
    return {k: rows[k] for k in sorted(rows, key=ex_key)}


def exercise_lines(sr, audience="graded"):
    """[(exercise, earned, max, first failed test or None)], weighted; the
    tests kept from students are one line, "hidden", without a test."""
    first = {}
    for s in sr["suites"]:
        for t in s["tests"]:
            if t["status"] == "fail" and shown(t, audience):
                first.setdefault(exercise_of(t["name"]), t)
    return [(k, v["earned"], v["max"], first.get(k)) for k, v in exercise_rows(sr, audience).items()]


def why(t):
    """What a student reads of failed test t, as the rubric's detail says."""
    if t.get("detail", "full") == "none":
        return ""
    return f": {t['name']}: {first_message(t)}"


def step_text(sr, untouched=False, audience="graded"):
    """One step's feedback as short plain text (one line per item)."""
    sc = sr["score"]
    L = [f"Step {sr['n']}: {fmt(sc['score'])} / {fmt(sc['max'])}"]
    if untouched:
        L.append("  the untouched skeleton: nothing of this step differs from the handout")
    b = sr["build"]
    if not b.get("ok", True):
        err = next((e for e in b.get("errors", []) if "error" in e), (b.get("errors") or ["?"])[0])
        L.append(f"  build failed: {_clip(err)}")
    for ex, earned, mx, t in exercise_lines(sr, audience):
        if earned < mx - 1e-9:
            label = {"hidden": "hidden tests", "run": "run (integration tests)"}.get(ex, ex)
            L.append(f"  {label}: -{fmt(mx - earned)}{why(t) if t else ''}")
            if sc.get("roots", {}).get(ex):
                L.append(f"    {sc['roots'][ex]}")
    w = sc.get("weight", 1.0)
    for p in sc["penalties"]:
        L.append(f"  -{fmt(p['points'] * w)} {p['what']}")
        if p["what"].startswith("valgrind") and valgrind_first(sr):
            L.append(f"    first: {valgrind_first(sr)}")
        elif "warning" in p["what"] and b.get("warnings"):
            L.append(f"    first: {_clip(b['warnings'][0])}")
    if len(L) == 1:
        L.append("  every test passed")
    return "\n".join(L)


def notes(r):
    """Notes a student must see: the stress seed (to replay a failure),
    commits after the deadline not graded."""
    out = []
    if r.get("stress"):
        seed = r["stress"]["seed"]
        out.append(f"the process tests ran under stress (random short delays at the calls where "
                   f"races live), seed {seed}: the same delays again with "
                   f"make test-stepN STRESS=1 SEED={seed}")
    late = r.get("late_commits")
    if late:
        out.append(f"{late} commit(s) after the deadline were not graded (graded: "
                   f"{r['commit']['hash'][:12]} of {r['commit']['date']})")
    return out


def summary_lines(r, steps_order=None, audience="graded"):
    """The summary at the top of report.md: at most one screen."""
    L = []
    for d in steps_order or list(r.get("steps", {})):
        sr = r.get("steps", {}).get(d)
        if sr:
            L += step_text(sr, d in r.get("untouched", []), audience).splitlines()
    L += [f"Note: {n}" for n in notes(r)]
    if len(L) > 22:
        L = L[:21] + [f"... ({len(L) - 21} more lines in the details below)"]
    return L


VG_OWN_LOG = re.compile(r"Open file descriptor \d+: .*/vg\.[^/]*\.log$")
VG_NOISE = re.compile(r"==\d+== (Memcheck, a memory|Copyright|Using Valgrind|Command:|Parent PID:|$)")


def valgrind_details(details):
    """vgcheck's details of one process, the way a student can read them:
    the problems, then the log's own lines (each error with its stack
    trace) without valgrind's banner and without the path of the log,
    which the grader deletes."""
    out, skip = [], False
    for d in details:
        if skip and "<inherited from parent>" in d:
            skip = False
            continue
        skip = False
        if d.startswith("log /") or VG_NOISE.match(d):
            continue
        if VG_OWN_LOG.search(d):        # valgrind's own log, open in the process
            skip = True
            continue
        out.append(d)
    return out[:40]


def valgrind_first(sr):
    """The first valgrind finding of a step, in one line: what, and the
    first frame in the student's code ("... definitely lost: at
    shm_area_create (shm_area.c:73)")."""
    for v in (sr.get("valgrind") or {}).get("processes", []):
        if v["status"] != "fail":
            continue
        lines = valgrind_details(v["details"])
        for i, d in enumerate(lines):
            what = re.sub(r"^==\d+==\s*", "", d)
            if re.search(r"definitely lost|Invalid|uninitialised|Mismatched|Open (file descriptor|AF_|pipe)", what):
                frame = next((re.sub(r"^==\d+==\s*(at|by) 0x[0-9A-F]+: ", "", f) for f in lines[i + 1:i + 8]
                              if re.search(r"\(\w+\.c:\d+\)", f) and "/tests/" not in f
                              and "test_" not in f), "")
                return _clip(f"{v['process']}: {what}" + (f": at {frame}" if frame else ""))
    return ""
