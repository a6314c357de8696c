"""cli.py - grader/grade: grade a class of submissions (see grader/README.md)."""
import argparse
import base64
import concurrent.futures
import datetime
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

from . import feedback, intake, moodle, outputs, runner, sandbox, scoring, similarity, vpl
from . import roster as rostermod
from .kit import DEFAULT_KIT, GRADER_DIR, Kit, KitError

USAGE_EXAMPLES = """examples:
  grader/grade submissions/*                 every submission, -j nproc
  grader/grade -j 4 --roster class.csv --before '2026-03-01 23:59' repos/*
  grader/grade --steps 1,2 --valgrind -o grades alice.tar.gz bob.zip carol/
  grader/grade --dry-run alice.zip           what would be taken, no build
  grader/grade --roster moodle.csv --moodle import.csv -o grades TP1-download.zip
                                             Moodle: export and download in, import file out
  grader/grade --vpl                         inside Moodle VPL (vpl_evaluate.sh)
  grader/grade --gradescope                  inside Gradescope's autograder
"""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="grader/grade", description="Grade OSPS lab kit submissions: build each "
        "step from the learner's sources over a pristine copy of the kit, run the kit's "
        "tests in a sandbox, and write grades and feedback.",
        epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                   help="a directory, a .tar.gz/.tgz/.tar/.zip archive, or a git repository")
    p.add_argument("-o", "--out", help="results directory (default: grades-DATE-TIME)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores, %(default)s)")
    p.add_argument("--steps", help="steps to grade, e.g. 1,2 (default: the kit's STEPS_READY)")
    p.add_argument("--rubric", default=os.path.join(GRADER_DIR, "rubric.ini"),
                   help="the rubric (default: grader/rubric.ini)")
    p.add_argument("--kit", default=DEFAULT_KIT, help="the instructor's kit (default: %(default)s)")
    p.add_argument("--roster", help="class list (CSV) mapping submissions to students: Moodle's "
                   "export (English or French), GitHub Classroom's or Gradescope's")
    p.add_argument("--key", choices=rostermod.KEYS,
                   help="the roster column that identifies a student in the outputs and in "
                        "Moodle's import (default: the first of idnumber, email, username "
                        "the roster fills)")
    p.add_argument("--moodle", metavar="FILE",
                   help="also write FILE, the CSV for Moodle's Import grades from CSV "
                        "(needs --roster; see grader/README.md)")
    p.add_argument("--moodle-sep", default=",", choices=(",", ";", "tab"), metavar="SEP",
                   help="separator of the --moodle file: ',' (default), ';' (French sites) or tab")
    p.add_argument("--moodle-decimal", default=".", choices=(".", ","), metavar="MARK",
                   help="decimal mark of the --moodle file: '.' (default) or ',' (French sites)")
    p.add_argument("--replace", action="store_true",
                   help="write -o DIR from scratch instead of merging into the grades it holds")
    p.add_argument("--before", metavar="DATE",
                   help="git repositories: grade the last commit before DATE (committer date)")
    p.add_argument("--valgrind", nargs="?", const="yes", choices=("yes", "no", "unit"),
                   help="also run the tests under valgrind: every suite (yes, the default "
                        "with no value) or only the unit test programs (unit); penalties per "
                        "the rubric (rubric: valgrind)")
    p.add_argument("--stress", action="store_true", default=None,
                   help="run the process tests under the kit's stress shim (random short "
                        "delays at the calls where races live: a race that passes by luck "
                        "fails); the seed is written in every report (rubric: stress)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="the seed of --stress's delays (implies --stress; default: drawn at "
                        "random; the same seed replays the same delays)")
    p.add_argument("--test-timeout", type=float, help="seconds per process test (rubric: test_timeout)")
    p.add_argument("--unit-timeout", type=float, help="seconds per unit test program")
    p.add_argument("--submission-timeout", type=float, help="seconds per submission, all included")
    p.add_argument("--timeout-scale", type=float, help="stretch every time limit (slow machine)")
    p.add_argument("--keep", action="store_true", help="keep the work directories (debugging)")
    p.add_argument("--work", help="where the work directories go (default: a new temporary directory)")
    p.add_argument("--dry-run", action="store_true",
                   help="only show what each submission gives and what is ignored")
    p.add_argument("--no-user-switch", action="store_true",
                   help="as root, run submissions as root too (weaker isolation)")
    p.add_argument("--weak-isolation", action="store_true",
                   help="grade even where the sandbox (bwrap: namespaces) cannot be made, "
                        "with resource limits and uids only; said on every report")
    p.add_argument("--uid-base", type=int, default=60100,
                   help="as root, the first uid of the sandboxes (default: %(default)s)")
    p.add_argument("--vpl", action="store_true",
                   help="run as Moodle VPL's evaluation: grade the current directory, print "
                        "Comment :=>> lines and Grade :=>> N")
    p.add_argument("--make-vpl", metavar="DIR",
                   help="write vpl_evaluate.sh and the kit's archive to upload to VPL, and exit")
    p.add_argument("--gradescope", action="store_true",
                   help="run as Gradescope's autograder (/autograder/submission -> results.json)")
    p.add_argument("--make-gradescope-zip", metavar="ZIP",
                   help="write the autograder archive to upload to Gradescope, and exit")
    p.add_argument("--classroom", action="store_true",
                   help="GitHub Actions: write the report to the job summary and the "
                        "result for GitHub Classroom's grading reporter")
    p.add_argument("--similarity", nargs="?", type=float, const=100 * similarity.THRESHOLD,
                   metavar="PERCENT", help="also rank every pair of submissions by shared code "
                   "(as grader/similar): similarity.md, similarity.csv, and a similarity column "
                   "in grades.csv for the pairs sharing at least PERCENT (default: %(const)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    a = p.parse_args(argv)
    if not a.submissions and not (a.gradescope or a.make_gradescope_zip or a.vpl or a.make_vpl):
        p.error("no submission given")
    if a.moodle and not a.roster:
        p.error("--moodle needs --roster (the key column comes from the roster)")
    if a.moodle_sep == a.moodle_decimal:
        p.error("--moodle-sep and --moodle-decimal must differ (French sites: ';' and ',')")
    if a.jobs < 1:
        p.error("-j must be at least 1")
    if a.seed is not None and not 0 <= a.seed < 2 ** 32:
        p.error("--seed: a number from 0 to 4294967295")
    return a


def say(*args, **kw):
    print(*args, **kw, flush=True)


def make_options(a, rubric):
    lim = rubric.limits

    def pick(arg, key):
        return arg if arg is not None else lim[key]

    class O:
        pass
    o = O()
    o.test_timeout = pick(a.test_timeout, "test_timeout")
    o.unit_timeout = pick(a.unit_timeout, "unit_timeout")
    o.build_timeout = lim["build_timeout"]
    o.submission_timeout = pick(a.submission_timeout, "submission_timeout")
    o.timeout_scale = pick(a.timeout_scale, "timeout_scale")
    o.valgrind = a.valgrind if a.valgrind is not None else rubric.valgrind
    o.valgrind = None if o.valgrind == "no" else o.valgrind
    o.stress = bool(a.stress) or a.seed is not None or rubric.stress
    o.stress_seed = (a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")) \
        if o.stress else None
    o.keep = a.keep
    # Under stress a failed test is not run again: a second chance would
    # let the race it found pass by luck, which is what stress is against.
    o.retries = 0 if o.stress else rubric.grading["retries"]
    o.retry_max_tests = rubric.grading["retry_max_tests"]
    o.limits = sandbox.Limits(cpu=lim["cpu"], memory=int(lim["memory"]),
                              file_size=int(lim["file_size"]), processes=int(lim["processes"]),
                              open_files=int(lim["open_files"]), disk=int(lim["disk"]),
                              memory_total=int(lim["memory_total"]), cpu_total=lim["cpu_total"])
    return o


def integrity_of(r):
    out = []
    for d, sr in r.get("steps", {}).items():
        for f in sr.get("findings", []):
            if f["kind"] == "untrusted":
                out.append(f"{d}: {f['file']}{':' + str(f['line']) if f['line'] else ''}: "
                           f"{f['message']} (the unit tests were not run)")
        for s in sr["suites"]:
            for an in s.get("anomalies", []):
                out.append(f"{d} {s['name']}: {an} (every result of this suite counts as failed)")
            if s.get("escaped"):
                cmds = ", ".join(p["cmd"][:60] for p in s["escaped"][:3])
                out.append(f"{d} {s['name']}: {len(s['escaped'])} process(es) were still running "
                           f"after the tests, outside their control: {cmds}")
    return out


def late_commits(sub, before):
    """How many commits of a git submission came after the graded one
    (the deadline's): read as objects, with no configuration obeyed."""
    if sub.kind != "git" or not before or not sub.commit:
        return 0
    git = getattr(intake, "GIT", ["git"]) + ["-c", "core.hooksPath=/dev/null"]
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_TERMINAL_PROMPT="0")
    try:
        p = subprocess.run(git + ["-C", sub.source, "rev-list", "--count",
                                  f"{sub.commit['hash']}..HEAD"],
                           capture_output=True, text=True, env=env, timeout=60)
        return int(p.stdout.strip()) if p.returncode == 0 else 0
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def unique_folders(subs):
    """Each submission's folder name (students/NAME, its work directory):
    safe for a file system, accents kept, unique."""
    seen = set()
    for s in subs:
        s.given_id = s.id               # as given, every character kept (grades.csv)
        base = sid = rostermod.safe_folder(s.id)
        k = 1
        while sid in seen:
            k += 1
            sid = f"{base}-{k}"
        seen.add(sid)
        s.id = sid


class Grader:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def setup(self):
        a = self.a
        self.rubric = scoring.Rubric(a.rubric)
        self.o = make_options(a, self.rubric)
        base = a.work or tempfile.mkdtemp(prefix="osps-grade-")
        os.makedirs(base, exist_ok=True)
        if not a.work:
            self.cleanup_dirs = [base]
        else:
            self.cleanup_dirs = []
        os.chmod(base, 0o711)
        self.work_root = base
        if os.geteuid() == 0 and not a.no_user_switch:
            # The sandboxes' uids must reach their work directories.
            d = os.path.dirname(os.path.abspath(base))
            while d != "/":
                if not os.stat(d).st_mode & 0o001:
                    raise OSError(f"--work {base}: {d} is not reachable by other users "
                                  f"(the sandboxes run as their own uids): chmod o+x {d}, "
                                  "or choose another --work")
                d = os.path.dirname(d)
        # Everything runs from one pristine copy made now: edits to the kit
        # during the run change nothing, and nothing can write into it.
        self.kit_copy = runner.copy_kit(os.path.abspath(a.kit), os.path.join(base, "kit"))
        self.kit = Kit(self.kit_copy)
        wanted = [int(x) for x in a.steps.split(",")] if a.steps else None
        self.steps = self.kit.select(wanted)
        for step in self.steps:
            unknown = self.rubric.unknown_tests(step, [n for s in step.suites for n, _ in s.tests])
            for u in unknown:
                say(f"grade: warning: rubric [step{step.n}] names no test of the kit: {u!r}", file=sys.stderr)
        self.step_dirs = [s.dir for s in self.steps]

    def stress_src(self):
        """The stress shim's source, from the kit (never a submission's),
        when the tests run under stress."""
        return os.path.join(self.kit_copy, "tests", "stress", "stress.c") if self.o.stress else None

    def read_all(self, sources):
        """Read every submission (a Moodle download-all expands into its
        students' entries) and match each to the roster. What matches no
        row, or holds nothing to grade, goes to self.problems: listed at
        the end, and the exit status is 1."""
        a = self.a
        roster = rostermod.Roster(a.roster, a.key) if a.roster else None
        self.roster = roster
        self.problems = []
        subs, claimed = [], {}
        for src in sources:
            src = os.path.abspath(src)
            if moodle.is_layout(src):
                subs += self.read_moodle(src, roster, claimed)
                continue
            sub = intake.read_submission(src, self.steps, a.before)
            if roster:
                row = roster.match(sub.id)
                if row is None:
                    sub.notes.append(f"not in the roster {os.path.basename(a.roster)}: "
                                     f"id taken from the name")
                    self.problems.append((sub.id, f"matches no row of the roster "
                                                  f"{os.path.basename(a.roster)}"))
                else:
                    self.claim(sub, row, claimed)
            subs.append(sub)
        for sub in subs:
            sub.late_commits = late_commits(sub, a.before)
        unique_folders(subs)
        missing = []
        if roster:
            missing = [{"id": rostermod.safe_folder(r["key"] or r["display"]), "key": r["key"],
                        "name": r["display"], "email": r.get("email", "")}
                       for r in roster.rows if id(r) not in claimed]
        return subs, missing

    def claim(self, sub, row, claimed):
        """sub is the student of this roster row: the key and names, as written."""
        if id(row) in claimed:
            self.problems.append((sub.id, f"a second submission for {row['display']} "
                                          f"({row['key'] or 'no key'}): both graded, check which counts"))
        claimed[id(row)] = sub
        sub.key, sub.name, sub.email = row["key"], row["display"], row.get("email", "")
        sub.id = row["key"] or row["display"]

    def read_moodle(self, src, roster, claimed):
        """The submissions of a Moodle download-all (folder or zip)."""
        try:
            entries = moodle.entries(src, os.path.join(self.work_root, "moodle"))
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            self.problems.append((os.path.basename(src), f"cannot read Moodle's download: {e}"))
            return []
        unmatched = {id(e): why for e, why in moodle.match(entries, roster)} if roster else {}
        subs = []
        for e in entries:
            if id(e) in unmatched:
                self.problems.append((e.label, unmatched[id(e)]))
            if e.problem:
                self.problems.append((e.label, e.problem))
                continue
            sub = intake.read_submission(e.source, self.steps, self.a.before)
            sub.id, sub.name, sub.participant = e.name, e.name, e.pid
            if not sub.error and not sub.files:
                self.problems.append((e.label, "nothing gradable: no source file of the graded "
                                               f"steps in {os.path.basename(e.source)} (not graded)"))
                continue
            if e.row:
                self.claim(sub, e.row, claimed)
            subs.append(sub)
        return subs

    def identity(self, sub):
        """What the outputs say of a submission besides its grade."""
        return {"key": getattr(sub, "key", ""), "given_id": getattr(sub, "given_id", sub.id),
                "participant": getattr(sub, "participant", ""),
                "late_commits": getattr(sub, "late_commits", 0),
                "untouched": [s.dir for s in self.steps if self.untouched(sub, s)]}

    def untouched(self, sub, step):
        """True when the step is the skeleton as handed out: nothing taken
        for it, or every file taken identical to the skeleton's."""
        files = sub.files.get(step.dir, {})
        for name, data in files.items():
            try:
                with open(os.path.join(self.kit_copy, step.dir, "src", name), "rb") as f:
                    if f.read() != data:
                        return False
            except OSError:
                return False
        return not sub.error

    def grade_one(self, sub, boxes):
        """Grade one submission; returns (result, run): run is kept (its
        work directory too) when some tests are to be retried at the end."""
        box = boxes.get()
        run = None
        try:
            r = {"id": sub.id, "name": sub.name, "email": sub.email, "source": sub.source,
                 "kind": sub.kind, "commit": sub.commit, "notes": list(sub.notes),
                 **self.identity(sub)}
            if sub.error:
                r.update(error=sub.error, steps={}, total=0, max=0, elapsed=0)
                return r, None
            run = runner.SubmissionRun(sub, runner.Context(self.kit, self.steps, self.o,
                                                           self.kit_copy, self.work_root), box)
            try:
                res = run.grade()
            except Exception as e:     # a grader bug must not stop the class
                import traceback
                r.update(error=f"grader error: {e}", steps={}, total=0, max=0, elapsed=0,
                         traceback=traceback.format_exc())
                run.cleanup()
                return r, None
            r.update(res)
            self.score(r)
            if run.retry_candidates():
                run.box.kill_all()
                run.box.sweep_files()
                return r, run
            run.cleanup()
            return r, None
        finally:
            boxes.put(box)

    def score(self, r):
        for step in self.steps:
            sr = r["steps"][step.dir]
            sr["score"] = scoring.score_step(self.rubric, step, sr)
        r["total"] = round(sum(s["score"]["score"] for s in r["steps"].values()), 2)
        r["max"] = round(sum(s["score"]["max"] for s in r["steps"].values()), 2)
        r["integrity"] = integrity_of(r)
        r["output_cap"] = self.rubric.output_cap

    def write_student(self, out, r, sub):
        d = os.path.join(out, "students", r["id"])
        os.makedirs(d, exist_ok=True)
        summary = sub.summary()
        outputs.write_json(os.path.join(d, "results.json"), outputs.gradescope_json(r, self.steps))
        # Read by the student at once (VPL, Gradescope, GitHub Classroom):
        # tests kept until the due date are left out, as hidden ones are.
        early = self.a.vpl or self.a.gradescope or self.a.classroom
        with open(os.path.join(d, "report.md"), "w", encoding="utf-8") as f:
            f.write(outputs.report_md(r, self.steps, summary, "early" if early else "graded"))
        outputs.write_json(os.path.join(d, "details.json"), dict(r, intake=summary))
        for step_dir, (path, data) in sub.answers.items():
            os.makedirs(os.path.join(d, "answers"), exist_ok=True)
            with open(os.path.join(d, "answers", f"{step_dir}-{os.path.basename(path)}"), "wb") as f:
                f.write(data)

    def run(self, sources, out):
        a = self.a
        subs, missing = self.read_all(sources)
        if a.dry_run:
            return self.dry_run(subs)
        sim = similarity.class_options(a.similarity, a.jobs) if a.similarity is not None else None
        os.makedirs(out, exist_ok=True)
        self.previous = self.load_previous(out, subs)
        jobs = min(a.jobs, max(len(subs), 1))
        boxes_list, cgroups, isolation = sandbox.make_sandboxes(
            jobs, self.o.limits, a.uid_base, switch_user=not a.no_user_switch,
            private=self.work_root, weak_ok=a.weak_isolation,
            stress_src=self.stress_src())
        if not boxes_list[0].tools.sandboxed:
            for s in subs:
                s.notes.append(isolation)
        for b in boxes_list:
            b.exclusive = b.exclusive or jobs == 1
        boxes = queue.Queue()
        for b in boxes_list:
            boxes.put(b)
        if not a.quiet:
            mode = (f"each submission as its own uid ({boxes_list[0].uid}..)" if boxes_list[0].uid
                    else "as the current user (see grader/README.md: isolation)")
            say(f"grade: {len(subs)} submission(s), steps {', '.join(self.step_dirs)}, -j {jobs}, "
                f"{isolation}, {mode}{', cgroups' if boxes_list[0].cgroup else ''}"
                f"{', valgrind (' + self.o.valgrind + ')' if self.o.valgrind else ''}"
                f"{', stress (seed ' + str(self.o.stress_seed) + ')' if self.o.stress else ''}; results in {out}")
        start = time.monotonic()
        self.run_start = time.time()
        self.shm_before = {os.path.join("/dev/shm", n) for n in os.listdir("/dev/shm")} \
            if os.path.isdir("/dev/shm") else set()
        results = {}
        later = []
        done = 0
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
        try:
            with pool:
                futs = {pool.submit(self.grade_one, s, boxes): s for s in subs}
                for fut in concurrent.futures.as_completed(futs):
                    sub = futs[fut]
                    r, run = fut.result()
                    results[sub.id] = r
                    self.write_student(out, r, sub)
                    done += 1
                    if run:
                        later.append((sub, r, run))
                    if not a.quiet:
                        with self.lock:
                            say(outputs.progress_line(done, len(subs), time.monotonic() - start, r,
                                                      self.step_dirs)
                                + (" (retry at the end)" if run else ""))
            # Failed tests worth a second run get it now, one submission at
            # a time, on a machine no longer loaded by the class.
            for sub, r, run in later:
                n = sum(len(c[2]) for c in run.retry_candidates())
                try:
                    run.retry(boxes_list[0], run.retry_candidates())
                finally:
                    run.cleanup()
                self.score(r)
                self.write_student(out, r, sub)
                if not a.quiet:
                    say(f"retried {n} failed test(s) of {r['id']}: now "
                        f"{outputs.fmt(r['total'])}/{outputs.fmt(r['max'])}")
        except KeyboardInterrupt:
            # Stop every running command now (the jails kill their trees),
            # drop the submissions not started, then clean up below.
            for b in boxes_list:
                b.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            for b in boxes_list:
                b.kill_all()
            cgroups.remove()
            sandbox.release_uids()
            self.unattributed = []
            if boxes_list[0].uid is None and not boxes_list[0].exclusive \
                    and not boxes_list[0].tools.sandboxed:
                # As one user with -j > 1, what the submissions left in
                # /dev/shm could not be told apart: swept now, for the class.
                b = boxes_list[0]
                b.exclusive = True
                self.unattributed = b.sweep_files(since=self.run_start, claimed=self.shm_before)
        ordered = [results[s.id] for s in subs]
        merged, missing = self.merge(out, ordered, missing)
        self.write_class(out, merged, missing, time.monotonic() - start)
        self.report_problems()
        if sim:
            similarity.for_class(out, subs, self.steps, sim, say=(lambda *_: None) if a.quiet else say,
                                 work=self.work_root)
        return ordered

    # -- re-grading into an existing output ----------------------------------

    def load_previous(self, out, subs):
        """The grades -o DIR already holds (None: none, or --replace); the
        files about to change are copied to DIR/previous-DATE first."""
        path = os.path.join(out, "summary.json")
        if self.a.replace or not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            prev = json.load(f)
        if prev.get("steps") != self.step_dirs:
            raise ValueError(f"{out} holds grades of {', '.join(prev.get('steps') or [])}, not of "
                             f"{', '.join(self.step_dirs)}: grade the same steps, or pass --replace")
        backup = os.path.join(out, datetime.datetime.now().strftime("previous-%Y%m%d-%H%M%S"))
        os.makedirs(backup)
        names = ["grades.csv", "summary.json", "statistics.md"]
        if self.a.moodle:
            names.append(os.path.abspath(self.a.moodle))
        for n in names:
            p = os.path.join(out, n)
            if os.path.exists(p):
                shutil.copy2(p, os.path.join(backup, os.path.basename(n)))
        for s in subs:
            d = os.path.join(out, "students", s.id)
            if os.path.isdir(d):
                shutil.copytree(d, os.path.join(backup, "students", s.id))
        prev["backup"] = backup
        return prev

    def merge(self, out, results, missing):
        """results and the previous run's other students, in the previous
        order (new students at the end); missing recomputed."""
        prev = getattr(self, "previous", None)
        if not prev:
            return results, missing
        new = {r["id"]: r for r in results}
        merged, kept = [], 0
        for st in prev.get("students", []):
            if st["id"] in new:
                merged.append(new.pop(st["id"]))
                continue
            try:
                with open(os.path.join(out, "students", st["id"], "details.json"), encoding="utf-8") as f:
                    r = json.load(f)
            except (OSError, ValueError):
                r = dict(st, error=st.get("error") or "details.json lost: grade again", steps={})
            merged.append(r)
            kept += 1
        merged += list(new.values())
        have = {r.get("key") or r["id"] for r in merged}
        seen, still = set(), []
        for m in list(missing) + prev.get("missing", []):
            k = m.get("key") or m["id"]
            if k not in have and k not in seen:
                seen.add(k)
                still.append(m)
        say(f"grade: merged into {out}: {len(results)} graded now, {kept} kept from the previous "
            f"run; statistics over all {len(merged)}; previous files in {prev['backup']}")
        return merged, still

    def report_problems(self):
        """What was not graded, or graded but matches no roster row."""
        if not self.problems:
            return
        say(f"\ngrade: to look at ({len(self.problems)}): entries not graded, or not in the roster:",
            file=sys.stderr)
        for who, why in self.problems:
            say(f"  {who}: {why}", file=sys.stderr)

    def write_moodle(self, results):
        """--moodle FILE: the rows Moodle can import; what it cannot,
        said before the file is written."""
        a = self.a
        key = self.roster.key
        nokey = [r for r in self.roster.without_key()]
        if nokey:
            say(f"grade: {len(nokey)} roster row(s) without {rostermod.KEY_HEADER[key]} "
                f"(--key {key}): not in {a.moodle}", file=sys.stderr)
            for r in nokey:
                say(f"  {r['display'] or '?'}" + (f" <{r['email']}>" if r.get("email") else ""),
                    file=sys.stderr)
        odd = [r["key"] for r in results if r.get("key", "")[:1] in ("=", "+", "-", "@", "\t", "\r")]
        for k in odd:
            say(f"grade: key {k!r} starts with a formula character: written as '{k} "
                "(fix that cell, or choose another --key)", file=sys.stderr)
        sep = "\t" if a.moodle_sep == "tab" else a.moodle_sep
        if sep == a.moodle_decimal:
            raise ValueError("--moodle-sep and --moodle-decimal must differ")
        outputs.write_moodle(a.moodle, results, self.step_dirs, key, sep, a.moodle_decimal)
        n = sum(1 for r in results if r.get("key") and not r.get("error") and r.get("status") != "missing")
        maxima = {d: next((r["steps"][d]["score"]["max"] for r in results if d in r.get("steps", {})), 0)
                  for d in self.step_dirs}
        say(f"grade: wrote {a.moodle}: {n} student(s), key {rostermod.KEY_HEADER[key]}, "
            f"separator {a.moodle_sep!r}, decimal mark {a.moodle_decimal!r}; Moodle's grade items' "
            "maximum: " + ", ".join(f"{d} {outputs.fmt(m)}" for d, m in maxima.items())
            + f", total {outputs.fmt(sum(maxima.values()))}")

    def write_class(self, out, results, missing, elapsed):
        if self.a.moodle:
            self.write_moodle(results)
        outputs.write_csv(os.path.join(out, "grades.csv"), results, self.step_dirs, missing)
        st = outputs.class_statistics(results, self.steps)
        with open(os.path.join(out, "statistics.md"), "w", encoding="utf-8") as f:
            f.write(outputs.statistics_md(st))
        summary = {
            "generated": datetime.datetime.now().isoformat(timespec="seconds"),
            "kit": os.path.abspath(self.a.kit), "rubric": os.path.abspath(self.a.rubric),
            "steps": self.step_dirs, "elapsed": round(elapsed, 1), "jobs": self.a.jobs,
            "valgrind": self.o.valgrind,
            "stress": {"seed": self.o.stress_seed} if self.o.stress else None,
            "students": [{"id": r["id"], "key": r.get("key", ""), "name": r.get("name", ""),
                          "email": r.get("email", ""), "untouched": r.get("untouched", []),
                          "late_commits": r.get("late_commits", 0),
                          "total": r.get("total", 0), "max": r.get("max", 0),
                          "percent": round(outputs.pct(r.get("total", 0), r.get("max", 0)), 1),
                          "steps": {d: s["score"]["score"] for d, s in r.get("steps", {}).items()},
                          "flags": outputs.flags(r), "integrity": r.get("integrity", []),
                          "error": r.get("error")} for r in results],
            "missing": missing, "statistics": st,
            "problems": [{"who": w, "why": y} for w, y in getattr(self, "problems", [])],
            "unattributed_leftovers": [{"kind": k, "what": w} for k, w in getattr(self, "unattributed", [])]}
        outputs.write_json(os.path.join(out, "summary.json"), summary)
        if not self.a.quiet:
            say("")
            for line in outputs.table(results, self.step_dirs):
                say(line)
            d = st["distribution"]
            if d:
                say(f"\n{d['students']} graded in {elapsed:.0f} s: mean {d['mean']}%, median "
                    f"{d['median']}%, range {d['min']}-{d['max']}%"
                    + (f"; {len(missing)} in the roster without a submission" if missing else ""))
            hard = sorted(st["exercises"], key=lambda e: e["pass_rate"])[:3]
            if hard:
                say("hardest exercises: " + ", ".join(
                    f"{e['step'].split('_')[0]} {e['exercise']} ({e['pass_rate']}% of tests passed)"
                    for e in hard))
            say(f"written: {out}/grades.csv, summary.json, statistics.md, students/*/report.md, results.json")

    def dry_run(self, subs):
        self.report_problems()
        for s in subs:
            who = getattr(s, "key", "") or s.id
            say(f"{who}: {s.kind or '?'} {s.source}" + (f" ({s.name})" if s.name and s.name != who else ""))
            if s.error:
                say(f"  error: {s.error}")
                continue
            if s.commit:
                say(f"  commit {s.commit['hash'][:12]} {s.commit['date']} {s.commit['subject']}")
            for frm, to in s.taken:
                say(f"  take    {frm} -> {to}")
            for d, (p, _) in s.answers.items():
                say(f"  answers {p} ({d})")
            for p, why in s.ignored[:40]:
                say(f"  ignore  {p}: {why}")
            if len(s.ignored) > 40:
                say(f"  ignore  ... and {len(s.ignored) - 40} more")
            for n in s.notes:
                say(f"  note    {n}")
        return []

    def cleanup(self):
        for d in self.cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)


