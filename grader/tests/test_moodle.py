"""The grader on an instructor's Moodle day: a roster exported by Moodle
(French and English, with names and ids holding , ; " + = and accents),
"Download all submissions" laid out as Moodle lays it out, the import file
for Moodle, re-grading into an existing output, VPL, and the other
platforms' files for a partial assignment. Everything written is read
back with Python's csv and json.

MoodleDay grades one small class (step 1 only: the reference in a zip, the
skeleton as loose files), re-grades one student into it, and runs --vpl on
both; the other classes build nothing.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures as F  # noqa: E402
from osps_grader import cli, feedback, intake, moodle, outputs, scoring  # noqa: E402
from osps_grader import roster as R  # noqa: E402

GRADE = os.path.join(F.GRADER, "grade")
UID_BASE = 60150        # not the uids of test_grader.py's classes

# The class: names and ids with every character that breaks a naive CSV.
FR_ROSTER = ('"Prénom","Nom","Numéro d\'identification","Adresse de courriel"\n'
             '"Chloé","Lefèvre","+33=1","chloe.lefevre@example.fr"\n'
             '"Jean, ""Jo""","Dupont; Martin","=2+2","jean@example.fr"\n'
             '"Gaëlle","Noël","E-3;4","gaelle@example.fr"\n'
             '"Zoé","Sans-Clé","","zoe@example.fr"\n')
EN_ROSTER = ("First name,Last name,ID number,Email address,Institution\n"
             "Chloé,Lefèvre,+33=1,chloe.lefevre@example.fr,U\n"
             '"Jean, ""Jo""","Dupont; Martin",=2+2,jean@example.fr,U\n')
CHLOE = "Chloé Lefèvre_4183_assignsubmission_file_"
JEAN = 'Jean, "Jo" Dupont; Martin_4190_assignsubmission_file_'


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def zip_dir(src, dest, arc=""):
    with zipfile.ZipFile(dest, "w") as z:
        for dp, _, fn in os.walk(src):
            for f in sorted(fn):
                full = os.path.join(dp, f)
                z.write(full, os.path.join(arc, os.path.relpath(full, src)))
    return dest


def moodle_download(tmp, chloe="reference", jean="skeleton"):
    """Moodle's download-all zip, as Moodle lays it out: one folder per
    student and plugin, the uploaded files inside (Chloé: one zip of her
    kit; Jean: loose .c/.h files), plus a student with only online text,
    one the roster does not know, and one who uploaded a PDF."""
    root = os.path.join(tmp, "download")
    work = os.path.join(tmp, "parts")
    kit = os.path.join(work, "chloe-kit", "step1_shm", "src")
    (F.reference_src if chloe == "reference" else F.skeleton_src)("step1_shm", kit)
    zip_dir(os.path.join(work, "chloe-kit"), os.path.join(work, "TP_chloe.zip"), "osps-kit")
    os.makedirs(os.path.join(root, CHLOE))
    shutil.copy(os.path.join(work, "TP_chloe.zip"), os.path.join(root, CHLOE, "TP_chloe.zip"))
    (F.skeleton_src if jean == "skeleton" else F.reference_src)("step1_shm", os.path.join(work, "jean"))
    shutil.copytree(os.path.join(work, "jean"), os.path.join(root, JEAN))
    write(os.path.join(root, "Gaëlle Noël_4191_assignsubmission_onlinetext_", "onlinetext.html"), "<p>fini</p>")
    write(os.path.join(root, "Ivan Inconnu_4200_assignsubmission_file_", "d.c"), "int main(void) { return 0; }\n")
    write(os.path.join(root, "Zoé Sans-Clé_4201_assignsubmission_file_", "rapport.pdf"), "%PDF-1.4\n")
    return zip_dir(root, os.path.join(tmp, "OSPS-TP1-Step1-4321.zip"))


def read_csv(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f, delimiter=delimiter))


