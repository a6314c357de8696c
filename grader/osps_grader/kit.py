"""kit.py - what the grader learns from the instructor's copy of the kit.

Nothing here is hard-coded per step: the steps, their programs, unit test
binaries and process test files come from the kit itself (the Makefile's
STEP_DIRS and STEPS_READY, each step's step.mk, stepN_*/tests/*.bats), and
so do the names of the tests a step must report (read from the test
sources: EX_TEST("1.3", f) is "[1.3] f", @test "[1.3] ..." is itself), the
exercises (stepN_*/exercises.json, written by `make skeletons`) and their
hints (the "#### N.M" sections of the step's README, read by the kit's own
scripts/hint.py). A step added to the kit is graded with no change here.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GRADER_DIR = os.path.dirname(HERE)
DEFAULT_KIT = os.path.dirname(GRADER_DIR)

EX_PREFIX = re.compile(r"^\[(\d+\.\d+|run)\]")


def exercise_of(test_name):
    """The exercise a test checks, from its name's prefix: "1.3", "run",
    or "?" for a test that does not follow the convention."""
    m = EX_PREFIX.match(test_name)
    return m.group(1) if m else "?"


def kit_script(kit_root, name):
    """Import one of the kit's scripts/*.py modules (tapsum, vgcheck,
    hint): the grader reuses the kit's readers instead of copying them."""
    scripts = os.path.join(kit_root, "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return __import__(name)


def make_vars(kit_root, makefile, names, extra=(), loops=()):
    """Ask make for the values of variables (so that any make syntax the
    kit uses is understood). loops: (LIST_VAR, SUFFIX) pairs, printing
    $(x_SUFFIX) for each x of $(LIST_VAR)."""
    text = "".join(f"$(info {n}=$({n}))" for n in names)
    for var, suffix in loops:
        text += f"$(foreach x,$({var}),$(info {suffix} $(x)=$($(x)_{suffix})))"
    cmd = ["make", "-s", "--no-print-directory", "-f", makefile, *extra,
           "--eval", f"__osps_grader_vars: ; {text}@:", "__osps_grader_vars"]
    out = subprocess.run(cmd, cwd=kit_root, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise KitError(f"make could not read {makefile}: {out.stderr.strip()[-500:]}")
    values, loop_values = {}, {}
    for line in out.stdout.splitlines():
        key, eq, value = line.partition("=")
        if not eq:
            continue
        if " " in key:
            suffix, item = key.split(" ", 1)
            loop_values.setdefault(suffix, {})[item] = value.split()
        else:
            values[key] = value
    return values, loop_values


class KitError(Exception):
    pass


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def cmocka_test_names(path):
    """The names a cmocka test program reports, in order, read from its
    source: EX_TEST("1.3", f) gives "[1.3] f" (the kit's convention), a
    plain cmocka_unit_test*(f, ...) gives "f"."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_c_comments(f.read())
    names = []
    pattern = re.compile(
        r'\bEX_TEST\s*\(\s*"([^"]+)"\s*,\s*(\w+)\s*\)'
        r'|\bcmocka_unit_test(?:_setup_teardown|_setup|_teardown|_prestate|_prestate_setup_teardown)?\s*\(\s*(\w+)')
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue    # the macro's own definition
        for m in pattern.finditer(line):
            names.append(f"[{m.group(1)}] {m.group(2)}" if m.group(1) else m.group(3))
    return names


BATS_TEST = re.compile(r"""^\s*@test\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\{""")
BATS_TAGS = re.compile(r"^\s*#\s*bats\s+test_tags=(.*)$")
BATS_FILE_TAGS = re.compile(r"^\s*#\s*bats\s+file_tags=(.*)$")


def bats_tests(path):
    """[(name, tags)] of a bats file, in file order (bats numbers them
    so). Tags come from "# bats test_tags=" on the lines just above a
    test and "# bats file_tags=" anywhere before it."""
    tests, pending, file_tags = [], set(), set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = BATS_FILE_TAGS.match(line)
            if m:
                file_tags |= {t.strip() for t in m.group(1).split(",") if t.strip()}
                continue
            m = BATS_TAGS.match(line)
            if m:
                pending |= {t.strip() for t in m.group(1).split(",") if t.strip()}
                continue
            m = BATS_TEST.match(line)
            if m:
                name = m.group(1) if m.group(1) is not None else m.group(2)
                if m.group(1) is not None:
                    name = re.sub(r'\\(.)', r"\1", name)
                tests.append((name, pending | file_tags))
                pending = set()
            elif line.strip() and not line.lstrip().startswith("#"):
                pending = set()
    return tests


class Suite:
    """One unit test program or one bats file of a step."""

    def __init__(self, kind, name, source, tests):
        self.kind = kind        # "unit" or "bats"
        self.name = name        # "test_shm_area" or "step1.bats"
        self.source = source    # the file the tests are written in
        self.tests = tests      # [(name, tags)] in the order they run

    def expected(self, valgrind=False):
        """The test names this suite must report, in order. Under valgrind
        the tests tagged "timing" are not run (as scripts/run-tests.sh)."""
        return [n for n, tags in self.tests if not (valgrind and "timing" in tags)]


class Step:
    def __init__(self, kit, n, directory, ready):
        self.kit = kit
        self.n = n
        self.dir = directory            # "step1_shm"
        self.ready = ready
        self.path = os.path.join(kit.root, directory)

    def load(self):
        root = self.kit.root
        values, loops = make_vars(
            root, "mk/step.mk", ["PROGS", "UNIT_TESTS"],
            extra=[f"STEP={self.dir}", f"SRC={self.dir}/src", "OUT=/nonexistent"],
            loops=[("UNIT_TESTS", "OBJS")])
        self.progs = values.get("PROGS", "").split()
        self.suites = []
        for t in values.get("UNIT_TESTS", "").split():
            objs = loops.get("OBJS", {}).get(t, [])
            sources = [os.path.join(self.dir, "tests", "unit", o[len("tests/"):-2] + ".c")
                       for o in objs if o.startswith("tests/")]
            names = []
            for s in sources:
                names += cmocka_test_names(os.path.join(root, s))
            self.suites.append(Suite("unit", t, sources[0] if sources else "", [(n, set()) for n in names]))
            self.suites[-1].objs = objs
        tests_dir = os.path.join(self.path, "tests")
        for f in sorted(os.listdir(tests_dir)) if os.path.isdir(tests_dir) else []:
            if f.endswith(".bats"):
                self.suites.append(Suite("bats", f, os.path.join(self.dir, "tests", f),
                                         bats_tests(os.path.join(tests_dir, f))))
        src = os.path.join(self.path, "src")
        # The learner's files, with their path under src/ (step 4's
        # examples/ hold exercises too: "examples/echo_iter.c").
        self.src_files = sorted(os.path.relpath(os.path.join(d, f), src)
                                for d, _, names in os.walk(src) for f in names
                                if os.path.isfile(os.path.join(d, f))) if os.path.isdir(src) else []
        try:
            with open(os.path.join(tests_dir, "bats-jobs")) as f:
                self.bats_jobs = max(1, int(f.read().strip() or 1))
        except (OSError, ValueError):
            self.bats_jobs = 1
        self.exercises = self._exercises()
        self._prereqs = None
        self.prerequisites = {}
        try:
            self._prereqs = kit_script(root, "prereqs")
            self.prerequisites = self._prereqs.load(self.path)
        except (ImportError, ValueError):
            pass            # an older kit, or a file make check-teeth rejects
        return self

    def likely_roots(self, ex, failing):
        """The exercises declared in the step's prerequisites file that ex
        needs and that fail too (in failing), first to fix (scripts/prereqs.py)."""
        if not self._prereqs or not self.prerequisites:
            return []
        return self._prereqs.likely_roots(self.prerequisites, ex, failing)

    def _exercises(self):
        """{id: {"file": ..., "hints": [...]}} for the step's exercises."""
        found = {}
        try:
            with open(os.path.join(self.path, "exercises.json"), encoding="utf-8") as f:
                for b in json.load(f):
                    found.setdefault(b["id"], {"file": b.get("file", "")})
        except (OSError, ValueError):
            pass
        for suite in self.suites:
            for name, _ in suite.tests:
                ex = exercise_of(name)
                if ex not in ("run", "?"):
                    found.setdefault(ex, {"file": ""})
        readme = os.path.join(self.path, "README.md")
        for ex, info in found.items():
            info["hints"] = self.hints(readme, ex)
        return found

    def hints(self, readme, ex):
        if not os.path.exists(readme):
            return []
        try:
            return kit_script(self.kit.root, "hint").hints(readme, ex)
        except (ImportError, AttributeError, OSError):
            levels, inside = [], False
            with open(readme, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("#"):
                        inside = line.strip() == f"#### {ex}"
                    elif inside and re.match(r"^\s*\d+\.\s+", line):
                        levels.append(re.sub(r"^\s*\d+\.\s+", "", line).strip())
            return levels

    def unit_objs_from_src(self, suite):
        """The objects of a unit test program built from the learner's
        sources (not tests/ nor common/): their code runs inside the test."""
        return [o for o in getattr(suite, "objs", [])
                if not o.startswith(("tests/", "common/"))]


class Kit:
    """The instructor's kit: the pristine source of everything but the
    learner's files."""

    def __init__(self, root=DEFAULT_KIT):
        self.root = os.path.abspath(root)
        if not os.path.exists(os.path.join(self.root, "mk", "step.mk")):
            raise KitError(f"{self.root} is not the lab kit (no mk/step.mk)")
        values, _ = make_vars(self.root, "Makefile", ["STEP_DIRS", "STEPS_READY"])
        self.ready = [int(n) for n in values.get("STEPS_READY", "").split()]
        self.steps = {}
        for item in values.get("STEP_DIRS", "").split():
            n, _, d = item.partition(":")
            if n.isdigit() and d and os.path.exists(os.path.join(self.root, d, "step.mk")):
                self.steps[int(n)] = Step(self, int(n), d, int(n) in self.ready)
        # A stepN_* directory the Makefile does not list yet is still known
        # (it can be graded with --steps), never graded by default.
        for d in sorted(os.listdir(self.root)):
            m = re.match(r"^step(\d+)_\w+$", d)
            if m and int(m.group(1)) not in self.steps and \
                    os.path.exists(os.path.join(self.root, d, "step.mk")):
                self.steps[int(m.group(1))] = Step(self, int(m.group(1)), d, False)
        self.tapsum = kit_script(self.root, "tapsum")
        self.vgcheck = kit_script(self.root, "vgcheck")

    def select(self, wanted=None):
        """The steps to grade: the ones asked for, else every ready one."""
        numbers = wanted if wanted else self.ready
        chosen = []
        for n in numbers:
            if n not in self.steps:
                raise KitError(f"step {n} is not in this kit (steps: {sorted(self.steps)})")
            chosen.append(self.steps[n].load())
        if not chosen:
            raise KitError("no step to grade: STEPS_READY is empty in the kit's Makefile")
        return chosen