# -- Gradescope and GitHub Classroom ------------------------------------------

def grade_single(a, source, sid, out):
    """Grade one submission alone (Gradescope, VPL): (grader, result);
    the student's files are written to out/students/ID."""
    a.submissions = [source]
    a.jobs = 1
    a.quiet = True
    g = Grader(a)
    g.setup()
    subs, _ = g.read_all([source])
    subs[0].id, subs[0].key = rostermod.safe_folder(sid), sid
    os.makedirs(out, exist_ok=True)
    try:
        boxes_list, cgroups, isolation = sandbox.make_sandboxes(
            1, g.o.limits, a.uid_base, switch_user=not a.no_user_switch,
            private=g.work_root, weak_ok=a.weak_isolation,
            stress_src=g.stress_src())
    except sandbox.SandboxError:
        g.cleanup()     # refused: run_autograder may try again
        raise
    if not boxes_list[0].tools.sandboxed:
        subs[0].notes.append(isolation)
    boxes_list[0].exclusive = True
    q = queue.Queue()
    q.put(boxes_list[0])
    try:
        r, run = g.grade_one(subs[0], q)
        if run:
            try:
                run.retry(boxes_list[0], run.retry_candidates())
            finally:
                run.cleanup()
            g.score(r)
    finally:
        boxes_list[0].kill_all()
        cgroups.remove()
        sandbox.release_uids()
    g.write_student(out, r, subs[0])
    return g, r


