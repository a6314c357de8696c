"""Similarity between submissions: grader/similar and grader/grade
--similarity, on a class made from the kit at test time.

The class (step 1): ana hands in the reference; bruno, ana's code with
identifiers renamed and functions in another order; chloe, a solution of
her own (similar_fixtures.ALT_STEP1), which passes the step's tests;
skel1 and skel2, the untouched skeleton. Only ana and bruno may be
flagged, and they must come first.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures as F  # noqa: E402
import similar_fixtures as SF  # noqa: E402
from osps_grader import intake, similarity  # noqa: E402
from osps_grader import kit as kitmod  # noqa: E402

SIMILAR = os.path.join(F.GRADER, "similar")
GRADE = os.path.join(F.GRADER, "grade")
STEP = "step1_shm"


def make_class(root):
    subs = {}
    for who in ("ana", "chloe", "skel1", "skel2"):
        subs[who] = os.path.join(root, who)
    F.reference_src(STEP, os.path.join(subs["ana"], STEP, "src"))
    SF.alternative_src(STEP, SF.ALT_STEP1, os.path.join(subs["chloe"], STEP, "src"))
    F.skeleton_src(STEP, os.path.join(subs["skel1"], STEP, "src"))
    F.skeleton_src(STEP, os.path.join(subs["skel2"], STEP, "src"))
    subs["bruno"] = os.path.join(root, "bruno")
    SF.disguised_copy(os.path.join(subs["ana"], STEP, "src"), os.path.join(subs["bruno"], STEP, "src"))
    return subs


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class SimilarClass(unittest.TestCase):
    """grader/similar run once on the class, its outputs read back."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-similar-test-")
        cls.subs = make_class(os.path.join(cls.tmp, "class"))
        cls.out = os.path.join(cls.tmp, "out")
        os.makedirs(cls.out)
        # A grades.csv as grader/grade writes it: the column is added to it.
        cls.grades = [["id", "name", "email", STEP, "total", "max", "percent", "status"]] + [
            [who, "", "", "20", "20", "40", "50.0", "graded"] for who in sorted(cls.subs)]
        with open(os.path.join(cls.out, "grades.csv"), "w", newline="") as f:
            csv.writer(f).writerows(cls.grades)
        cls.proc = subprocess.run([SIMILAR, "--steps", "1", "-o", cls.out,
                                   *[cls.subs[w] for w in ("skel1", "ana", "chloe", "bruno", "skel2")]],
                                  capture_output=True, text=True, timeout=120)
        cls.rows = read_csv(os.path.join(cls.out, "similarity.csv"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pair(self, a, b):
        return next((r for r in self.rows if {r["id_a"], r["id_b"]} == {a, b}), None)

    def test_runs(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("1 flagged", self.proc.stdout)

    def test_the_disguised_copy_is_ranked_first_and_flagged(self):
        first = self.rows[0]
        self.assertEqual({first["id_a"], first["id_b"]}, {"ana", "bruno"}, self.rows)
        self.assertEqual((first["rank"], first["flagged"]), ("1", "yes"))
        self.assertGreaterEqual(float(first["shared_percent"]), 80)

    def test_an_independent_solution_is_not_flagged(self):
        for other in ("ana", "bruno"):
            r = self.pair("chloe", other)
            self.assertTrue(r is None or (r["flagged"] == "no" and float(r["shared_percent"]) < 25),
                            r)

    def test_the_skeleton_shares_nothing_of_its_own(self):
        """The skeleton's text is everyone's: two untouched skeletons, or a
        skeleton and a solution, are no pair at all."""
        for r in self.rows:
            self.assertFalse({r["id_a"], r["id_b"]} & {"skel1", "skel2"}, r)
        self.assertEqual([r for r in self.rows if r["flagged"] == "yes"], self.rows[:1])

    def test_the_report_shows_the_shared_regions_side_by_side(self):
        with open(os.path.join(self.out, "similarity.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("| 1 | ana | bruno |", md)
        # ana's shm_area_open() block next to bruno's, renamed (st_x...).
        line = next(l for l in md.splitlines() if "fstat(fd, &st)" in l)
        self.assertRegex(line.split(" | ", 1)[1], r"fstat\(fd, &st_\w+\)")

    def test_grades_csv_gets_the_flags_and_keeps_the_scores(self):
        rows = read_csv(os.path.join(self.out, "grades.csv"))
        by_id = {r["id"]: r for r in rows}
        self.assertRegex(by_id["ana"]["similarity"], r"^bruno \d+\.\d%$")
        self.assertRegex(by_id["bruno"]["similarity"], r"^ana \d+\.\d%$")
        for who in ("chloe", "skel1", "skel2"):
            self.assertEqual(by_id[who]["similarity"], "")
        for row, before in zip(rows, self.grades[1:]):
            self.assertEqual([row[k] for k in self.grades[0]], before)

    def test_a_second_run_updates_the_column_instead_of_adding_one(self):
        out = os.path.join(self.tmp, "again")
        shutil.copytree(self.out, out)
        p = subprocess.run([SIMILAR, "--steps", "1", "-o", out, self.subs["ana"], self.subs["chloe"]],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "grades.csv"), newline="") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], self.grades[0] + ["similarity"])
        self.assertEqual({r[-1] for r in rows[1:]}, {""})      # ana alone now: no flag


class Independence(unittest.TestCase):
    def test_the_independent_solution_passes_the_step(self):
        """chloe's step 1 is a solution, not a decoy: every test passes."""
        with tempfile.TemporaryDirectory(prefix="osps-similar-test-") as tmp:
            src = os.path.join(tmp, "src")
            SF.alternative_src(STEP, SF.ALT_STEP1, src)
            b = subprocess.run(["make", "-s", "--no-print-directory", "-f", "mk/step.mk",
                                f"STEP={STEP}", f"SRC={src}", f"OUT={tmp}/build", "all", "unit"],
                               cwd=F.KIT, capture_output=True, text=True)
            self.assertEqual(b.returncode, 0, b.stderr[-2000:])
            r = subprocess.run([os.path.join(F.KIT, "scripts", "run-tests.sh"), STEP,
                                f"{tmp}/build", f"{tmp}/res"], cwd=F.KIT, capture_output=True,
                               text=True, stdin=subprocess.DEVNULL, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout[-3000:])
            self.assertRegex(r.stdout, r"\n\d+ passed, 0 failed")

    def test_learner_files_are_read_never_run(self):
        """The only program similarity starts is sim_c, on text files."""
        calls = []
        real = subprocess.run

        def spy(cmd, *args, **kw):
            calls.append(cmd[0])
            return real(cmd, *args, **kw)
        with tempfile.TemporaryDirectory(prefix="osps-similar-test-") as tmp:
            subs = make_class(os.path.join(tmp, "class"))
            steps = kitmod.Kit(F.KIT).select([1])
            read = [intake.read_submission(p, steps) for p in subs.values()]
            similarity.subprocess.run = spy
            try:
                rows, flags = similarity.report(os.path.join(tmp, "out"), read, steps,
                                                similarity.Options())
            finally:
                similarity.subprocess.run = real
        self.assertEqual(set(calls), {"sim_c"})
        self.assertEqual(len(flags), 2)


class GradeSimilarity(unittest.TestCase):
    def test_grade_similarity_flags_a_pair_in_grades_csv_without_changing_scores(self):
        tmp = tempfile.mkdtemp(prefix="osps-similar-test-")
        os.chmod(tmp, 0o711)        # the sandboxes' uids reach --work below
        try:
            ana = os.path.join(tmp, "ana")
            F.reference_src(STEP, os.path.join(ana, STEP, "src"))
            bruno = os.path.join(tmp, "bruno")
            SF.disguised_copy(os.path.join(ana, STEP, "src"), os.path.join(bruno, STEP, "src"),
                              reorder=False)    # renamed only: a copy that builds
            out = os.path.join(tmp, "out")
            p = subprocess.run([GRADE, "-j", "2", "--steps", "1", "--similarity", "60",
                                "--work", os.path.join(tmp, "work"), "-o", out,
                                "--uid-base", "60400", ana, bruno],
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
            self.assertIn("similarity: 1 pair(s) share code, 1 flagged", p.stdout)
            rows = {r["id"]: r for r in read_csv(os.path.join(out, "grades.csv"))}
            self.assertRegex(rows["ana"]["similarity"], r"^bruno \d")
            for r in rows.values():
                self.assertEqual(r["total"], r["max"], r)     # both full marks, still
            self.assertTrue(os.path.exists(os.path.join(out, "similarity.md")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_a_bad_threshold_is_refused_before_any_grading(self):
        p = subprocess.run([GRADE, "--similarity", "0", "--steps", "1", "/nonexistent"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("similarity threshold 0.0", p.stderr)


if __name__ == "__main__":
    unittest.main()
