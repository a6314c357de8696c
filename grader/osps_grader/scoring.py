"""scoring.py - the rubric (grader/rubric.ini) and the points it gives."""
import configparser
import re

from .kit import exercise_of


class RubricError(Exception):
    pass


VISIBILITY = ("visible", "after_due_date", "hidden")     # Gradescope's values
DETAIL = ("full", "message", "none")


class Rubric:
    GRADING = {"exercise_points": 10.0, "run_points": 10.0, "other_points": 1.0,
               "warning_penalty": 1.0, "warning_penalty_max": 5.0,
               "valgrind_penalty": 2.0, "valgrind_penalty_max": 10.0,
               "leftover_penalty": 2.0, "leftover_penalty_max": 10.0,
               "retries": 1, "retry_max_tests": 3}
    LIMITS = {"test_timeout": 60.0, "unit_timeout": 60.0, "build_timeout": 120.0,
              "submission_timeout": 1200.0, "timeout_scale": 1.0, "cpu": 60.0,
              "memory": 2048, "file_size": 64, "open_files": 4096, "processes": 256,
              "disk": 1024, "memory_total": 2048,
              "cpu_total": 70.0}

    def __init__(self, path=None):
        self.path = path
        cp = configparser.ConfigParser(delimiters=("=",), comment_prefixes=("#", ";"),
                                       inline_comment_prefixes=("#",), interpolation=None)
        cp.optionxform = str        # test names keep their case
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    cp.read_file(f)
            except (OSError, configparser.Error) as e:
                raise RubricError(f"rubric {path}: {e}")
        self.cp = cp
        self.grading = {k: self._num("grading", k, v) for k, v in self.GRADING.items()}
        v = cp.get("grading", "valgrind", fallback="no").strip().lower()
        v = {"true": "yes", "on": "yes", "1": "yes", "false": "no", "off": "no", "0": "no"}.get(v, v)
        if v not in ("yes", "no", "unit"):
            raise RubricError(f"rubric [grading] valgrind: yes, no or unit, not {v!r}")
        self.valgrind = v
        v = cp.get("grading", "stress", fallback="no").strip().lower()
        v = {"true": "yes", "on": "yes", "1": "yes", "false": "no", "off": "no", "0": "no"}.get(v, v)
        if v not in ("yes", "no"):
            raise RubricError(f"rubric [grading] stress: yes or no, not {v!r}")
        self.stress = v == "yes"
        self.limits = {k: self._num("limits", k, v) for k, v in self.LIMITS.items()}
        self.feedback_default = self._level("grading", cp.get("grading", "visibility", fallback="visible"),
                                            cp.get("grading", "detail", fallback="full"))
        self.output_cap = int(self._num("grading", "output_cap", 10240.0))
        self.feedback_rules = {}
        for sec in cp.sections():
            for key, value in cp.items(sec):
                if key.startswith("feedback "):
                    self.feedback_rules.setdefault(sec, []).append(self._rule(sec, key, value))

    def _level(self, sec, visibility, detail):
        v, d = visibility.strip().lower(), detail.strip().lower()
        if v not in VISIBILITY:
            raise RubricError(f"rubric [{sec}] visibility: {', '.join(VISIBILITY)}, not {v!r}")
        if d not in DETAIL:
            raise RubricError(f"rubric [{sec}] detail: {', '.join(DETAIL)}, not {d!r}")
        return v, d

    def _rule(self, sec, key, value):
        """"feedback SELECTOR... = VISIBILITY [DETAIL]": (match, (visibility,
        detail or None)). A selector is an exercise (2.5), run (the
        integration tests), * (every test) or /regex/ (test names)."""
        words = value.split()
        if not 1 <= len(words) <= 2:
            raise RubricError(f"rubric [{sec}] {key}: VISIBILITY [DETAIL], not {value!r}")
        level = self._level(sec, words[0], words[1] if len(words) > 1 else "full")
        sel = key[len("feedback "):].strip()
        if sel.startswith("/") and sel.endswith("/") and len(sel) > 1:
            try:
                rx = re.compile(sel[1:-1])
            except re.error as e:
                raise RubricError(f"rubric [{sec}] {key}: {e}")
            match = lambda name, ex: bool(rx.search(name))
        else:
            wanted = set(sel.replace(",", " ").split())
            match = lambda name, ex: "*" in wanted or ex in wanted
        return match, (level[0], level[1] if len(words) > 1 else None)

    def feedback_level(self, step, name):
        """(visibility, detail) of one test: [grading]'s visibility and
        detail, then each feedback line of the step's section that matches
        the test, in order (the last one wins)."""
        vis, det = self.feedback_default
        ex = exercise_of(name)
        for match, (v, d) in self.feedback_rules.get(self.step_section(step), []):
            if match(name, ex):
                vis, det = v, d or det
        return vis, det

    def _num(self, section, key, default):
        try:
            raw = self.cp.get(section, key, fallback=None)
            return type(default)(float(raw)) if raw is not None else default
        except ValueError:
            raise RubricError(f"rubric [{section}] {key}: not a number: {raw!r}")

    def step_section(self, step):
        return f"step{step.n}"

    def weight(self, step):
        return self._num(self.step_section(step), "weight", 1.0)

    def exercise_points(self, step, ex):
        sec = self.step_section(step)
        if ex == "run":
            return self._num(sec, "run", self.grading["run_points"])
        if ex == "?":
            return None
        return self._num(sec, ex, self.grading["exercise_points"])

    def test_points(self, step, name):
        sec = self.step_section(step)
        if self.cp.has_section(sec):
            for key, value in self.cp.items(sec):
                if key.startswith("test ") and key[5:].strip() == name:
                    return self._num(sec, key, 0.0)
        return None

    def unknown_tests(self, step, names):
        """Rubric entries "test NAME" that match no test: a typo or a renamed test."""
        sec = self.step_section(step)
        if not self.cp.has_section(sec):
            return []
        return [k[5:].strip() for k, _ in self.cp.items(sec)
                if k.startswith("test ") and k[5:].strip() not in names]