def gradescope(a):
    """Gradescope's autograder: the submission is /autograder/submission,
    the results go to /autograder/results/results.json."""
    root = os.environ.get("GRADESCOPE_ROOT", "/autograder")
    sub_dir = os.path.join(root, "submission")
    results_dir = os.path.join(root, "results")
    os.makedirs(results_dir, exist_ok=True)
    sid = "submission"
    try:
        with open(os.path.join(root, "submission_metadata.json")) as f:
            meta = json.load(f)
        user = (meta.get("users") or [{}])[0]
        sid = user.get("sid") or user.get("email") or user.get("name") or sid
    except (OSError, ValueError):
        pass
    # Gradescope may unpack an upload one folder deep, or keep a zip as is.
    inner = [os.path.join(sub_dir, n) for n in os.listdir(sub_dir)] if os.path.isdir(sub_dir) else []
    source = inner[0] if len(inner) == 1 and inner[0].lower().endswith(intake.ARCHIVE_EXT) else sub_dir
    out = os.path.join(results_dir, "osps")
    g = None
    try:
        g, r = grade_single(a, source, sid, out)
        res = outputs.gradescope_json(r, g.steps)
        with open(os.path.join(out, "students", r["id"], "report.md"), encoding="utf-8") as f:
            report = f.read()
        # Gradescope shows at most about 64 KB: the summary comes first.
        res["output"] = report if len(report) <= 60000 else report[:59000] + \
            "\n\n(cut here: the full report is in the autograder's results, osps/)\n"
        res["output_format"] = "md"
        outputs.write_json(os.path.join(results_dir, "results.json"), res)
        return 0 if not r.get("error") else 1
    finally:
        if g:
            g.cleanup()