class Roster(unittest.TestCase):
    """Rosters as the platforms export them; nothing is built."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def roster(self, text, key=None, encoding="utf-8"):
        p = os.path.join(self.tmp, "r.csv")
        with open(p, "w", encoding=encoding) as f:
            f.write(text)
        return R.Roster(p, key)

    def test_moodle_french_and_english_exports(self):
        for text in (FR_ROSTER, EN_ROSTER):
            r = self.roster(text)
            self.assertEqual(r.key, "idnumber")
            self.assertEqual(r.rows[0]["key"], "+33=1")
            self.assertEqual(r.rows[0]["display"], "Chloé Lefèvre")
            self.assertEqual(r.rows[1]["display"], 'Jean, "Jo" Dupont; Martin')
            self.assertEqual(r.rows[1]["key"], "=2+2")
            self.assertEqual(r.rows[1]["email"], "jean@example.fr")

    def test_semicolon_roster_and_byte_order_mark(self):
        text = ('"Prénom";"Nom";"Numéro d\'identification";"Adresse de courriel"\n'
                '"Chloé";"Lefèvre";"+33=1";"c@x.fr"\n')
        r = self.roster(text, encoding="utf-8-sig")
        self.assertEqual((r.rows[0]["display"], r.rows[0]["key"]), ("Chloé Lefèvre", "+33=1"))

    def test_key_by_flag_or_header(self):
        self.assertEqual(self.roster(FR_ROSTER, "email").rows[0]["key"], "chloe.lefevre@example.fr")
        no_ids = "First name,Last name,ID number,Email address\nA,B,,a@x\nC,D,,c@x\n"
        self.assertEqual(self.roster(no_ids).key, "email")
        with self.assertRaises(R.RosterError):
            self.roster(FR_ROSTER, "username")
        r = self.roster(FR_ROSTER)
        self.assertEqual([x["display"] for x in r.without_key()], ["Zoé Sans-Clé"])

    def test_classroom_and_gradescope_rosters(self):
        gh = self.roster("identifier,github_username,github_id,name\n"
                         "chloe@x.fr,chloe-l,123,Chloé Lefèvre\n")
        self.assertEqual((gh.key, gh.rows[0]["key"], gh.rows[0]["display"]),
                         ("idnumber", "chloe@x.fr", "Chloé Lefèvre"))
        self.assertIs(gh.match("osps-step1-chloe-l"), gh.rows[0])
        self.assertEqual(self.roster("identifier,github_username,github_id,name\n"
                                     "chloe@x.fr,chloe-l,123,Chloé\n", "username").rows[0]["key"], "chloe-l")
        gs = self.roster("First Name,Last Name,SID,Email,Role,Sections\nChloé,Lefèvre,S+1,c@x.fr,Student,\n")
        self.assertEqual((gs.rows[0]["key"], gs.rows[0]["display"]), ("S+1", "Chloé Lefèvre"))

    def test_not_utf8_is_refused_with_one_line(self):
        with self.assertRaises(R.RosterError) as e:
            self.roster(FR_ROSTER, encoding="latin-1")
        self.assertIn("UTF-8", str(e.exception))

    def test_every_csv_cell_is_safe(self):
        for bad in ("=1+1", "+33", "-x", "-2", "@SUM(A1)", "\tx", "\rx"):
            self.assertEqual(R.safe_cell(bad), "'" + bad)
        for ok in ("2.5", "Chloé", "a,b;c\"d", "a=b", ""):
            self.assertEqual(R.safe_cell(ok), ok)
        self.assertEqual(R.safe_folder('Jean, "Jo" Dupont; Martin'), "Jean___Jo__Dupont__Martin")
        self.assertEqual(R.safe_folder("Chloé"), "Chloé")
        self.assertEqual(R.safe_folder("+33=1"), "33_1")
        self.assertEqual(R.safe_folder("../=x"), "x")

    def test_grades_csv_keys_names_and_escaping(self):
        r = self.roster(FR_ROSTER)
        res = [{"id": "x", "key": r.rows[1]["key"], "name": r.rows[1]["display"], "email": "j@x",
                "steps": {}, "total": 0, "max": 0}]
        missing = [{"id": "g", "key": "E-3;4", "name": "Gaëlle Noël", "email": "g@x"}]
        p = os.path.join(self.tmp, "grades.csv")
        outputs.write_csv(p, res, [], missing)
        rows = read_csv(p)
        self.assertEqual(rows[1][:3], ["'=2+2", 'Jean, "Jo" Dupont; Martin', "j@x"])
        self.assertEqual(rows[2][:2], ["E-3;4", "Gaëlle Noël"])
        self.assertEqual(rows[2][-1], "missing")


class Layout(unittest.TestCase):
    """Moodle's download-all, as a folder and as a zip; nothing is built."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        cls.zip = moodle_download(cls.tmp)
        cls.roster = os.path.join(cls.tmp, "roster.csv")
        write(cls.roster, FR_ROSTER)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_entries_of_the_zip_and_of_the_folder(self):
        for src in (self.zip, os.path.join(self.tmp, "download")):
            self.assertTrue(moodle.is_layout(src))
            work = tempfile.mkdtemp(dir=self.tmp)
            es = {e.pid: e for e in moodle.entries(src, work)}
            self.assertEqual(sorted(es), ["4183", "4190", "4191", "4200", "4201"])
            self.assertEqual(es["4183"].name, "Chloé Lefèvre")
            self.assertTrue(es["4183"].source.endswith("TP_chloe.zip"))
            self.assertEqual(es["4190"].name, 'Jean, "Jo" Dupont; Martin')
            self.assertTrue(os.path.isdir(es["4190"].source))
            self.assertIn("no file submitted", es["4191"].problem)
            self.assertIn("rapport.pdf", es["4201"].problem)
        self.assertFalse(moodle.is_layout(os.path.join(self.tmp, "parts", "TP_chloe.zip")))

    def test_the_older_flat_layout(self):
        flat = os.path.join(self.tmp, "flat")
        write(os.path.join(flat, "Chloé Lefèvre_4183_assignsubmission_file_d.c"), "int d;\n")
        write(os.path.join(flat, "Chloé Lefèvre_4183_assignsubmission_file_w.c"), "int w;\n")
        shutil.copy(os.path.join(self.tmp, "parts", "TP_chloe.zip"),
                    os.path.join(flat, "Jean Dupont_4190_assignsubmission_file_TP.zip"))
        es = {e.pid: e for e in moodle.entries(flat, tempfile.mkdtemp(dir=self.tmp))}
        self.assertEqual(os.path.basename(es["4190"].source), "TP.zip")
        step = F.kitmod.Kit(F.KIT).steps[1].load()
        sub = intake.read_submission(es["4183"].source, [step])
        self.assertEqual(sorted(sub.files["step1_shm"]), ["d.c", "w.c"])
        self.assertTrue(os.path.exists(os.path.join(flat, "Chloé Lefèvre_4183_assignsubmission_file_d.c")))

    def test_one_students_folder_given_alone(self):
        folder = os.path.join(self.tmp, "download", JEAN)
        self.assertTrue(moodle.is_layout(folder))
        es = moodle.entries(folder, tempfile.mkdtemp(dir=self.tmp))
        self.assertEqual([(e.pid, e.source) for e in es], [("4190", folder)])

    def test_matched_by_name_then_by_participant_id(self):
        es = moodle.entries(self.zip, tempfile.mkdtemp(dir=self.tmp))
        unmatched = moodle.match(es, R.Roster(self.roster))
        self.assertEqual([e.pid for e, _ in unmatched], ["4200"])
        self.assertEqual({e.pid: e.row["key"] for e in es if e.row},
                         {"4183": "+33=1", "4190": "=2+2", "4191": "E-3;4", "4201": ""})
        # Moodle's grading worksheet: Identifier "Participant N" wins over names.
        ws = write(os.path.join(self.tmp, "ws.csv"),
                   "Identifier,Full name,Email address,ID number\n"
                   "Participant 4183,Somebody Else,c@x.fr,S1\nParticipant 4200,Ivan I.,i@x,S2\n")
        es = moodle.entries(self.zip, tempfile.mkdtemp(dir=self.tmp))
        moodle.match(es, R.Roster(ws))
        self.assertEqual({e.pid: e.row["key"] for e in es if e.row}, {"4183": "S1", "4200": "S2"})

    def test_utf8_names_without_the_zip_flag(self):
        # Python always flags non-ASCII names: write an ASCII name of the
        # same length, then put the UTF-8 bytes in its place.
        p = os.path.join(self.tmp, "noflag.zip")
        raw = "Chloé Lefèvre_4183_assignsubmission_file_/d.c".encode()
        ascii_name = b"Q" * (len(raw) - 4) + b"/d.c"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(ascii_name.decode(), b"int d;\n")
        with open(p, "rb") as f:
            data = f.read().replace(ascii_name, raw)
        with open(p, "wb") as f:
            f.write(data)
        with zipfile.ZipFile(p) as z:
            self.assertFalse(z.infolist()[0].flag_bits & 0x800)
        es = moodle.entries(p, tempfile.mkdtemp(dir=self.tmp))
        self.assertEqual([e.name for e in es], ["Chloé Lefèvre"])

    def test_hostile_zip_is_refused_and_nothing_escapes(self):
        for name, data, attr in (("../evil.c", b"x", 0), ("/abs.c", b"x", 0),
                                 ("A_1_assignsubmission_file_/l", b"/etc/passwd", 0o120777 << 16)):
            p = os.path.join(self.tmp, "hostile.zip")
            with zipfile.ZipFile(p, "w") as z:
                z.writestr("A B_1_assignsubmission_file_/d.c", b"int d;\n")
                info = zipfile.ZipInfo(name)
                info.external_attr = attr
                z.writestr(info, data)
            dest = tempfile.mkdtemp(dir=self.tmp)
            if attr:
                moodle.safe_extract(p, dest)
                self.assertFalse(os.path.lexists(os.path.join(dest, name)))
            else:
                with self.assertRaises(ValueError):
                    moodle.safe_extract(p, dest)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "evil.c")))

    def test_dry_run_lists_what_is_not_graded_and_fails(self):
        p = subprocess.run([GRADE, "--dry-run", "--steps", "1", "--roster", self.roster, self.zip],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("+33=1: zip", p.stdout)
        self.assertIn("take    osps-kit/step1_shm/src/d.c -> step1_shm/src/d.c", p.stdout)
        self.assertIn("Ivan Inconnu_4200: no roster row", p.stderr)
        self.assertIn("Gaëlle Noël_4191: nothing gradable", p.stderr)
        self.assertIn("Zoé Sans-Clé_4201: nothing gradable", p.stderr)


class Feedback(unittest.TestCase):
    """The short feedback's pieces; nothing is built."""

    def test_first_message_is_the_programs_own(self):
        bats = {"diag": ["# (in test file x.bats, line 85)", "# -- values do not equal --",
                         "# expected : w: shm_open /a: No such file or directory",
                         "# actual   : w: shm_open /a: Function not implemented"],
                "logs": {"w": ["w: shm_open /a: Function not implemented"]}}
        self.assertEqual(feedback.first_message(bats), "w: shm_open /a: Function not implemented")
        self.assertEqual(feedback.first_message({"diag": [], "logs": {"d[12]": ["1.5 d[12] started", "1.6 d[12] removed"]}}),
                         "1.6 d[12] removed")
        self.assertEqual(feedback.first_message({"diag": ["# value (7 lines):", "#   1.5 d[12] created"],
                                                 "logs": {"d[12]": ["1.6 d[12] removed"],
                                                          "d": ["d: exec /x/no-w: No such file or directory"]}}),
                         "d: exec /x/no-w: No such file or directory")
        unit = {"diag": ["# 0x26 != 0x2", "# step1_shm/tests/unit/test_shm_area.c:127: error: Failure!"]}
        self.assertEqual(feedback.first_message(unit), "0x26 != 0x2 (test_shm_area.c:127)")
        self.assertEqual(feedback.first_message({"deaths": ["w was killed by SIGSEGV"]}),
                         "w was killed by SIGSEGV")

    def test_valgrind_findings_keep_their_stack_not_a_deleted_path(self):
        details = ["1 errors", "log /tmp/osps-grade-x/vg.123.log:",
                   "==123== Memcheck, a memory error detector", "==123== Copyright (C) 2002",
                   "==123== Using Valgrind-3.19.0", "==123== Command: ./d", "==123== ",
                   "==123== Invalid write of size 4", "==123==    at 0x109: shm_area_create (shm_area.c:42)",
                   "==123==    by 0x10A: main (d.c:10)"]
        details[6:6] = ["==123== FILE DESCRIPTORS: 4 open (3 std) at exit.",
                        "==123== Open file descriptor 3: /tmp/osps-grade-x/s/tmp/vg-step1/vg.123.log",
                        "==123==    <inherited from parent>"]
        out = feedback.valgrind_details(details)
        self.assertEqual(out, ["1 errors", "==123== FILE DESCRIPTORS: 4 open (3 std) at exit.",
                               "==123== Invalid write of size 4",
                               "==123==    at 0x109: shm_area_create (shm_area.c:42)",
                               "==123==    by 0x10A: main (d.c:10)"])
        sr = {"valgrind": {"processes": [{"process": "valgrind d[123]", "status": "fail", "details": details}]}}
        self.assertEqual(feedback.valgrind_first(sr),
                         "valgrind d[123]: Invalid write of size 4: at shm_area_create (shm_area.c:42)")

    def test_late_commits_are_counted(self):
        tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        try:
            repo = os.path.join(tmp, "dave")
            os.makedirs(os.path.join(repo, "step1_shm", "src"))
            env = dict(os.environ, GIT_AUTHOR_NAME="d", GIT_AUTHOR_EMAIL="d@x",
                       GIT_COMMITTER_NAME="d", GIT_COMMITTER_EMAIL="d@x")
            git = lambda *a, date: subprocess.run(["git", "-C", repo, *a], check=True, capture_output=True,
                                                  env=dict(env, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date))
            git("init", "-q", date="2026-01-01T10:00:00")
            for i, date in enumerate(("2026-03-01T10:00", "2026-03-03T10:00", "2026-03-04T10:00")):
                write(os.path.join(repo, "step1_shm", "src", "d.c"), f"int v{i};\n")
                git("add", "-A", date=date)
                git("commit", "-q", "-m", f"v{i}", date=date)
            kit = F.kitmod.Kit(F.KIT)
            sub = intake.read_submission(repo, [kit.steps[1].load()], before="2026-03-02")
            self.assertEqual(cli.late_commits(sub, "2026-03-02"), 2)
            self.assertEqual(cli.late_commits(sub, None), 0)
            r = {"late_commits": 2, "commit": sub.commit}
            self.assertIn("2 commit(s) after the deadline were not graded", feedback.notes(r)[0])
            self.assertIn("D", outputs.flags(dict(r, steps={})))
            report = outputs.report_md(dict(r, id="dave", steps={}, total=0, max=0), [], {})
            self.assertIn("2 later commit(s), after the deadline, were not graded", report)
            self.assertIn(sub.commit["hash"][:12], report)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def weighted(details, weight):
    """details re-scored with the step's weight set to `weight`."""
    tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
    try:
        with open(os.path.join(F.GRADER, "rubric.ini"), encoding="utf-8") as f:
            text = f.read().replace("[step1]\nweight = 1\n", f"[step1]\nweight = {weight}\n")
        assert f"weight = {weight}" in text, "rubric.ini's [step1] changed"
        path = write(os.path.join(tmp, "r.ini"), text)
        rb = scoring.Rubric(path)
        step = F.kitmod.Kit(F.KIT).steps[1].load()
        r = json.loads(json.dumps(details))
        sr = r["steps"]["step1_shm"]
        sr["score"] = scoring.score_step(rb, step, sr)
        r["total"], r["max"] = sr["score"]["score"], sr["score"]["max"]
        return r, [step]
    finally:
        shutil.rmtree(tmp)


class MoodleDay(unittest.TestCase):
    """A download-all and a French roster in, grades.csv and Moodle's
    import file out; then one student re-graded; then --vpl."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")
        os.chmod(cls.tmp, 0o711)
        cls.zip = moodle_download(cls.tmp)
        cls.roster = write(os.path.join(cls.tmp, "roster.csv"), FR_ROSTER)
        cls.out = os.path.join(cls.tmp, "out")
        cls.import_csv = os.path.join(cls.tmp, "import.csv")
        cls.common = ["--steps", "1", "--test-timeout", "20", "--unit-timeout", "10",
                      "--uid-base", str(UID_BASE)]
        cls.proc = subprocess.run(
            [GRADE, "-j", "2", "-o", cls.out, "--roster", cls.roster, "--moodle", cls.import_csv,
             "--moodle-sep", ";", "--moodle-decimal", ","] + cls.common + [cls.zip],
            capture_output=True, text=True, timeout=900)
        cls.grades = read_csv(os.path.join(cls.out, "grades.csv"))
        cls.moodle = read_csv(cls.import_csv, ";")
        with open(os.path.join(cls.out, "summary.json"), encoding="utf-8") as f:
            cls.summary = json.load(f)
        cls.details = {}
        for st in cls.summary["students"]:
            with open(os.path.join(cls.out, "students", st["id"], "details.json"), encoding="utf-8") as f:
                cls.details[st["key"]] = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_1_grades_csv_is_keyed_by_the_roster(self):
        self.assertEqual(self.proc.returncode, 1, self.proc.stderr[-3000:])
        by_id = {r[0]: r for r in self.grades[1:]}
        self.assertEqual(set(by_id), {"'+33=1", "'=2+2", "E-3;4", "Zoé Sans-Clé", "Ivan Inconnu"})
        self.assertEqual(by_id["'+33=1"][1:3], ["Chloé Lefèvre", "chloe.lefevre@example.fr"])
        self.assertEqual(by_id["'=2+2"][1], 'Jean, "Jo" Dupont; Martin')
        self.assertEqual(by_id["'+33=1"][3], by_id["'+33=1"][5])      # full marks
        self.assertEqual(by_id["E-3;4"][-1], "missing")
        for row in self.grades:
            for cell in row:
                self.assertFalse(cell[:1] in ("=", "+", "@", "\t", "\r") or
                                 (cell[:1] == "-" and not cell[1:2].isdigit()), row)

    def test_2_download_all_entries_not_graded_are_listed_at_the_end(self):
        err = self.proc.stderr
        tail = err[err.index("to look at (3)"):]
        self.assertIn("Ivan Inconnu_4200: no roster row", tail)
        self.assertIn("Gaëlle Noël_4191: nothing gradable: no file submitted", tail)
        self.assertIn("Zoé Sans-Clé_4201: nothing gradable", tail)
        self.assertEqual(len(self.summary["problems"]), 3)
        # Nobody got a silent skeleton grade: Gaëlle and Zoé were not graded.
        self.assertEqual(sorted(s["key"] for s in self.summary["students"]), ["", "+33=1", "=2+2"])

    def test_3_regrading_one_student_keeps_the_class(self):
        one = os.path.join(self.tmp, "one")
        shutil.copytree(os.path.join(self.tmp, "download", CHLOE), os.path.join(one, CHLOE))
        before = {r[0]: r for r in self.grades[1:]}
        p = subprocess.run([GRADE, "-j", "1", "-o", self.out, "--roster", self.roster,
                            "--moodle", self.import_csv, "--moodle-sep", ";", "--moodle-decimal", ","]
                           + self.common + [one], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("1 graded now, 2 kept from the previous run", p.stdout)
        after = {r[0]: r for r in read_csv(os.path.join(self.out, "grades.csv"))[1:]}
        self.assertEqual(set(after), set(before))
        self.assertEqual(after["'+33=1"][1:3], ["Chloé Lefèvre", "chloe.lefevre@example.fr"])
        for k in set(before) - {"'+33=1"}:
            self.assertEqual(after[k], before[k])
        with open(os.path.join(self.out, "summary.json"), encoding="utf-8") as f:
            s = json.load(f)
        self.assertEqual(s["statistics"]["distribution"]["students"], 3)
        backups = [d for d in os.listdir(self.out) if d.startswith("previous-")]
        self.assertEqual(len(backups), 1)
        self.assertEqual(read_csv(os.path.join(self.out, backups[0], "grades.csv"))[1:],
                         self.grades[1:])
        again = read_csv(self.import_csv, ";")
        self.assertEqual([r[0] for r in again], [r[0] for r in self.moodle])
        self.assertEqual(again[2], self.moodle[2])                   # Jean's row, kept
        # Other steps than the output's: refused, nothing written.
        p = subprocess.run([GRADE, "-o", self.out, "--steps", "1,2", one],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--replace", p.stderr)

    def test_4_moodle_import_file(self):
        head, rows = self.moodle[0], self.moodle[1:]
        self.assertEqual(head, ["ID number", "step1_shm", "total", "step1_shm feedback"])
        self.assertEqual([r[0] for r in rows], ["'+33=1", "'=2+2"])   # nobody without a key
        chloe, jean = rows
        d = self.details["=2+2"]
        self.assertEqual(jean[1], outputs.fmt(d["total"]).replace(".", ","))
        self.assertEqual(float(chloe[2].replace(",", ".")), self.details["+33=1"]["max"])
        self.assertIn("Step 1: ", jean[3])
        self.assertIn("1.2: -", jean[3])
        self.assertIn("Function not implemented", jean[3])         # the program's own words
        self.assertIn("untouched skeleton", jean[3])
        self.assertIn("1 roster row(s) without ID number", self.proc.stderr)
        self.assertIn("Zoé Sans-Clé", self.proc.stderr)
        self.assertIn("starts with a formula character", self.proc.stderr)
        with open(self.import_csv, "rb") as f:
            f.read().decode("utf-8")

    def test_5_vpl_gives_the_normal_grade(self):
        for who, key, folder in (("ref", "+33=1", None), ("skel", "=2+2", JEAN)):
            d = os.path.join(self.tmp, "vpl-" + who)
            os.makedirs(d)
            if folder:
                for f in os.listdir(os.path.join(self.tmp, "download", folder)):
                    shutil.copy(os.path.join(self.tmp, "download", folder, f), d)
            else:
                shutil.copy(os.path.join(self.tmp, "parts", "TP_chloe.zip"), d)
            for f in ("vpl_evaluate.sh", "vpl_execution"):
                write(os.path.join(d, f), "#!/bin/sh\n")
            p = subprocess.run([GRADE, "--vpl"] + self.common, cwd=d, capture_output=True,
                               text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            lines = p.stdout.splitlines()
            self.assertTrue(lines[-1].startswith("Grade :=>> "), lines[-5:])
            self.assertEqual(float(lines[-1].split()[-1]), self.details[key]["total"], who)
            self.assertTrue(lines[0].startswith("Comment :=>>-Total: "))
            self.assertIn("Comment :=>>-Step 1: ", p.stdout)

    def test_6_report_summary_first_and_skeleton_flagged(self):
        d = self.details["=2+2"]
        self.assertEqual(d["untouched"], ["step1_shm"])
        self.assertEqual(self.details["+33=1"]["untouched"], [])
        st = next(s for s in self.summary["students"] if s["key"] == "=2+2")
        self.assertIn("S", st["flags"])
        with open(os.path.join(self.out, "students", d["id"], "report.md"), encoding="utf-8") as f:
            report = f.read()
        summary = report[report.index("## Summary"):report.index("## Details")]
        self.assertLessEqual(len(summary.splitlines()), 30)
        self.assertIn("1.2: -", summary)
        self.assertIn("Function not implemented", summary)
        self.assertIn("The untouched skeleton", report)

    def test_7_weights_are_applied_alike_everywhere(self):
        r, steps = weighted(self.details["=2+2"], 0.5)
        self.assertAlmostEqual(r["max"], self.details["=2+2"]["max"] / 2, places=2)
        gs = outputs.gradescope_json(r, steps)
        self.assertAlmostEqual(sum(t["max_score"] for t in gs["tests"]), r["max"], places=1)
        self.assertAlmostEqual(sum(t["score"] for t in gs["tests"]), r["total"], places=1)
        cl = cli.classroom_outputs(r, steps)
        self.assertEqual(cl["max_score"], r["max"])
        self.assertAlmostEqual(sum(t["score"] for t in cl["tests"]), r["total"], places=1)
        md = outputs.report_md(r, steps, {})
        ex = r["steps"]["step1_shm"]["score"]["exercises"]["1.1"]
        self.assertIn(f"| {outputs.fmt(ex['earned'] * 0.5)} / {outputs.fmt(ex['max'] * 0.5)} |", md)


class Platforms(unittest.TestCase):
    """Gradescope, Classroom and VPL files for a partial assignment."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="osps-grader-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_gradescope_archive_grades_the_assignments_steps(self):
        z = os.path.join(self.tmp, "ag.zip")
        p = subprocess.run([GRADE, "--make-gradescope-zip", z, "--steps", "1,2"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        run = zipfile.ZipFile(z).read("run_autograder").decode()
        self.assertIn('STEPS="${OSPS_STEPS:-1,2}"', run)
        self.assertIn('--steps "$STEPS"', run)
        self.assertIn(cli.GRADESCOPE_IMAGE, p.stdout)
        with open(os.path.join(F.GRADER, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn(f"base image {cli.GRADESCOPE_IMAGE}", readme)
        with open(os.path.join(F.GRADER, "classroom", "classroom.yml"), encoding="utf-8") as f:
            wf = f.read()
        self.assertIn('--steps "$OSPS_STEPS"', wf)
        self.assertIn("runs-on: ubuntu-24.04", wf)

    def test_vpl_files(self):
        d = os.path.join(self.tmp, "vpl")
        p = subprocess.run([GRADE, "--make-vpl", d, "--steps", "1"], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(d)), ["osps-kit.tar.gz", "vpl_evaluate.sh"])
        import tarfile
        with tarfile.open(os.path.join(d, "osps-kit.tar.gz")) as t:
            names = t.getnames()
        self.assertIn("kit/grader/grade", names)
        self.assertFalse(any(n.startswith("kit/solutions") for n in names))
        run = os.path.join(self.tmp, "run")
        os.makedirs(run)
        shutil.copy(os.path.join(d, "vpl_evaluate.sh"), run)
        subprocess.run(["bash", "vpl_evaluate.sh"], cwd=run, check=True, timeout=60)
        with open(os.path.join(run, "vpl_execution")) as f:
            text = f.read()
        self.assertRegex(text, r'--vpl --steps 1 +"\$@"')
        self.assertTrue(os.access(os.path.join(run, "vpl_execution"), os.X_OK))


if __name__ == "__main__":
    unittest.main()