def points_per_test(rubric, step, names):
    """{test name: points} for one step's tests (skips included)."""
    by_ex = {}
    for n in names:
        by_ex.setdefault(exercise_of(n), []).append(n)
    out = {}
    for ex, tests in by_ex.items():
        explicit = {t: rubric.test_points(step, t) for t in tests}
        fixed = {t: p for t, p in explicit.items() if p is not None}
        rest = [t for t in tests if t not in fixed]
        if ex == "?":
            share = rubric.grading["other_points"]
            out.update({t: share for t in rest})
        else:
            total = rubric.exercise_points(step, ex)
            left = max(total - sum(fixed.values()), 0.0)
            out.update({t: left / len(rest) for t in rest} if rest else {})
        out.update(fixed)
    return out


def root_text(ex, roots):
    """"2.6 needs 2.5, which fails too: fix 2.5 first"."""
    names = " and ".join(roots)
    return (f"{ex} needs {names}, which fail{'s' if len(roots) == 1 else ''} too: "
            f"fix {names} first")


def score_step(rubric, step, sr):
    """Add the points to one step's result (sr, from runner.py) and return
    {"score", "max", "earned", "penalties": [...], "exercises": {...}}."""
    tests = [t for s in sr["suites"] for t in s["tests"]]
    pts = points_per_test(rubric, step, [t["name"] for t in tests])
    earned = maximum = 0.0
    exercises = {}
    for t in tests:
        p = pts.get(t["name"], 0.0)
        ex = exercise_of(t["name"])
        e = exercises.setdefault(ex, {"earned": 0.0, "max": 0.0, "passed": 0, "tests": 0})
        # A skipped test counts in the maximum and earns nothing: the kit
        # skips no test, so a skip can only shrink what a student is
        # graded on (and raise the percentage) if it counted for less.
        t["max_score"] = p
        t["visibility"], t["detail"] = rubric.feedback_level(step, t["name"])
        t["score"] = p if t["status"] == "pass" else 0.0
        maximum += p
        earned += t["score"]
        e["max"] += p
        e["earned"] += t["score"]
        e["tests"] += 1
        e["passed"] += t["status"] == "pass"
    # An exercise whose tests fail while an exercise it needs (the step's
    # prerequisites file) fails too: the feedback names where to start.
    failing = {ex for ex, e in exercises.items() if e["passed"] < e["tests"]}
    roots = {}
    for ex in sorted(failing):
        r = step.likely_roots(ex, failing) if hasattr(step, "likely_roots") else []
        if r:
            roots[ex] = root_text(ex, r)
    for t in tests:
        t["root"] = roots.get(exercise_of(t["name"]), "") if t["status"] == "fail" else ""
    g = rubric.grading
    penalties = []
    nwarn = len(sr["build"].get("warnings", []))
    if nwarn and g["warning_penalty"]:
        penalties.append({"what": f"{nwarn} compiler warning(s)",
                          "points": min(nwarn * g["warning_penalty"], g["warning_penalty_max"])})
    vg = sr.get("valgrind")
    if vg and vg["failed"] and g["valgrind_penalty"]:
        penalties.append({"what": f"valgrind: errors, leaks or open descriptors in {vg['failed']} process(es)",
                          "points": min(vg["failed"] * g["valgrind_penalty"], g["valgrind_penalty_max"])})
    nleft = sum(1 for l in sr.get("leftovers", []) if not l.get("excused"))
    if nleft and g["leftover_penalty"]:
        penalties.append({"what": f"{nleft} leftover(s) the grader had to clean",
                          "points": min(nleft * g["leftover_penalty"], g["leftover_penalty_max"])})
    raw = max(earned - sum(p["points"] for p in penalties), 0.0)
    w = rubric.weight(step)
    return {"score": round(raw * w, 2), "max": round(maximum * w, 2), "earned": round(earned, 2),
            "weight": w, "penalties": penalties, "roots": roots,
            "exercises": {k: {kk: round(vv, 2) if isinstance(vv, float) else vv
                              for kk, vv in v.items()} for k, v in exercises.items()}}