def vpl_mode(a):
    """Moodle VPL: grade the one submission in the current directory and
    print VPL's Comment :=>> lines, then Grade :=>> N."""
    cwd = os.getcwd()
    src = vpl.source(cwd)
    out = tempfile.mkdtemp(prefix="osps-vpl-")
    g = None
    try:
        g, r = grade_single(a, src, os.environ.get("MOODLE_USER_NAME") or "student", out)
        with open(os.path.join(out, "students", r["id"], "report.md"), encoding="utf-8") as f:
            report = f.read()
        maximum = r.get("max") or sum(s["score"]["max"] for s in r.get("steps", {}).values())
        for line in vpl.comments(r, maximum, feedback.summary_lines(r, audience="early"), report):
            say(line)
        return 0
    finally:
        if g:
            g.cleanup()
        shutil.rmtree(out, ignore_errors=True)


def classroom_outputs(r, steps):
    """The result GitHub Classroom's autograding-grading-reporter reads
    (base64 JSON in the step output "result")."""
    g = outputs.gradescope_json(r, steps)
    # Shown to the student at once, in the repository's Actions: the tests
    # the rubric keeps back are one line without their names or output.
    kept = [t for t in g["tests"] if t["visibility"] != "visible"]
    g["tests"] = [t for t in g["tests"] if t["visibility"] == "visible"]
    if kept:
        g["tests"].append({"name": f"{len(kept)} hidden test(s)", "output": "",
                           "status": "passed" if all(t["status"] == "passed" for t in kept) else "failed",
                           "score": round(sum(t["score"] for t in kept), 2),
                           "max_score": round(sum(t["max_score"] for t in kept), 2)})
    tests = [{"name": t["name"], "status": "pass" if t["status"] == "passed" else "fail",
              "score": t["score"], "message": (t.get("output") or "")[:1000],
              "line_no": 0, "execution_time": "0s", "test_code": "", "filename": ""}
             for t in g["tests"] if t["max_score"] or t["score"]]
    status = "error" if r.get("error") else ("pass" if r.get("total") == r.get("max") else "fail")
    return {"version": 1, "status": status, "max_score": r.get("max", 0), "tests": tests}


