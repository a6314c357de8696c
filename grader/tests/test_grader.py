"""The grader's own tests: grader/grade run as an instructor would run it,
on submissions made from the kit at test time (fixtures.py).

ClassRun grades one class of seventeen submissions at once (-j 3, step 1
only, small limits): two copies of the reference, the skeleton, the
reference with one exercise stubbed, and adversaries. Graded in the same run, they also check that a submission
cannot change another one's result. The other classes are fast: the
intake (archives, git, roster), the TAP checks, the rubric, the static
checks, plus a two-step kit (a compile error costs one step) and
Gradescope's layout.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import signal
import tempfile
import threading
import time
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures as F  # noqa: E402
from osps_grader import checks, intake, results, scoring  # noqa: E402
from osps_grader import kit as kitmod  # noqa: E402
from osps_grader.roster import safe_folder  # noqa: E402

GRADE = os.path.join(F.GRADER, "grade")
ROOT = os.geteuid() == 0
# Where the sandboxes' uids start looking (the grader takes the first
# range no other run holds, and prints it).
UID_BASE = 61100
STEP1 = kitmod.Kit(F.KIT).steps[1].load()
RACE_TEST = next(n for s in STEP1.suites if s.kind == "bats" for n in s.expected() if "race mode" in n)
UNIT_15 = {n for s in STEP1.suites if s.kind == "unit" for n in s.expected() if n.startswith("[1.5]")}
BATS_NAMES = [n for s in STEP1.suites if s.kind == "bats" for n in s.expected()]
# The baseline of the cheating fixtures: the reference with one exercise
# stubbed, one that both unit and process tests check.
STUB = ("stub", sorted({kitmod.exercise_of(n) for s in STEP1.suites if s.kind == "unit"
                        for n in s.expected()} & {kitmod.exercise_of(n) for n in BATS_NAMES})[-1])


def small_rubric(path, **limits):
    """grader/rubric.ini with the [limits] the fixtures need."""
    with open(os.path.join(F.GRADER, "rubric.ini")) as f:
        text = f.read()
    for k, v in limits.items():
        text = re.sub(rf"(?m)^{k}\s*=.*$", f"{k} = {v}", text)
    with open(path, "w") as f:
        f.write(text)
    return path


def grade(args, timeout=600):
    start = time.monotonic()
    p = subprocess.run([GRADE] + args, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - start


def uids_of(stdout):
    """The first sandbox uid a run used (its first line says)."""
    m = re.search(r"own uid \((\d+)\.\.\)", stdout)
    return int(m.group(1)) if m else UID_BASE


def sandbox_processes(base=UID_BASE):
    """Live processes of the sandboxes' uids (root mode)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                uid = os.stat(f"/proc/{name}").st_uid
                with open(f"/proc/{name}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if base <= uid < base + 50 and state != "Z":
                out.append(int(name))
    return out


def failing(details):
    return {t["name"] for s in details["steps"]["step1_shm"]["suites"] for t in s["tests"]
            if t["status"] == "fail"}


class ClassRun(unittest.TestCase):
    """One class graded at once; every test below reads its results.
    -j 3 on two cores: most fixtures wait (time limits, the skeleton's
    bounded waits) more than they compute."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(cls.tmp, 0o711)        # the sandboxes' uids reach --work below
        subs = os.path.join(cls.tmp, "subs")
        cls.work = os.path.join(cls.tmp, "work")
        cls.out = os.path.join(cls.tmp, "out")
        order = [
            ("ref", lambda: F.make(subs, "ref")),
            ("loop", lambda: F.make(subs, "loop", patch=F.both(F.on_race(F.LOOP), F.on_unit_unlink(F.LOOP)))),
            ("sleep", lambda: F.make(subs, "sleep", patch=F.both(F.on_race(F.SLEEP), F.on_unit_unlink(F.SLEEP)))),
            ("forkbomb", lambda: F.make(subs, "forkbomb", patch=F.on_race(F.BOMB))),
            ("skel", lambda: F.make(subs, "skel", base="skeleton")),
            ("stub", lambda: F.make(subs, "stub", base=STUB)),
            ("modified", lambda: F.modified_kit(subs, "modified", STUB[1])),
            ("faketap", lambda: F.make(subs, "faketap", base=STUB, patch=F.faketap_patch(STEP1))),
            ("cheat", lambda: F.make(subs, "cheat", base=STUB, patch=F.cheat_header_patch)),
            ("leftovers", lambda: F.make(subs, "leftovers", patch=F.on_main(F.leftovers_code()))),
            ("escape", lambda: F.make(subs, "escape", patch=F.on_main(F.ESCAPE))),
            ("diskfill", lambda: F.make(subs, "diskfill", patch=F.on_race(F.FILL))),
            ("crash", lambda: F.make(subs, "crash", patch=F.both(
                F.on_race("\traise(SIGSEGV);\n"), F.on_w(F.W_CRASH)))),
            # The kit's path and the other submissions are out of reach.
            ("probe", lambda: F.make(subs, "probe", patch=F.on_main(F.probe_code(F.KIT, cls.work)))),
            # The untouched skeleton, forging the unit tests' results (then
            # _exit(0)) and bats' (through /proc, then kill(-1)).
            ("skelforge", lambda: F.make(subs, "skelforge", base="skeleton", patch=F.both(
                F.cmocka_forge_patch(STEP1), F.on_race(F.bats_forge_code(STEP1))))),
            # Other runs' shared memory names taken in advance; three
            # processes of 200 MiB.
            ("squat", lambda: F.make(subs, "squat", patch=F.both(F.on_main(F.SQUAT, "squatter"),
                                                                 F.on_race(F.MEMHOG)))),
        ]
        if ROOT:
            # Only a sandbox of its own uid can survive these two.
            order += [
                ("killer", lambda: F.make(subs, "killer", patch=F.on_race(
                    F.killer_code(UID_BASE, UID_BASE + 50)))),
                ("deleter", lambda: F.make(subs, "deleter", patch=F.on_race(
                    F.deleter_code([cls.work, cls.out, os.path.join(cls.work, "kit")])))),
            ]
        # A second reference, its id full of characters special somewhere.
        order.append(("=cmd+1,é", lambda: F.make(subs, "=cmd+1,é")))
        paths = [make() for _, make in order]
        cls.names = [n for n, _ in order]
        rubric = small_rubric(os.path.join(cls.tmp, "rubric.ini"), cpu=3, processes=64,
                              disk=64, file_size=16, memory_total=256)
        os.makedirs(cls.out)
        cls.run_lock_before = set(os.listdir("/run/lock")) if os.path.isdir("/run/lock") else set()
        cls.proc, cls.elapsed = grade(
            ["-j", "3", "--steps", "1", "--rubric", rubric, "--work", cls.work, "--keep",
             "-o", cls.out, "--test-timeout", "20", "--unit-timeout", "6",
             "--submission-timeout", "120", "--uid-base", str(UID_BASE)] + paths)
        with open(os.path.join(cls.out, "summary.json")) as f:
            cls.summary = json.load(f)
        cls.d = {}
        for n in cls.names:
            with open(os.path.join(cls.out, "students", safe_folder(n), "details.json")) as f:
                cls.d[n] = json.load(f)
        # Left for the checks below; the work directories go afterwards.
        cls.kit_copy_intact = os.path.exists(os.path.join(cls.work, "kit", "Makefile"))
        cls.procs_after = sandbox_processes(uids_of(cls.proc.stdout)) if ROOT else []

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def total(self, n):
        return self.d[n]["total"], self.d[n]["max"]

    def test_00_the_run_itself(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        self.assertRegex(self.proc.stdout, r"\[\s*1/\d+ \d+:\d\d\] ")
        self.assertIn("student", self.proc.stdout)
        self.assertLess(self.elapsed, 300, "the class took too long")

    def test_reference_gets_full_marks_twice(self):
        for n in ("ref", "=cmd+1,é"):
            score, maximum = self.total(n)
            self.assertGreater(maximum, 0)
            self.assertEqual(score, maximum, f"{n}: {sorted(failing(self.d[n]))}")
            self.assertEqual(self.d[n]["integrity"], [])
            self.assertEqual(self.d[n]["steps"]["step1_shm"]["leftovers"], [])
            self.assertEqual(self.d[n]["steps"]["step1_shm"]["build"]["warnings"], [])

    def test_skeleton_gets_the_minimum_without_crashing_anything(self):
        d = self.d["skel"]
        score, maximum = self.total("skel")
        self.assertLess(score, maximum / 2)
        sr = d["steps"]["step1_shm"]
        self.assertTrue(sr["build"]["ok"])
        for ex, v in sr["score"]["exercises"].items():
            if ex != "run":
                self.assertLess(v["earned"], v["max"], f"exercise {ex} passes on the skeleton")
        for s in sr["suites"]:
            self.assertIsNone(s["stopped"])
            self.assertIsNone(s.get("signal"))
            for t in s["tests"]:
                self.assertFalse(any("never reported" in x for x in t["notes"]), t["name"])
        self.assertEqual(sr["leftovers"], [])
        self.assertEqual(d["integrity"], [])

    def check_only(self, n, expected_failures):
        self.assertEqual(failing(self.d[n]), expected_failures, n)
        left = self.d[n]["steps"]["step1_shm"]["leftovers"]
        self.assertEqual([l for l in left if not l.get("excused")], [], n)

    def test_infinite_loop_costs_its_tests_only(self):
        self.check_only("loop", {RACE_TEST} | UNIT_15)

    def test_sleep_forever_costs_its_tests_only(self):
        self.check_only("sleep", {RACE_TEST} | UNIT_15)
        unit = next(s for s in self.d["sleep"]["steps"]["step1_shm"]["suites"] if s["kind"] == "unit")
        self.assertIn("time limit", unit["stopped"] or "")

    def test_fork_bomb_is_bounded(self):
        f = failing(self.d["forkbomb"])
        self.assertIn(RACE_TEST, f)
        self.assertLessEqual(len(f), 3, f)

    def test_modified_tests_and_makefiles_are_ignored(self):
        # The same tests pass for both: the kit's own tests ran; and the
        # same score (leftovers are counted the same way whatever the timing).
        earned = {n: self.d[n]["steps"]["step1_shm"]["score"]["earned"] for n in ("modified", "stub")}
        self.assertEqual(earned["modified"], earned["stub"])
        self.assertEqual(self.total("modified"), self.total("stub"))
        self.assertEqual(failing(self.d["modified"]), failing(self.d["stub"]))
        self.assertLess(self.total("stub")[0], self.total("stub")[1])
        ignored = {i["path"] for i in self.d["modified"]["intake"]["ignored"]}
        for p in ("step1_shm/tests/step1.bats", "step1_shm/tests/unit/test_shm_area.c",
                  "Makefile", "mk/step.mk", "tests/helpers.bash", "common/log.c",
                  "step1_shm/src/cmocka.h", "step1_shm/src/passwd.h"):
            self.assertIn(p, ignored)
        taken = {t["to"] for t in self.d["modified"]["intake"]["taken"]}
        self.assertEqual(taken, {f"step1_shm/src/{n}" for n in STEP1.src_files})

    def test_fake_tap_and_junit_cannot_raise_a_grade(self):
        self.assertLessEqual(self.total("faketap")[0], self.total("stub")[0])
        anomalies = [a for s in self.d["faketap"]["steps"]["step1_shm"]["suites"] for a in s["anomalies"]]
        kinds = {s["kind"] for s in self.d["faketap"]["steps"]["step1_shm"]["suites"] if s["anomalies"]}
        self.assertIn("unit", kinds, anomalies)
        self.assertTrue(self.d["faketap"]["integrity"])

    def test_fake_results_cannot_reach_the_test_runner(self):
        """d writes every result as passed into its ancestors' descriptors
        through /proc: the harness is not dumpable, the lines never reach
        the results, and the process tests fail as the stub's do."""
        bats = next(s for s in self.d["faketap"]["steps"]["step1_shm"]["suites"] if s["kind"] == "bats")
        results = bats["result_lines"]
        self.assertEqual(len(results), len(BATS_NAMES), results)
        self.assertEqual(bats["anomalies"], [])
        stub = {t["name"] for s in self.d["stub"]["steps"]["step1_shm"]["suites"] if s["kind"] == "bats"
                for t in s["tests"] if t["status"] == "fail"}
        self.assertTrue(stub)
        self.assertTrue(stub <= failing(self.d["faketap"]))

    def test_a_header_redefining_the_assertions_is_not_trusted(self):
        sr = self.d["cheat"]["steps"]["step1_shm"]
        self.assertTrue(any(f["kind"] == "untrusted" and "assert_" in f["message"] for f in sr["findings"]))
        unit = next(s for s in sr["suites"] if s["kind"] == "unit")
        self.assertTrue(all(t["status"] == "fail" for t in unit["tests"]))
        self.assertLessEqual(self.total("cheat")[0], self.total("stub")[0])

    def test_leftovers_are_found_counted_and_removed(self):
        sr = self.d["leftovers"]["steps"]["step1_shm"]
        kinds = {l["kind"] for l in sr["leftovers"]}
        self.assertIn("FIFO", kinds)
        if ROOT:
            self.assertIn("shared memory segment", kinds)
        self.assertTrue(any("leftover" in p["what"] for p in sr["score"]["penalties"]))
        # The kit's own teardown caught the process each test left.
        self.assertTrue(any("processes left" in " ".join(t["diag"])
                            for s in sr["suites"] for t in s["tests"]))

    def test_a_setsid_escape_is_found_and_killed(self):
        sr = self.d["escape"]["steps"]["step1_shm"]
        self.assertTrue(any(l["kind"] == "process" and "sleep 300" in l["what"] for l in sr["leftovers"]),
                        sr["leftovers"])
        self.assertTrue(any("still running after the tests" in i for i in self.d["escape"]["integrity"]))

    def test_disk_filler_is_stopped(self):
        sr = self.d["diskfill"]["steps"]["step1_shm"]
        bats = next(s for s in sr["suites"] if s["kind"] == "bats")
        self.assertIn("disk limit", bats["stopped"] or "")
        self.assertIn(RACE_TEST, failing(self.d["diskfill"]))
        before = BATS_NAMES[:BATS_NAMES.index(RACE_TEST)]
        # The tests before it pass (one may fail: a stopped suite is not
        # retried, and some of the kit's timing tests fail under load).
        self.assertLessEqual(len(set(before) & failing(self.d["diskfill"])), 1)

    def test_deaths_are_decoded(self):
        report = open(os.path.join(self.out, "students", "crash", "report.md")).read()
        self.assertIn("w was killed by SIGSEGV", report)
        self.assertIn("a program was killed by SIGSEGV (exit status 139)", report)

    @unittest.skipUnless(ROOT, "needs root: a uid per sandbox")
    def test_a_submission_that_kills_its_parent_and_everything_else(self):
        f = failing(self.d["killer"])
        self.assertIn(RACE_TEST, f)
        after = BATS_NAMES[BATS_NAMES.index(RACE_TEST) + 1:]
        self.assertTrue(set(after) <= f)

    @unittest.skipUnless(ROOT, "needs root: a uid per sandbox")
    def test_a_submission_that_deletes_files_harms_nobody(self):
        self.assertTrue(self.kit_copy_intact)
        self.assertEqual(self.total("=cmd+1,é")[0], self.total("=cmd+1,é")[1])
        self.assertTrue(os.path.exists(os.path.join(self.out, "students", "ref", "report.md")))

    def test_nothing_is_left_behind(self):
        self.assertEqual(self.procs_after, [])
        # The sandboxes' /dev/shm and /run are their own: what their programs
        # made there is gone with them (the machine's may hold other runs').
        if os.path.isdir("/run/lock"):
            self.assertEqual({n for n in set(os.listdir("/run/lock")) - self.run_lock_before
                              if n.startswith("osps-fill")}, set())
        if ROOT:
            for d in [d for d in ("/tmp", "/dev/shm", "/var/tmp", "/run/lock") if os.path.isdir(d)]:
                owned = [n for n in os.listdir(d)
                         if UID_BASE <= os.lstat(os.path.join(d, n)).st_uid < UID_BASE + 50]
                self.assertEqual(owned, [], d)

    def test_the_kit_and_the_other_submissions_are_out_of_reach(self):
        score, maximum = self.total("probe")
        self.assertEqual(score, maximum, sorted(failing(self.d["probe"])))

    def test_forged_results_give_at_most_the_skeletons_score_and_a_review(self):
        self.assertLessEqual(self.total("skelforge")[0], self.total("skel")[0])
        integrity = " ".join(self.d["skelforge"]["integrity"])
        self.assertIn("test_shm_area", integrity)
        self.assertIn("step1.bats", integrity)
        summary = next(s for s in self.summary["students"] if s["id"] == "skelforge")
        self.assertTrue(summary["integrity"])

    def test_a_killed_suite_fails_and_is_flagged(self):
        bats = next(s for s in self.d["skelforge"]["steps"]["step1_shm"]["suites"] if s["kind"] == "bats")
        self.assertTrue(any("ended abnormally" in a for a in bats["anomalies"]), bats["anomalies"])
        self.assertTrue(all(t["status"] == "fail" for t in bats["tests"]))

    def test_memory_total_is_enforced_and_reported(self):
        if not any("memory" in p for p in self.cgroup_controllers()):
            self.skipTest("no memory cgroup on this machine")
        suites = self.d["squat"]["steps"]["step1_shm"]["suites"]
        self.assertTrue(any("memory limit" in l for s in suites for l in s.get("limits", [])),
                        [s.get("limits") for s in suites])
        report = open(os.path.join(self.out, "students", "squat", "report.md")).read()
        self.assertIn("memory limit", report)

    def cgroup_controllers(self):
        if not ROOT:
            return []
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            return open("/sys/fs/cgroup/cgroup.controllers").read().split()
        return [c for c in os.listdir("/sys/fs/cgroup") if os.path.exists(f"/sys/fs/cgroup/{c}/cgroup.procs")]

    def test_private_directories_are_size_limited_and_reported(self):
        suites = self.d["diskfill"]["steps"]["step1_shm"]["suites"]
        limits = [l for s in suites for l in s.get("limits", [])]
        self.assertTrue(any("disk limit: /dev/shm was full" in l or "disk limit: /run was full" in l
                            for l in limits), limits)

    def test_outputs(self):
        with open(os.path.join(self.out, "grades.csv")) as f:
            rows = list(csv.DictReader(f))
        # An id a spreadsheet would read as a formula may be escaped ("'=cmd").
        self.assertEqual(len(rows), len(self.names))
        for r, n in zip(rows, self.names):
            self.assertTrue(r["id"] == n or r["id"].endswith(n) and len(r["id"]) <= len(n) + 2, (r["id"], n))
        self.assertEqual(set(rows[0]), {"id", "name", "email", "step1_shm", "total", "max", "percent", "status"})
        with open(os.path.join(self.out, "students", "skel", "results.json")) as f:
            gs = json.load(f)
        self.assertIsInstance(gs["score"], (int, float))
        for t in gs["tests"]:
            self.assertTrue({"name", "score", "max_score", "output", "visibility"} <= set(t), t)
        self.assertAlmostEqual(sum(t["max_score"] for t in gs["tests"]), self.total("skel")[1], places=1)
        report = open(os.path.join(self.out, "students", "skel", "report.md")).read()
        self.assertIn("#### [1.2]", report)
        self.assertIn('hints under "#### 1.2" in step1_shm/README.md', report)
        self.assertIn("hint 1: ", report)
        self.assertIn("last log lines of d", report)
        self.assertIn("Function not implemented", report)
        st = self.summary["statistics"]
        self.assertEqual(st["distribution"]["students"], len(self.names))
        self.assertTrue(any(e["exercise"] == "1.2" for e in st["exercises"]))
        self.assertTrue(os.path.exists(os.path.join(self.out, "statistics.md")))


class Retry(unittest.TestCase):
    """A test that fails once, then passes, is run again when the class is
    done and counts as passed, with a note. Two such submissions at -j 2:
    one is first graded in the second slot, and every retry runs in the
    first (its build directory must still be its own). Their ids hold
    characters special in a regular expression, a path or a spreadsheet.
    Graded in a class of their own: among the adversarial fixtures of
    ClassRun, the load could give a suite an anomaly (a time limit),
    which rightly rules a retry out."""

    def test_a_test_that_fails_once_is_retried_when_the_class_is_done(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            os.chmod(tmp, 0o711)        # the sandboxes' uids reach --work below
            ids = ["+1+1", "a,b"]
            paths = [F.make(os.path.join(tmp, "subs"), n, patch=F.on_main(F.FLAKY)) for n in ids]
            rubric = small_rubric(os.path.join(tmp, "rubric.ini"), cpu=3, processes=64,
                                  disk=64, file_size=16)
            out = os.path.join(tmp, "out")
            proc, _ = grade(["-j", "2", "--steps", "1", "--rubric", rubric,
                             "--work", os.path.join(tmp, "work"), "-o", out,
                             "--test-timeout", "20", "--unit-timeout", "6",
                             "--submission-timeout", "120", "--uid-base", str(UID_BASE)] + paths)
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
            for n in ids:
                with open(os.path.join(out, "students", safe_folder(n), "details.json")) as f:
                    d = json.load(f)
                self.assertEqual(d["total"], d["max"], (n, sorted(failing(d))))
                with open(os.path.join(out, "students", safe_folder(n), "report.md")) as f:
                    self.assertIn("Passed only when run again", f.read())
                self.assertIn(f"retried 1 failed test(s) of {safe_folder(n)}", proc.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Refusal(unittest.TestCase):
    """Where the sandbox cannot be made, the grader refuses in one line,
    unless --weak-isolation accepts less, which every report then says."""

    def test_no_sandbox_no_grading_unless_asked(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(tmp, 0o711)
        try:
            sub = F.make(tmp, "ref")
            env = dict(os.environ, OSPS_GRADER_BWRAP=os.path.join(tmp, "no-bwrap"))
            p = subprocess.run([GRADE, "--steps", "1", "-o", os.path.join(tmp, "out"), sub],
                               capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(p.returncode, 1)
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn("cannot make the sandbox", lines[0])
            self.assertIn("--weak-isolation", lines[0])

            out = os.path.join(tmp, "out2")
            p = subprocess.run([GRADE, "--steps", "1", "-j", "1", "--weak-isolation", "-o", out,
                                "--test-timeout", "10", "--uid-base", str(UID_BASE), sub],
                               capture_output=True, text=True, env=env, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("WEAK ISOLATION", p.stdout)
            with open(os.path.join(out, "students", "ref", "report.md")) as f:
                self.assertIn("WEAK ISOLATION", f.read())
            with open(os.path.join(out, "students", "ref", "details.json")) as f:
                d = json.load(f)
            self.assertEqual(d["total"], d["max"], sorted(failing(d)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @unittest.skipUnless(ROOT, "needs root: uids of their own")
    def test_two_runs_never_share_a_uid(self):
        from osps_grader import sandbox
        a = sandbox.free_uid(UID_BASE, 3)
        b = sandbox.free_uid(UID_BASE, 3)
        try:
            self.assertTrue(a + 3 <= b or b + 3 <= a, (a, b))
        finally:
            sandbox.release_uids()
        self.assertFalse(any(n.startswith(".osps-grader-uid-") for n in os.listdir(tempfile.gettempdir())
                             if os.stat(os.path.join(tempfile.gettempdir(), n)).st_uid == os.getuid()
                             and str(a) in n))


class CpuTotal(unittest.TestCase):
    """A submission's CPU time is limited in all, over every process of
    its step (the slot's cgroup counts it): a d forking short CPU burners,
    each under the per-process limit, is stopped and told why; the
    reference, graded beside it under the same rubric, is unaffected."""

    LIMIT = 15      # the reference's step 1 uses about 3 s

    def test_burners_are_stopped_and_the_reference_is_not(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(tmp, 0o711)
        try:
            subs = os.path.join(tmp, "subs")
            paths = [F.make(subs, "ref"), F.make(subs, "burners", patch=F.burners_patch)]
            rubric = small_rubric(os.path.join(tmp, "rubric.ini"), cpu=3, cpu_total=self.LIMIT)
            out = os.path.join(tmp, "out")
            p, _ = grade(["-j", "2", "--steps", "1", "--rubric", rubric, "-o", out,
                          "--uid-base", str(UID_BASE)] + paths)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            first = p.stdout.splitlines()[0]
            if not ROOT:
                self.assertIn("no CPU-time total per submission", first)
                self.skipTest("needs root: cgroups")
            self.assertNotIn("no CPU-time total", first)
            details = {}
            for n in ("ref", "burners"):
                with open(os.path.join(out, "students", n, "details.json")) as f:
                    details[n] = json.load(f)
            ref, burn = details["ref"], details["burners"]
            self.assertEqual(ref["total"], ref["max"], sorted(failing(ref)))
            self.assertLess(ref["steps"]["step1_shm"]["cpu_seconds"], self.LIMIT)
            message = f"CPU time limit: the submission used more than {self.LIMIT} s of CPU in all"
            stopped = [s["stopped"] for s in burn["steps"]["step1_shm"]["suites"] if s.get("stopped")]
            self.assertIn(message, stopped)
            # Stopped soon after the total (checked every second, on 2 cores).
            self.assertLess(burn["steps"]["step1_shm"]["cpu_seconds"], self.LIMIT + 8)
            with open(os.path.join(out, "students", "burners", "report.md")) as f:
                self.assertIn(message, f.read())
            self.assertEqual(sandbox_processes(uids_of(p.stdout)), [])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# A grader/grade that says how it was called, and refuses as asked ($FAKE):
# ns, the sandbox cannot be made (bwrap's own error); missing, bwrap is not
# installed; broken, another error.
FAKE_GRADE = r"""#!/bin/sh
echo "$*" >> "$CALLS"
case "$FAKE:$*" in
*--weak-isolation*) exit 0 ;;
ns:*) echo "grade: cannot make the sandbox: bwrap: No permissions to create a new namespace: allow ..." >&2
	exit 1 ;;
missing:*) echo "grade: cannot make the sandbox: bwrap is not installed (Debian package bubblewrap): allow ..." >&2
	exit 1 ;;
broken:*) echo "grade: rubric [limits] cpu: not a number: 'x'" >&2
	exit 2 ;;
esac
exit 0
"""


class SandboxFirst(unittest.TestCase):
    """Gradescope's run_autograder and VPL's vpl_execution grade in the
    sandbox; only when the grader refuses because bwrap cannot make it in
    the platform's container do they grade again with --weak-isolation."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        self.kit = os.path.join(self.tmp, "kit")
        os.makedirs(os.path.join(self.kit, "grader"))
        path = os.path.join(self.kit, "grader", "grade")
        with open(path, "w") as f:
            f.write(FAKE_GRADE)
        os.chmod(path, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_script(self, argv, cwd, fake, **env):
        calls = os.path.join(self.tmp, f"calls-{fake}")
        p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, CALLS=calls, FAKE=fake, **env))
        with open(calls) as f:
            return p, [l.split() for l in f.read().splitlines()]

    def check(self, argv, cwd, first, **env):
        """Each refusal of grader/grade, and what the script did."""
        p, calls = self.run_script(argv, cwd, "ok", **env)
        self.assertEqual((p.returncode, calls), (0, [first]), p.stderr)
        p, calls = self.run_script(argv, cwd, "ns", **env)
        self.assertEqual((p.returncode, calls), (0, [first, first + ["--weak-isolation"]]), p.stderr)
        self.assertIn("--weak-isolation", p.stderr)
        for fake, status, said in (("missing", 1, "bwrap is not installed"), ("broken", 2, "rubric")):
            p, calls = self.run_script(argv, cwd, fake, **env)
            self.assertEqual((p.returncode, calls), (status, [first]), p.stderr)
            self.assertIn(said, p.stderr)

    def test_run_autograder(self):
        with open(os.path.join(F.GRADER, "gradescope", "run_autograder")) as f:
            text = f.read()
        self.assertIn("cd /autograder/source/kit ", text)
        script = os.path.join(self.tmp, "run_autograder")
        with open(script, "w") as f:
            f.write(text.replace("/autograder/source/kit", self.kit))
        self.check(["bash", script], self.tmp, ["--gradescope", "--steps", "1,2"], OSPS_STEPS="1,2")

    def test_vpl_execution(self):
        run = os.path.join(self.tmp, "run")
        os.makedirs(run)
        shutil.copy(os.path.join(F.GRADER, "vpl", "vpl_evaluate.sh"), run)
        subprocess.run(["tar", "-czf", os.path.join(run, "osps-kit.tar.gz"), "-C", self.tmp, "kit"],
                       check=True)
        subprocess.run(["bash", "vpl_evaluate.sh"], cwd=run, check=True, timeout=60,
                       env=dict(os.environ, OSPS_STEPS="1"))
        # The kit is unpacked in a new temporary directory at each run.
        p, calls = self.run_script(["bash", "vpl_execution"], run, "ns")
        self.assertEqual([c[2:] for c in calls], [["--vpl", "--steps", "1"],
                                                  ["--vpl", "--steps", "1", "--weak-isolation"]])
        for fake, status, n in (("ok", 0, 1), ("missing", 1, 1), ("broken", 2, 1)):
            p, calls = self.run_script(["bash", "vpl_execution"], run, fake)
            self.assertEqual((p.returncode, len(calls)), (status, n), p.stderr)

    def test_gradescope_without_namespaces_is_graded_and_says_so(self):
        """The real grader, with a bwrap that fails as in a container that
        forbids namespaces: full marks for the reference, and the report
        says the isolation was weak."""
        bwrap = os.path.join(self.tmp, "bwrap")
        with open(bwrap, "w") as f:
            f.write("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\n"
                    "exit 1\n")
        os.chmod(bwrap, 0o755)
        root = os.path.join(self.tmp, "autograder")
        F.reference_src("step1_shm", os.path.join(root, "submission"))
        with open(os.path.join(F.GRADER, "gradescope", "run_autograder")) as f:
            text = f.read()
        script = os.path.join(self.tmp, "run_autograder")
        with open(script, "w") as f:
            f.write(text.replace("/autograder/source/kit", F.KIT))
        tmpdir = os.path.join(self.tmp, "t")     # the grader's own directories
        os.makedirs(tmpdir)
        for d in (self.tmp, tmpdir):
            os.chmod(d, 0o711)
        p = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, GRADESCOPE_ROOT=root, OSPS_STEPS="1",
                                    OSPS_GRADER_BWRAP=bwrap, TMPDIR=tmpdir))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Creating new namespace failed", p.stderr)
        self.assertEqual(os.listdir(tmpdir), [], "the refused first run left its directories")
        with open(os.path.join(root, "results", "results.json")) as f:
            res = json.load(f)
        self.assertIn("WEAK ISOLATION", res["output"])
        self.assertAlmostEqual(res["score"], sum(t["max_score"] for t in res["tests"]), places=6)


class TwoSteps(unittest.TestCase):
    """A compile error in one step costs that step only."""

    def test_compile_error_costs_one_step(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(tmp, 0o711)
        try:
            kit = F.twin_kit(tmp)
            sub = os.path.join(tmp, "alice")
            for d in ("step1_shm", "step2_twin"):
                F.reference_src("step1_shm", os.path.join(sub, d, "src"))
            with open(os.path.join(sub, "step2_twin", "src", "d.c"), "a") as f:
                f.write("\nint broken(void) { return }\n")
            out = os.path.join(tmp, "out")
            p, _ = grade(["--kit", kit, "-j", "1", "-o", out, "--test-timeout", "10",
                          "--uid-base", str(UID_BASE), sub])
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "students", "alice", "details.json")) as f:
                d = json.load(f)
            s1, s2 = d["steps"]["step1_shm"], d["steps"]["step2_twin"]
            self.assertEqual(s1["score"]["score"], s1["score"]["max"])
            self.assertFalse(s2["build"]["ok"])
            self.assertIn("d", s2["build"]["missing"])
            self.assertTrue(any("step2_twin/src/d.c" in e and "error" in e for e in s2["build"]["errors"]))
            self.assertLess(s2["score"]["score"], s2["score"]["max"])
            report = open(os.path.join(out, "students", "alice", "report.md")).read()
            self.assertIn("### Build: failed", report)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Stress(unittest.TestCase):
    """--stress: the process tests under the kit's stress shim, built by
    the grader from the kit. The reference keeps full marks, a racy mutant
    of it (tests/races) loses points, and the seed is in every report."""

    SEED = 4242

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(cls.tmp, 0o711)
        subs = os.path.join(cls.tmp, "subs")
        ref = F.make(subs, "ref", step_dir="step3_watchdog")
        racy = F.racy_mutant(subs, "racy", "step3_watchdog", "setpgid-in-parent-only")
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc, cls.elapsed = grade(["-j", "2", "--steps", "3", "--stress", "--seed", str(cls.SEED),
                                       "-o", cls.out, "--uid-base", str(UID_BASE), ref, racy])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def read(self, who, name):
        with open(os.path.join(self.out, "students", who, name), encoding="utf-8") as f:
            return json.load(f) if name.endswith(".json") else f.read()

    def test_reference_keeps_full_marks_and_every_report_has_the_seed(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        self.assertIn(f"stress (seed {self.SEED})", self.proc.stdout)
        d = self.read("ref", "details.json")
        self.assertEqual(d["total"], d["max"], sorted(
            t["name"] for s in d["steps"]["step3_watchdog"]["suites"] for t in s["tests"]
            if t["status"] == "fail"))
        replay = f"STRESS=1 SEED={self.SEED}"
        for who in ("ref", "racy"):
            self.assertEqual(self.read(who, "details.json")["stress"], {"seed": self.SEED})
            self.assertIn(replay, self.read(who, "report.md"))
            self.assertIn(replay, self.read(who, "results.json")["output"])
        with open(os.path.join(self.out, "summary.json")) as f:
            self.assertEqual(json.load(f)["stress"], {"seed": self.SEED})

    def test_a_racy_submission_loses_points(self):
        d = self.read("racy", "details.json")
        self.assertLess(d["total"], d["max"])
        # not run again: a retry would give the race a second chance
        self.assertFalse(any("passed when run again" in n for s in d["steps"]["step3_watchdog"]["suites"]
                             for t in s["tests"] for n in t.get("notes", [])))
        failed = {t["name"] for s in d["steps"]["step3_watchdog"]["suites"] for t in s["tests"]
                  if t["status"] == "fail"}
        # Among the tests that meet its race (the patch's "tests:" line).
        with open(os.path.join(F.KIT, "tests", "races", "step3_watchdog",
                               "setpgid-in-parent-only.patch"), encoding="utf-8") as f:
            meets = next(l[len("tests: "):].strip() for l in f if l.startswith("tests: "))
        self.assertTrue(any(re.search(meets, n) for n in failed), failed)

    def test_a_seed_is_a_32_bit_number(self):
        p, _ = grade(["--seed", "-1", "--dry-run", self.tmp])
        self.assertEqual(p.returncode, 2)
        self.assertIn("--seed: a number from 0 to 4294967295", p.stderr)


class FeedbackLevels(unittest.TestCase):
    """The rubric's feedback levels, per group of tests, in every output:
    step 1 with 1.1 stubbed (its own tests fail, and the 1.2, 1.4 and 1.5
    tests that need it) graded with 1.5 hidden, 1.4 after the due date
    with its first message only, 1.2 visible without any failure text, the
    rest visible in full, each test's output capped at 300 bytes. Its kit
    declares that 1.2 and 1.4 need 1.1: the feedback names 1.1 as the root
    of their failures."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(cls.tmp, 0o711)
        sub = F.make(os.path.join(cls.tmp, "subs"), "stub", base=("stub", "1.1"))
        kit = F.prereq_kit(cls.tmp, "# a fixture\n1.2: 1.1  # why\n1.4: 1.1\n")
        rubric = small_rubric(os.path.join(cls.tmp, "rubric.ini"), output_cap=300)
        with open(rubric, "a") as f:
            f.write("feedback 1.5 = hidden\nfeedback 1.4 = after_due_date message\n"
                    "feedback 1.2 = visible none\n")
        cls.out = os.path.join(cls.tmp, "out")
        cls.proc, _ = grade(["-j", "1", "--steps", "1", "--kit", kit, "--rubric", rubric, "-o", cls.out,
                             "--test-timeout", "20", "--uid-base", str(UID_BASE), sub])
        d = os.path.join(cls.out, "students", "stub")
        with open(os.path.join(d, "details.json")) as f:
            cls.details = json.load(f)
        with open(os.path.join(d, "results.json")) as f:
            cls.results = json.load(f)
        with open(os.path.join(d, "report.md"), encoding="utf-8") as f:
            cls.report = f.read()
        with open(os.path.join(cls.out, "grades.csv"), newline="", encoding="utf-8") as f:
            cls.grades = list(csv.DictReader(f))
        cls.sr = cls.details["steps"]["step1_shm"]
        tests = [t for s in cls.sr["suites"] for t in s["tests"]]
        cls.failed = {ex: [t["name"] for t in tests if t["status"] == "fail" and t["name"].startswith(f"[{ex}]")]
                      for ex in ("1.2", "1.4", "1.5")}
        cls.gs = {t["name"][len("Step 1 "):]: t for t in cls.results["tests"] if t["name"].startswith("Step 1 [")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_00_the_groups_fail(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        for ex, names in self.failed.items():
            self.assertTrue(names, f"no failed test of {ex}: the fixture no longer fits")

    def test_hidden(self):
        from osps_grader import outputs, feedback
        steps = kitmod.Kit(F.KIT).select([1])
        for n in self.failed["1.5"]:
            self.assertEqual(self.gs[n]["visibility"], "hidden")     # Gradescope keeps it from students
            self.assertNotIn(n, self.report)
            for audience in ("graded", "early"):
                self.assertNotIn(n, feedback.step_text(self.sr, audience=audience))   # Moodle, VPL
                self.assertNotIn(n, outputs.report_md(self.details, steps, {}, audience))
        self.assertIn("hidden test(s) failed: their names and output are kept back", self.report)
        self.assertIn("| hidden tests |", self.report)
        classroom = json.dumps(cli_module().classroom_outputs(self.details, steps))
        self.assertNotIn("[1.5]", classroom)
        # The instructor's files keep everything; the grade is the same.
        self.assertTrue(all(n in json.dumps(self.details) for n in self.failed["1.5"]))
        row = next(r for r in self.grades if r["id"] == "stub")
        self.assertAlmostEqual(float(row["total"]), self.details["total"], delta=0.05)   # csv: 1 decimal
        self.assertAlmostEqual(self.results["score"], self.details["total"], places=2)

    def test_after_due_date(self):
        from osps_grader import outputs, feedback
        steps = kitmod.Kit(F.KIT).select([1])
        for n in self.failed["1.4"]:
            self.assertEqual(self.gs[n]["visibility"], "after_due_date")
            self.assertIn(n, self.report)                 # handed out with the grades
            self.assertNotIn(n, outputs.report_md(self.details, steps, {}, "early"))   # VPL
        self.assertNotIn("[1.4]", json.dumps(cli_module().classroom_outputs(self.details, steps)))

    def test_visible(self):
        for t in self.results["tests"]:
            name = t["name"][len("Step 1 "):]
            if not name.startswith(("[1.4]", "[1.5]")):
                self.assertEqual(t["visibility"], "visible", name)

    def test_detail_full(self):
        full = [t for n, t in self.gs.items() if t["status"] == "failed" and not n.startswith(("[1.2]", "[1.4]", "[1.5]"))]
        if not full:
            self.skipTest("no failed test outside the groups")
        self.assertTrue(all(len(t["output"].splitlines()) > 1 for t in full), full)

    def test_detail_message(self):
        for n in self.failed["1.4"]:
            out = self.gs[n]["output"].splitlines()
            self.assertEqual(len(out), 2, out)      # the root exercise, then the message
            self.assertTrue(out[1])
            self.assertNotIn("hint 1:", "\n".join(out))

    def test_the_root_exercise_is_named(self):
        from osps_grader import feedback
        roots = {"1.2": "1.2 needs 1.1, which fails too: fix 1.1 first",
                 "1.4": "1.4 needs 1.1, which fails too: fix 1.1 first"}
        self.assertEqual(self.sr["score"]["roots"], roots)
        text = feedback.step_text(self.sr)          # the summary, Moodle's feedback, VPL
        for ex, line in roots.items():
            self.assertIn(line, self.report)
            self.assertIn(f"\n    {line}", text)
        for n in self.failed["1.4"]:
            self.assertTrue(self.gs[n]["output"].startswith(roots["1.4"]), self.gs[n]["output"])

    def test_detail_none(self):
        for n in self.failed["1.2"]:
            self.assertEqual(self.gs[n]["output"], "")
            self.assertIn(n, self.report)
            section = self.report.split(f"#### {n}\n", 1)[1].split("####", 1)[0]
            self.assertNotIn("```", section)

    def test_output_is_capped_with_a_line_saying_how_much(self):
        outs = [t["output"] for t in self.results["tests"] if t["output"] and t["name"].startswith("Step 1 [")]
        self.assertTrue(outs)
        for o in outs:
            self.assertLessEqual(len(o.rsplit("\n", 1)[0].encode()), 300, o)
        cut = [o for o in outs if "more bytes cut: at most 300 per test" in o]
        self.assertTrue(cut, "no output was long enough to be cut")
        n = int(re.search(r"\[\.\.\. (\d+) more bytes cut", cut[0]).group(1))
        self.assertGreater(n, 0)


def cli_module():
    from osps_grader import cli
    return cli


class Valgrind(unittest.TestCase):
    """--valgrind unit: a definite leak in the module costs the penalty."""

    def test_a_leak_is_found_and_costs_points(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(tmp, 0o711)
        try:
            sub = F.make(tmp, "leaky", patch=F.on_create(F.LEAK))
            out = os.path.join(tmp, "out")
            p, _ = grade(["--steps", "1", "-j", "1", "--valgrind", "unit", "-o", out,
                          "--test-timeout", "10", "--uid-base", str(UID_BASE), sub])
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "students", "leaky", "details.json")) as f:
                sr = json.load(f)["steps"]["step1_shm"]
            self.assertGreater(sr["valgrind"]["failed"], 0)
            self.assertTrue(any("definitely lost" in " ".join(v["details"]) or "errors" in " ".join(v["details"])
                                for v in sr["valgrind"]["processes"]))
            self.assertTrue(any(x["what"].startswith("valgrind") for x in sr["score"]["penalties"]))
            self.assertEqual(sr["score"]["earned"], sr["score"]["max"])
            self.assertLess(sr["score"]["score"], sr["score"]["max"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Gradescope(unittest.TestCase):
    """--gradescope in Gradescope's layout, with loose files uploaded."""

    def test_gradescope_layout(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            root = os.path.join(tmp, "autograder")
            F.reference_src("step1_shm", os.path.join(tmp, "ref"))
            shutil.copytree(os.path.join(tmp, "ref"), os.path.join(root, "submission"))
            with open(os.path.join(root, "submission_metadata.json"), "w") as f:
                json.dump({"users": [{"email": "ada@example.edu", "name": "Ada", "sid": "s42"}]}, f)
            env = dict(os.environ, GRADESCOPE_ROOT=root)
            p = subprocess.run([GRADE, "--gradescope", "--steps", "1", "--test-timeout", "10",
                                "--uid-base", str(UID_BASE)],
                               capture_output=True, text=True, env=env, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(root, "results", "results.json")) as f:
                res = json.load(f)
            self.assertAlmostEqual(res["score"], sum(t["max_score"] for t in res["tests"]), places=6)
            self.assertGreater(res["score"], 0)
            self.assertEqual(res["output_format"], "md")
            self.assertIn("Feedback for s42", res["output"])
            zpath = os.path.join(tmp, "autograder.zip")
            subprocess.run([GRADE, "--make-gradescope-zip", zpath], check=True, capture_output=True)
            names = zipfile.ZipFile(zpath).namelist()
            self.assertIn("setup.sh", names)
            self.assertIn("run_autograder", names)
            self.assertIn("kit/grader/grade", names)
            self.assertFalse(any(n.startswith("kit/solutions/") for n in names))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Intake(unittest.TestCase):
    """Inputs: directories, archives, git --before, roster (no grading)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def read(self, path, **kw):
        return intake.read_submission(path, [STEP1], **kw)

    def test_files_in_a_subdirectory_of_src_are_taken(self):
        """Step 4's examples/ hold exercises (TD n°7): a learner's
        src/examples/echo_iter.c is graded, given in its folder or loose."""
        step4 = kitmod.Kit(F.KIT).steps[4].load()
        self.assertIn("examples/echo_iter.c", step4.src_files)
        d = os.path.join(self.tmp, "eve", "step4_client", "src", "examples")
        os.makedirs(d)
        for n in ("echo_iter.c", "extra.c"):
            with open(os.path.join(d, n), "w") as f:
                f.write("int x;\n")
        s = intake.read_submission(os.path.join(self.tmp, "eve"), [step4])
        self.assertEqual(s.taken, [("step4_client/src/examples/echo_iter.c",
                                    "step4_client/src/examples/echo_iter.c")])
        self.assertEqual(s.files["step4_client"], {"examples/echo_iter.c": b"int x;\n"})
        self.assertIn("not one of", dict(s.ignored)["step4_client/src/examples/extra.c"])
        loose = os.path.join(self.tmp, "fay")
        os.makedirs(loose)
        for n in ("echo_iter.c", "d.c"):
            with open(os.path.join(loose, n), "w") as f:
                f.write("int y;\n")
        s = intake.read_submission(loose, [step4])
        self.assertEqual(sorted(s.files["step4_client"]), ["d.c", "examples/echo_iter.c"])

    def test_tar_gz_with_a_top_folder_and_hostile_entries(self):
        p = os.path.join(self.tmp, "bob.tar.gz")
        with tarfile.open(p, "w:gz") as t:
            def add(name, data=b"int x;\n", kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name)
                info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
                t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
            add("kit-bob/step1_shm/src/d.c")
            add("kit-bob/step1_shm/src/w.c", kind=tarfile.SYMTYPE, link="/etc/passwd")
            add("../../etc/evil.c")
            add("kit-bob/step1_shm/src/extra.c")
            add("kit-bob/step1_shm/tests/step1.bats")
            add("kit-bob/step1_shm/ANSWERS.md", b"1.a: POSIX shm\n")
            add("kit-bob/step1_shm/src/shm_area.c", b"x" * (intake.MAX_FILE + 1))
            add("kit-bob/solutions/step1_shm/src/d.c")
        s = self.read(p)
        self.assertIsNone(s.error)
        self.assertEqual(s.id, "bob")
        self.assertEqual(s.taken, [("kit-bob/step1_shm/src/d.c", "step1_shm/src/d.c")])
        why = dict(s.ignored)
        self.assertIn("symbolic link", why["kit-bob/step1_shm/src/w.c"])
        self.assertIn("unsafe", why["../../etc/evil.c"])
        self.assertIn("not one of", why["kit-bob/step1_shm/src/extra.c"])
        self.assertIn("kit file", why["kit-bob/step1_shm/tests/step1.bats"])
        self.assertIn("too large", why["kit-bob/step1_shm/src/shm_area.c"])
        self.assertIn("kit-bob/solutions/step1_shm/src/d.c", why)
        self.assertEqual(s.answers["step1_shm"][1], b"1.a: POSIX shm\n")

    def test_zip_of_loose_files(self):
        p = os.path.join(self.tmp, "carol.zip")
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("d.c", "int d;\n")
            z.writestr("shm_area.c", "int s;\n")
            z.writestr("notes.txt", "hello\n")
        s = self.read(p)
        self.assertEqual(sorted(s.files["step1_shm"]), ["d.c", "shm_area.c"])
        self.assertIn("notes.txt", dict(s.ignored))

    def test_git_repository_before_a_deadline(self):
        repo = os.path.join(self.tmp, "dave")
        os.makedirs(os.path.join(repo, "step1_shm", "src"))
        env = dict(os.environ, GIT_AUTHOR_NAME="d", GIT_AUTHOR_EMAIL="d@x", GIT_COMMITTER_NAME="d",
                   GIT_COMMITTER_EMAIL="d@x")
        git = lambda *a, date: subprocess.run(["git", "-C", repo, *a], check=True, capture_output=True,
                                              env=dict(env, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date))
        git("init", "-q", date="2026-01-01T10:00:00")
        for content, date in (("int on_time;\n", "2026-03-01T10:00:00"), ("int late;\n", "2026-03-03T10:00:00")):
            with open(os.path.join(repo, "step1_shm", "src", "d.c"), "w") as f:
                f.write(content)
            git("add", "-A", date=date)
            git("commit", "-q", "-m", content.strip(), date=date)
        with open(os.path.join(repo, "step1_shm", "src", "d.c"), "w") as f:
            f.write("int uncommitted;\n")
        s = self.read(repo, before="2026-03-02")
        self.assertEqual(s.kind, "git")
        self.assertEqual(s.files["step1_shm"]["d.c"], b"int on_time;\n")
        self.assertEqual(self.read(repo).files["step1_shm"]["d.c"], b"int late;\n")
        self.assertIsNotNone(self.read(repo, before="2020-01-01").error)

    def test_roster_and_dry_run(self):
        sub = os.path.join(self.tmp, "osps-step1-ada-lovelace")
        os.makedirs(os.path.join(sub, "step1_shm", "src"))
        with open(os.path.join(sub, "step1_shm", "src", "d.c"), "w") as f:
            f.write("int d;\n")
        roster = os.path.join(self.tmp, "roster.csv")
        with open(roster, "w") as f:
            f.write("identifier,github_username,name,email\n"
                    "S001,ada-lovelace,Ada Lovelace,ada@example.edu\nS002,alan,Alan Turing,alan@example.edu\n")
        p, _ = grade(["--dry-run", "--steps", "1", "--roster", roster, sub])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("S001: dir", p.stdout)
        self.assertIn("take    step1_shm/src/d.c -> step1_shm/src/d.c", p.stdout)


class Streams(unittest.TestCase):
    """results.check_stream: what makes a suite's results untrusted."""

    tapsum = kitmod.kit_script(F.KIT, "tapsum")
    names = ["[1.1] a", "[1.2] b", "[run] c"]

    def check(self, text, ordered=True):
        return results.check_stream(self.tapsum, text, "s", self.names, ordered)

    def test_clean_stream(self):
        r, an = self.check("1..3\nok 1 [1.1] a\nnot ok 2 [1.2] b # timeout after 5s\n# oops\nok 3 [run] c\n")
        self.assertEqual([t.status for t in r], ["pass", "fail", "pass"])
        self.assertEqual(an, [])
        self.assertIn("# timeout after 5s", r[1].diag)

    def test_missing_tests_fail(self):
        r, an = self.check("1..3\nok 1 [1.1] a\n")
        self.assertEqual([t.status for t in r], ["pass", "fail", "fail"])
        self.assertIn("never reported", r[2].notes[0])

    def test_inserted_lines_fail_the_suite(self):
        for text in ("1..3\nok 1 [1.1] a\nok 2 [1.2] b\nnot ok 2 [1.2] b\nok 3 [run] c\n",
                     "1..3\nok 1 [1.1] a\nok 3 [run] c\nok 2 [1.2] b\n",
                     "1..3\nok 1 [1.1] a\nok 2 [1.2] b\nok 3 [run] c\nok 4 [1.4] bonus\n",
                     "1..3\n1..3\nok 1 [1.1] a\nok 2 [1.2] b\nok 3 [run] c\n",
                     "1..3\nok 2 [1.1] a\nok 1 [1.2] b\nok 3 [run] c\n"):
            r, an = self.check(text)
            self.assertTrue(an, text)
            self.assertTrue(all(t.status == "fail" for t in r), text)

    def test_unit_verdicts_say_which_signal_ended_a_test(self):
        # unit_shim.c: "SECRET N fail SIG" when a signal ended test N's
        # process (a CPU time limit's SIGXCPU is 24); the runner excuses
        # what such a test leaves behind. A forged line changes nothing.
        out = "# osps-test 1\nok 1 [1.1] a\n# osps-test 2\n# osps-test 3\n"
        r, an = results.check_unit(self.tapsum, out, "S 1 pass\nS 2 fail 24\nS 3 fail\n", "S",
                                   "s", self.names)
        self.assertEqual(an, [])
        self.assertEqual([t.status for t in r], ["pass", "fail", "fail"])
        self.assertEqual([t.killed for t in r], [0, 24, 0])
        r, an = results.check_unit(self.tapsum, out, "S 1 pass\nX 2 fail 24\n", "S", "s", self.names)
        self.assertTrue(an)
        self.assertEqual([t.killed for t in r], [0, 0, 0])

    def test_stray_text_is_not_a_result(self):
        r, an = self.check("1..3\nhello ok 1\nok 1 [1.1] a\ndebugok 2 [1.2] b\nok 3 [run] c\n")
        self.assertEqual([t.status for t in r], ["pass", "fail", "pass"])
        self.assertEqual(an, [])
        self.assertEqual(results.stray_output("hello\nok 1 x\n# c\n"), ["hello"])


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


class Leftovers(unittest.TestCase):
    """What the jail counts as left over does not depend on timing: a
    process that is already dying (stopped by the tests' teardown, or by
    the sandbox's end) never counts, and neither does one inside a
    sandbox when seen from outside (bwrap's own init may still be ending
    after bwrap returned: its supervisor inside does the counting)."""

    FREEZER = "/sys/fs/cgroup/freezer"

    def start(self, argv):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return p

    def test_a_dying_process_is_never_counted(self):
        # A process SIGKILLed in a frozen cgroup (v1 freezer) stays dying,
        # SIGKILL pending, until thawed: a deterministic "still exiting".
        from osps_grader import jail
        if not ROOT or not os.path.isdir(self.FREEZER):
            self.skipTest("needs root and the cgroup v1 freezer")
        cg = os.path.join(self.FREEZER, f"osps-grader-test-{os.getpid()}")
        os.makedirs(cg, exist_ok=True)
        self.addCleanup(lambda: os.path.isdir(cg) and os.rmdir(cg))
        thaw = lambda: write_file(os.path.join(cg, "freezer.state"), "THAWED")
        p = self.start(["sleep", "60"])
        self.addCleanup(thaw)           # cleanups run last first: thawed, then killed
        write_file(os.path.join(cg, "cgroup.procs"), str(p.pid))
        write_file(os.path.join(cg, "freezer.state"), "FROZEN")
        self.assertNotEqual(jail.proc_table()[p.pid][2], "K")   # frozen: still alive
        os.kill(p.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while jail.proc_table()[p.pid][2] != "K" and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(jail.proc_table()[p.pid][2], "K")
        self.assertNotIn(p.pid, [x["pid"] for x in jail.still_running(os.getpid())])
        timer = threading.Timer(0.5, thaw)
        timer.start()
        found = jail.kill_everything(os.getpid(), None, [])
        timer.join()
        self.assertEqual(found, {})
        p.wait(timeout=5)

    def test_a_process_inside_a_sandbox_is_not_counted_from_outside(self):
        from osps_grader import jail
        if not ROOT:
            self.skipTest("needs root (a pid namespace without a user namespace)")
        p = self.start(["unshare", "--pid", "--fork", "sleep", "60"])
        me, inner = os.getpid(), None
        deadline = time.monotonic() + 5
        while inner is None and time.monotonic() < deadline:
            inner = next((pid for pid, row in jail.leftovers(me, None, []).items()
                          if row[0] == p.pid and jail.cmdline(pid) == "sleep 60"), None)
            time.sleep(0.05)
        self.assertIsNotNone(inner, "unshare's child never started")
        found = jail.kill_everything(me, None, [], outside_only=True)
        self.assertEqual([row[4] for row in found.values()], ["unshare --pid --fork sleep 60"])
        # killed all the same: gone, dying or a zombie waiting for its parent
        self.assertIn(jail.proc_table().get(inner, (0, 0, "Z"))[2], "ZXK")


class Rubric(unittest.TestCase):
    def test_points_are_shared_per_exercise_and_overridable(self):
        path = os.path.join(tempfile.mkdtemp(prefix="osps-grader-test-"), "r.ini")
        with open(path, "w") as f:
            f.write("[grading]\nexercise_points = 6\nrun_points = 4\n"
                    "[step1]\nweight = 2\n1.2 = 9\ntest [1.2] first = 5\n")
        try:
            rb = scoring.Rubric(path)
            pts = scoring.points_per_test(rb, STEP1, ["[1.1] a", "[1.1] b", "[1.2] first",
                                                      "[1.2] x", "[1.2] y", "[run] z"])
            self.assertEqual(pts, {"[1.1] a": 3, "[1.1] b": 3, "[1.2] first": 5,
                                   "[1.2] x": 2, "[1.2] y": 2, "[run] z": 4})
            sr = {"suites": [{"tests": [{"name": "[1.1] a", "status": "pass"},
                                        {"name": "[1.1] b", "status": "fail"},
                                        {"name": "[run] z", "status": "skip"}]}],
                  "build": {"warnings": ["w1", "w2"]}, "leftovers": [{}], "valgrind": None}
            s = scoring.score_step(rb, STEP1, sr)
            # A skip counts in the maximum and earns nothing: (3 + 3 + 4) x 2.
            self.assertEqual(s["max"], 20)
            self.assertEqual(s["score"], 0)                  # 3 - 2 warnings - 2 leftover, x 2
            self.assertEqual(scoring.Rubric(os.path.join(F.GRADER, "rubric.ini")).weight(STEP1), 1)
        finally:
            shutil.rmtree(os.path.dirname(path))

    def test_feedback_levels_last_matching_line_wins(self):
        path = os.path.join(tempfile.mkdtemp(prefix="osps-grader-test-"), "r.ini")
        self.addCleanup(shutil.rmtree, os.path.dirname(path))
        with open(path, "w") as f:
            f.write("[grading]\ndetail = message\n[step1]\nfeedback * = after_due_date\n"
                    "feedback 1.2, run = hidden none\nfeedback /^\\[1\\.2\\] keep/ = visible\n")
        rb = scoring.Rubric(path)
        self.assertEqual(rb.feedback_level(STEP1, "[1.1] a"), ("after_due_date", "message"))
        self.assertEqual(rb.feedback_level(STEP1, "[1.2] b"), ("hidden", "none"))
        self.assertEqual(rb.feedback_level(STEP1, "[run] c"), ("hidden", "none"))
        self.assertEqual(rb.feedback_level(STEP1, "[1.2] keep it"), ("visible", "none"))
        for bad in ("feedback 1.1 = secret\n", "feedback 1.1 = hidden some\n", "feedback /(/ = hidden\n"):
            with open(path, "w") as f:
                f.write("[step1]\n" + bad)
            with self.assertRaises(scoring.RubricError, msg=bad):
                scoring.Rubric(path)


class StaticChecks(unittest.TestCase):
    """What the compiler sees, however it is spelled: digraphs, an #if 0
    around a comment, macros defined in a header, includes from outside."""

    def scan(self, files):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            src = os.path.join(tmp, "src")
            os.makedirs(src)
            for n in STEP1.src_files:
                shutil.copy(os.path.join(F.KIT, "step1_shm", "src", n), src)
            for n, data in files.items():
                with open(os.path.join(src, n), "wb") as f:
                    f.write(data)
            script = checks.preprocess_script(STEP1, files, src, F.KIT)
            out = subprocess.run(["sh", "-c", script], cwd=F.KIT, capture_output=True, text=True).stdout
            return [(f.kind, f.file, f.message) for f in checks.scan_sources(STEP1, files, F.KIT, src, out)]
        finally:
            shutil.rmtree(tmp)

    def test_sources(self):
        found = self.scan({"shm_area.h": b"#define assert_true(x) 1\n#include \"/etc/hostname\"\n"
                                         b"#pragma GCC diagnostic ignored \"-Wall\"\n#define MY_OWN 3\n",
                           "d.c": b"#include <sys/mman.h>\n#include \"../../../../etc/hostname\"\n"})
        self.assertTrue(any(k == "untrusted" and "assert_true" in m for k, _, m in found), found)
        self.assertTrue(any(k == "untrusted" and "/etc/hostname" in m and f.endswith("shm_area.h")
                            for k, f, m in found), found)
        self.assertTrue(any(k == "untrusted" and "etc/hostname" in m and f.endswith("d.c")
                            for k, f, m in found), found)
        self.assertTrue(any(k == "warning" for k, _, _ in found))
        self.assertFalse(any("MY_OWN" in m for _, _, m in found))

    def test_hidden_spellings(self):
        """A digraph, an #include between #if 0 "/*" ... "*/" lines (a text
        scan takes it for a comment), a %:define of the assertions."""
        header = open(os.path.join(F.KIT, "step1_shm", "src", "shm_area.h"), "rb").read()
        i = header.rindex(b"#endif")
        tricks = (b'#if 0\n"/*"\n#endif\n#include "/etc/hostname"\n#if 0\n"*/"\n#endif\n'
                  b"%:define assert_int_equal(a, b) ((void)0)\n"
                  b"%:pragma GCC diagnostic ignored \"-Wunused\"\n")
        found = self.scan({"shm_area.h": header[:i] + tricks + header[i:],
                           "d.c": b"%:include \"/etc/hostname\"\nint main(void) { return 0; }\n"})
        msgs = [(f, m) for k, f, m in found if k == "untrusted"]
        self.assertTrue(any("assert_int_equal" in m for _, m in msgs), found)
        self.assertTrue(any("/etc/hostname" in m and f.endswith("shm_area.h") for f, m in msgs), found)
        self.assertTrue(any("/etc/hostname" in m and f.endswith("d.c") for f, m in msgs), found)
        self.assertTrue(any(k == "warning" for k, _, _ in found), found)
        # The reference itself raises nothing.
        ref = os.path.join(tempfile.mkdtemp(prefix="osps-grader-test-"), "src")
        F.reference_src("step1_shm", ref)
        files = {n: open(os.path.join(ref, n), "rb").read() for n in os.listdir(ref)}
        shutil.rmtree(os.path.dirname(ref))
        self.assertEqual(self.scan(files), [])

    def test_objects(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            src = os.path.join(tmp, "shm_area.c")
            with open(src, "w") as f:
                f.write("#include <stdio.h>\nint printf(const char *f, ...) { (void)f; return 0; }\n"
                        "__attribute__((constructor)) static void early(void) {}\n"
                        "int fork(void) { return 0; }\n")
            subprocess.run(["cc", "-c", src, "-o", src[:-2] + ".o"], check=True)
            found = [f.message for f in checks.scan_objects(STEP1, {"shm_area.c": src[:-2] + ".o"})]
            self.assertTrue(any("printf" in m for m in found), found)
            self.assertTrue(any("fork" in m for m in found), found)
            self.assertTrue(any("before main" in m for m in found), found)
        finally:
            shutil.rmtree(tmp)


class KitDiscovery(unittest.TestCase):
    """The expected test names the grader reads from every ready step's
    sources are the names its programs print (the reference's run)."""

    def test_expected_names_match_the_reference(self):
        kit = kitmod.Kit(F.KIT)
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            for step in kit.select():
                src = os.path.join(tmp, step.dir)
                F.reference_src(step.dir, src)
                out = os.path.join(tmp, "build-" + step.dir)
                subprocess.run(["make", "-s", "-f", "mk/step.mk", f"STEP={step.dir}", f"SRC={src}",
                                f"OUT={out}", "NO_WERROR=1", "unit"], cwd=F.KIT, check=True,
                               capture_output=True, timeout=300)
                for s in step.suites:
                    if s.kind == "unit":
                        p = subprocess.run([os.path.join(out, s.name)], capture_output=True, text=True,
                                           env=dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP"), timeout=120)
                        printed = [re.sub(r"^(not )?ok \d+ - ", "", l) for l in p.stdout.splitlines()
                                   if re.match(r"^(not )?ok [1-9]", l)]
                        self.assertEqual(printed, s.expected(), f"{step.dir} {s.name}")
                    else:
                        count = subprocess.run(["bats", "--count", os.path.join(F.KIT, s.source)],
                                               capture_output=True, text=True).stdout.strip()
                        self.assertEqual(int(count), len(s.expected()), f"{step.dir} {s.name}")
                    for n in s.expected():
                        self.assertNotEqual(kitmod.exercise_of(n), "?", f"{s.name}: {n!r} names no exercise")
        finally:
            shutil.rmtree(tmp)


class HostileGit(unittest.TestCase):
    """A git submission is read as objects: its filters, hooks, core.*
    settings, includes, alternates and links are never run nor followed,
    even by --dry-run."""

    def test_nothing_of_the_repository_runs_or_is_obeyed(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            mark = os.path.join(tmp, "MARK")
            other = os.path.join(tmp, "other")
            repo = os.path.join(tmp, "eve")
            src = os.path.join(repo, "step1_shm", "src")
            os.makedirs(src)
            env = dict(os.environ, GIT_AUTHOR_NAME="e", GIT_AUTHOR_EMAIL="e@x", GIT_COMMITTER_NAME="e",
                       GIT_COMMITTER_EMAIL="e@x", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
            git = lambda *a, cwd=repo: subprocess.run(["git", "-C", cwd, *a], check=True,
                                                      capture_output=True, env=env)
            # Another repository whose objects an alternates file would lend.
            os.makedirs(other)
            git("init", "-q", cwd=other)
            with open(os.path.join(other, "secret.c"), "w") as f:
                f.write("int secret;\n")
            git("add", "-A", cwd=other)
            git("commit", "-qm", "x", cwd=other)
            git("init", "-q")
            with open(os.path.join(src, "d.c"), "w") as f:
                f.write("int committed;\n")
            with open(os.path.join(repo, ".gitattributes"), "w") as f:
                f.write("* filter=evil diff=evil\n*.c export-subst\n")
            os.symlink("/etc/passwd", os.path.join(src, "w.c"))
            git("add", "-A")
            git("commit", "-qm", "work")
            touch = f"touch {mark}"
            with open(os.path.join(repo, ".git", "config"), "a") as f:
                f.write(f'[filter "evil"]\n\tclean = {touch}\n\tsmudge = {touch}\n\trequired = true\n'
                        f'[diff "evil"]\n\ttextconv = {touch}\n[core]\n\tfsmonitor = {touch}\n'
                        f'\tpager = {touch}\n\tsshCommand = {touch}\n[include]\n\tpath = /etc/shadow\n'
                        f'[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {touch}\n')
            for hook in ("post-checkout", "pre-commit", "reference-transaction", "post-index-change"):
                path = os.path.join(repo, ".git", "hooks", hook)
                with open(path, "w") as f:
                    f.write(f"#!/bin/sh\n{touch}\n")
                os.chmod(path, 0o755)
            with open(os.path.join(repo, ".git", "objects", "info", "alternates"), "w") as f:
                f.write(os.path.join(other, ".git", "objects") + "\n")
            s = intake.read_submission(repo, [STEP1])
            self.assertIsNone(s.error)
            self.assertEqual(s.files["step1_shm"]["d.c"], b"int committed;\n")
            self.assertNotIn("w.c", s.files["step1_shm"])
            self.assertIn("symbolic link", dict(s.ignored)["step1_shm/src/w.c"])
            p, _ = grade(["--dry-run", "--steps", "1", repo])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(os.path.exists(mark), "a command of the submission ran")
            # A .git that is a file (a worktree pointing elsewhere) is not followed.
            wt = os.path.join(tmp, "mallory")
            os.makedirs(wt)
            with open(os.path.join(wt, ".git"), "w") as f:
                f.write(f"gitdir: {os.path.join(other, '.git')}\n")
            self.assertIn("not a directory", intake.read_submission(wt, [STEP1]).error)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class LogsAreNotFollowed(unittest.TestCase):
    """The grader reads the tests' logs from directories the submission
    writes: a link there (to /etc/shadow) or a FIFO is never read."""

    def test_links_and_fifos_in_the_logs(self):
        from osps_grader import runner
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            secret = os.path.join(tmp, "secret")
            with open(secret, "w") as f:
                f.write("the instructor's secret\n")
            os.makedirs(os.path.join(tmp, "t"))
            os.symlink(secret, os.path.join(tmp, "t", "d.log"))
            os.mkfifo(os.path.join(tmp, "t", "w.log"))
            with open(os.path.join(tmp, "t", "x.log"), "w") as f:
                f.write("   1.0 x[12] a real line\n")
            self.assertEqual(runner.tail_lines(os.path.join(tmp, "t", "d.log"), 5), [])
            logs = runner.test_logs(os.path.join(tmp, "t"))
            self.assertEqual(list(logs), ["x[12]"])
        finally:
            shutil.rmtree(tmp)