# The one base image the kit's Gradescope files are written for (README).
GRADESCOPE_IMAGE = "Ubuntu 24.04"


def make_gradescope_zip(a):
    """The archive to upload as Gradescope's autograder: setup.sh and
    run_autograder at its root, the kit (without build/ and solutions/)
    under source/... as Gradescope unpacks it into /autograder/source."""
    kit = os.path.abspath(a.kit)
    gs = os.path.join(GRADER_DIR, "gradescope")
    skip = {"build", ".git", "solutions", "__pycache__"}
    with zipfile.ZipFile(a.make_gradescope_zip, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            with open(os.path.join(gs, name), "rb") as f:
                data = f.read()
            if name == "run_autograder" and a.steps:
                # The assignment's steps, fixed in the autograder itself.
                data = data.replace(b'STEPS="${OSPS_STEPS:-}"',
                                    f'STEPS="${{OSPS_STEPS:-{a.steps}}}"'.encode())
            z.writestr(info, data)
        for dirpath, dirnames, files in os.walk(kit):
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for f in sorted(files):
                full = os.path.join(dirpath, f)
                if os.path.islink(full) or f.endswith(".pyc"):
                    continue
                rel = os.path.relpath(full, kit)
                info = zipfile.ZipInfo(os.path.join("kit", rel))
                info.external_attr = (0o100755 if os.access(full, os.X_OK) else 0o100644) << 16
                with open(full, "rb") as fh:
                    z.writestr(info, fh.read())
    say(f"grade: wrote {a.make_gradescope_zip}"
        f"{' (steps ' + a.steps + ')' if a.steps else ' (every ready step)'}: upload it as the "
        f"assignment's autograder (Gradescope: Configure Autograder, Zip file upload, "
        f"base image {GRADESCOPE_IMAGE})")
    return 0


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if a.make_gradescope_zip:
        return make_gradescope_zip(a)
    if a.make_vpl:
        return vpl.make_vpl(a.make_vpl, os.path.abspath(a.kit), a.steps, say)
    try:
        if a.gradescope:
            return gradescope(a)
        if a.vpl:
            return vpl_mode(a)
        g = Grader(a)
        try:
            g.setup()
            out = a.out or datetime.datetime.now().strftime("grades-%Y%m%d-%H%M%S")
            results = g.run(a.submissions, out)
            if a.classroom and results:
                r = results[0]
                summary = os.environ.get("GITHUB_STEP_SUMMARY")
                report = os.path.join(out, "students", r["id"], "report.md")
                if summary and os.path.exists(report):
                    with open(summary, "a", encoding="utf-8") as f, open(report, encoding="utf-8") as rf:
                        f.write(rf.read())
                gh_out = os.environ.get("GITHUB_OUTPUT")
                if gh_out:
                    payload = base64.b64encode(json.dumps(classroom_outputs(r, g.steps)).encode()).decode()
                    with open(gh_out, "a") as f:
                        f.write(f"result={payload}\n")
                say(f"Points {outputs.fmt(r.get('total', 0))}/{outputs.fmt(r.get('max', 0))}")
            return 1 if any(r.get("error") for r in results) or g.problems else 0
        finally:
            g.cleanup()
    except sandbox.SandboxError as e:
        say(f"grade: {e}", file=sys.stderr)
        return 1
    except (KitError, scoring.RubricError, ValueError, OSError) as e:
        say(f"grade: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("grade: interrupted", file=sys.stderr)
        return 130
