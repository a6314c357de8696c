"""similarity.py - pairs of submissions that share their own code.

Every submission starts from the same skeleton, so most of its text is
shared by the whole class; what counts is the code each student wrote.
Learner files are read as text only (never built, never run), then:

 1. the skeleton is subtracted: sim_c (Debian's similarity-tester) finds
    the runs of each learner file that also appear in the kit's skeleton
    of that file (sim_c -S NEW / OLD), and those lines are blanked, with
    comments and preprocessor lines (which sim_c ignores too);
 2. what is left, the learner's own code, is compared pair by pair for
    each step (sim_c -e: every file against every other in isolation).
    sim_c compares tokens: renamed identifiers, another layout, other
    comments or functions in another order do not hide a copy;
 3. a pair's shared fraction is the learner lines of both that lie in a
    shared run, over the learner lines of both. A pair is flagged when the
    fraction reaches the threshold and each side shares at least min_lines
    lines (two nearly empty submissions share nothing worth a look).

Outputs: similarity.csv (every pair that shares anything, ranked),
similarity.md (the ranking, then the shared regions side by side), and a
"similarity" column in grades.csv naming the flagged partners. Scores
never change: a flag asks an instructor to look, it proves nothing.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SIM = "sim_c"
THRESHOLD = 0.5        # shared fraction that flags a pair
MIN_LINES = 8          # shared learner lines, on each side, to flag a pair
RUN = 24               # shortest shared run, in tokens (sim_c's default)
MASK_RUN = 12          # shortest run of skeleton text subtracted
REGION_LINES = 40      # lines shown per region in similarity.md
MAX_DETAILED = 50      # pairs whose regions similarity.md shows
RUN_LINE = re.compile(r"^(\S+): line (\d+)-(\d+)\s*\|(\S+): line (\d+)-(\d+)\s*\[(\d+)\]\s*$")


class SimilarityError(OSError):
    """sim_c is missing or failed."""


def require_sim():
    """Fail now, before a class is graded, if sim_c is not installed."""
    if shutil.which(SIM) is None:
        raise SimilarityError(f"{SIM} not found: install Debian's similarity-tester "
                              "(apt-get install similarity-tester, or make deps)")


class Options:
    def __init__(self, threshold=THRESHOLD, min_lines=MIN_LINES, run=RUN, jobs=None):
        self.threshold = threshold
        self.min_lines = min_lines
        self.run = run
        self.jobs = jobs or os.cpu_count() or 1


def sim_runs(args, files, cwd):
    """The runs sim_c reports for files (paths relative to cwd, "/" for
    its new/old separator): [(file_a, a1, a2, file_b, b1, b2, tokens)]."""
    require_sim()
    r = subprocess.run([SIM, *args, "-n", "-i"], input="\n".join(files) + "\n", cwd=cwd,
                       capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise SimilarityError(f"{SIM} failed: {r.stderr.strip()[-300:]}")
    runs = []
    for line in r.stdout.splitlines():
        m = RUN_LINE.match(line)
        if m:
            a, a1, a2, b, b1, b2, n = m.groups()
            runs.append((a, int(a1), int(a2), b, int(b1), int(b2), int(n)))
    return runs


def code_only(text):
    """text with comments, string contents and preprocessor lines
    blanked, line numbers kept: what is left holds the tokens sim_c reads."""
    text = re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                  lambda m: ('""' if m.group(0)[0] == '"' else "''" if m.group(0)[0] == "'"
                             else "\n" * m.group(0).count("\n")), text, flags=re.S)
    return [("" if line.lstrip().startswith("#") else line) for line in text.split("\n")]


class Corpus:
    """The learner files of a class, on disk for sim_c: orig/ as handed
    in, skel/ the kit's skeleton, own/ the learner's own code (skeleton
    runs, comments and preprocessor lines blanked, line numbers kept)."""

    def __init__(self, root, subs, steps):
        self.root = root
        self.subs = subs
        self.steps = steps
        self.learner = {}       # own/ path -> set of learner line numbers
        self.text = {}          # own/ path -> original lines
        self.owner = {}         # own/ path -> (submission index, step dir, name)

    def write(self, opts):
        jobs = []
        for step in self.steps:
            for name in step.src_files:
                with open(os.path.join(step.path, "src", name), "rb") as f:
                    skel = f.read()
                given = [(i, s.files[step.dir][name]) for i, s in enumerate(self.subs)
                         if not s.error and name in s.files.get(step.dir, {})
                         and s.files[step.dir][name] != skel]
                if not given:
                    continue
                self.put(f"skel/{step.dir}/{name}", skel)
                for i, data in given:
                    self.put(f"orig/{i}/{step.dir}/{name}", data)
                jobs.append((step.dir, name, [i for i, _ in given]))
        with ThreadPoolExecutor(opts.jobs) as pool:
            for _ in pool.map(lambda j: self.subtract(*j), jobs):
                pass

    def put(self, rel, data):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def subtract(self, step_dir, name, who):
        """Blank, in each submission's copy of name, the runs also in the
        skeleton's: own/ keeps only the learner's code."""
        new = [f"orig/{i}/{step_dir}/{name}" for i in who]
        masked = {p: set() for p in new}
        for a, a1, a2, b, _, _, _ in sim_runs(["-e", "-S", "-r", str(MASK_RUN)],
                                              new + ["/", f"skel/{step_dir}/{name}"], self.root):
            if a in masked:
                masked[a].update(range(a1, a2 + 1))
        for i, p in zip(who, new):
            with open(os.path.join(self.root, p), encoding="utf-8", errors="replace") as f:
                text = f.read()
            code = code_only(text)
            own = [("" if n in masked[p] else line) for n, line in enumerate(code, 1)]
            lines = {n for n, line in enumerate(own, 1) if line.strip()}
            if not lines:
                continue
            rel = f"own/{i}/{step_dir}/{name}"
            self.put(rel, "\n".join(own).encode())
            self.learner[rel] = lines
            self.text[rel] = text.split("\n")
            self.owner[rel] = (i, step_dir, name)


class Pair:
    """What two submissions (a < b, their indexes) share."""

    def __init__(self):
        self.lines_a, self.lines_b = set(), set()    # (own path, line)
        self.regions = []               # (path_a, a1, a2, path_b, b1, b2, tokens)


def compare(corpus, opts):
    """{(a, b): Pair} of every pair of submissions sharing a run of their
    own code, each step compared apart (sim_c -e, one call per step)."""
    pairs = {}
    by_step = {}
    for p, (_, step_dir, _) in corpus.owner.items():
        by_step.setdefault(step_dir, []).append(p)

    def one(files):
        return sim_runs(["-e", "-s", "-r", str(opts.run)], sorted(files), corpus.root)
    with ThreadPoolExecutor(opts.jobs) as pool:
        results = list(pool.map(one, [f for f in by_step.values() if len(f) > 1]))
    for runs in results:
        for fa, a1, a2, fb, b1, b2, n in runs:
            ia, ib = corpus.owner[fa][0], corpus.owner[fb][0]
            if ia == ib:
                continue
            if ia > ib:
                fa, a1, a2, fb, b1, b2, ia, ib = fb, b1, b2, fa, a1, a2, ib, ia
            pair = pairs.setdefault((ia, ib), Pair())
            pair.lines_a |= {(fa, k) for k in range(a1, a2 + 1) if k in corpus.learner[fa]}
            pair.lines_b |= {(fb, k) for k in range(b1, b2 + 1) if k in corpus.learner[fb]}
            pair.regions.append((fa, a1, a2, fb, b1, b2, n))
    return pairs


def learner_lines(corpus):
    """{submission index: its learner lines, every step}."""
    total = {}
    for p, lines in corpus.learner.items():
        i = corpus.owner[p][0]
        total[i] = total.get(i, 0) + len(lines)
    return total


def rank(corpus, pairs, opts):
    """The pairs as dicts, most shared first."""
    own = learner_lines(corpus)
    rows = []
    for (a, b), p in pairs.items():
        la, lb = own.get(a, 0), own.get(b, 0)
        frac = (len(p.lines_a) + len(p.lines_b)) / (la + lb) if la + lb else 0.0
        steps = sorted({corpus.owner[r[0]][1] for r in p.regions})
        rows.append({"a": a, "b": b, "fraction": frac, "shared_a": len(p.lines_a),
                     "own_a": la, "shared_b": len(p.lines_b), "own_b": lb,
                     "regions": sorted(p.regions, key=lambda r: -r[6]), "steps": steps,
                     "flagged": frac >= opts.threshold and
                     min(len(p.lines_a), len(p.lines_b)) >= opts.min_lines})
    rows.sort(key=lambda r: (-r["fraction"], -(r["shared_a"] + r["shared_b"]), r["a"], r["b"]))
    return rows


# -- outputs ------------------------------------------------------------------

def pct(x):
    return f"{100 * x:.1f}"


def write_csv(path, subs, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "id_a", "id_b", "shared_percent", "flagged", "shared_lines_a",
                    "own_lines_a", "shared_lines_b", "own_lines_b", "regions", "steps"])
        for k, r in enumerate(rows, 1):
            w.writerow([k, subs[r["a"]].id, subs[r["b"]].id, pct(r["fraction"]),
                        "yes" if r["flagged"] else "no", r["shared_a"], r["own_a"],
                        r["shared_b"], r["own_b"], len(r["regions"]), " ".join(r["steps"])])


def side_by_side(corpus, region, width=60):
    fa, a1, a2, fb, b1, b2, _ = region
    left = corpus.text[fa][a1 - 1:a2][:REGION_LINES]
    right = corpus.text[fb][b1 - 1:b2][:REGION_LINES]
    out = []
    for k in range(max(len(left), len(right))):
        ln = left[k].expandtabs(4)[:width] if k < len(left) else ""
        rn = right[k].expandtabs(4)[:width] if k < len(right) else ""
        out.append(f"{ln:<{width}} | {rn}".rstrip())
    if max(a2 - a1, b2 - b1) + 1 > REGION_LINES:
        out.append(f"... ({max(a2 - a1, b2 - b1) + 1 - REGION_LINES} more lines)")
    return out


def write_md(path, subs, rows, corpus, opts, shown=10):
    flagged = [r for r in rows if r["flagged"]]
    graded = [i for i, s in enumerate(subs) if not s.error]
    lines = ["# Similarity between submissions", "",
             f"{len(graded)} submission(s), {len(graded) * (len(graded) - 1) // 2} pair(s) compared "
             f"with sim_c on the learners' own code (the skeleton subtracted, runs of at least "
             f"{opts.run} tokens); {len(rows)} pair(s) share something, {len(flagged)} flagged "
             f"(at least {pct(opts.threshold)}% shared, {opts.min_lines} lines on each side).",
             "", "A flag asks for a look, it proves nothing: two students may share a source, "
             "an idea or a TA's advice. Scores are unchanged.", "",
             "| rank | submission | submission | shared | lines shared / own | flagged |",
             "|---:|---|---|---:|---|---|"]
    for k, r in enumerate(rows, 1):
        lines.append(f"| {k} | {subs[r['a']].id} | {subs[r['b']].id} | {pct(r['fraction'])}% | "
                     f"{r['shared_a']}/{r['own_a']}, {r['shared_b']}/{r['own_b']} | "
                     f"{'**yes**' if r['flagged'] else 'no'} |")
    if not rows:
        lines.append("| - | | | | | |")
    detailed = rows[:min(max(shown, len(flagged)), MAX_DETAILED)]
    if len(flagged) > len(detailed):
        lines += ["", f"The shared regions of the first {len(detailed)} pairs follow; "
                  f"{len(flagged) - len(detailed)} more flagged pair(s) are in the table above."]
    for k, r in enumerate(detailed, 1):
        a, b = subs[r["a"]].id, subs[r["b"]].id
        lines += ["", f"## {k}. {a} and {b}: {pct(r['fraction'])}% shared"
                  f"{' (flagged)' if r['flagged'] else ''}", ""]
        for reg in r["regions"][:20]:
            fa, a1, a2, fb, b1, b2, n = reg
            _, step_dir, na = corpus.owner[fa]
            nb = corpus.owner[fb][2]
            lines += [f"{step_dir}: {a} {na}:{a1}-{a2} | {b} {nb}:{b1}-{b2} ({n} tokens)", "",
                      "```c", *side_by_side(corpus, reg), "```", ""]
        if len(r["regions"]) > 20:
            lines.append(f"... and {len(r['regions']) - 20} shorter region(s)")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def partners(subs, rows):
    """{submission id: "bob 92.3%; carol 61.0%"} for the flagged pairs."""
    out = {}
    for r in rows:
        if r["flagged"]:
            a, b = subs[r["a"]].id, subs[r["b"]].id
            out.setdefault(a, []).append(f"{b} {pct(r['fraction'])}%")
            out.setdefault(b, []).append(f"{a} {pct(r['fraction'])}%")
    return {k: "; ".join(v) for k, v in out.items()}


def flag_grades_csv(path, flags):
    """Add a "similarity" column to grades.csv: the flagged partners of
    each student. Every other column, the scores included, is kept as is."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    head = [h.strip().lower() for h in rows[0]]
    key = head.index("id") if "id" in head else 0
    if "similarity" not in head:
        rows[0].append("similarity")
    col = len(rows[0]) - 1 if "similarity" not in head else head.index("similarity")
    for row in rows[1:]:
        row += [""] * (col + 1 - len(row))
        row[col] = flags.get(row[key], "")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def report(out, subs, steps, opts, work=None):
    """Compare, then write out/similarity.md and out/similarity.csv;
    returns (ranked pairs, {id: flagged partners})."""
    os.makedirs(out, exist_ok=True)
    root = tempfile.mkdtemp(prefix="osps-similar-", dir=work)
    try:
        corpus = Corpus(root, subs, steps)
        corpus.write(opts)
        rows = rank(corpus, compare(corpus, opts), opts)
        write_csv(os.path.join(out, "similarity.csv"), subs, rows)
        write_md(os.path.join(out, "similarity.md"), subs, rows, corpus, opts)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows, partners(subs, rows)


def for_class(out, subs, steps, opts, say=print, work=None):
    """The whole job for a class: the reports, then the flags in
    out/grades.csv if it exists. Returns the number of flagged pairs."""
    rows, flags = report(out, subs, steps, opts, work)
    grades = os.path.join(out, "grades.csv")
    if os.path.exists(grades):
        flag_grades_csv(grades, flags)
    n = sum(1 for r in rows if r["flagged"])
    top = (f"; most shared: {subs[rows[0]['a']].id} and {subs[rows[0]['b']].id}, "
           f"{pct(rows[0]['fraction'])}%") if rows else ""
    say(f"similarity: {len(rows)} pair(s) share code, {n} flagged{top}; written: "
        f"{out}/similarity.md, similarity.csv"
        + (", the similarity column of grades.csv" if os.path.exists(grades) else ""))
    return n


def add_arguments(p):
    """The options of the comparison, shared by grader/similar and
    grader/grade --similarity."""
    p.add_argument("--threshold", type=float, default=100 * THRESHOLD, metavar="PERCENT",
                   help="flag the pairs sharing at least this percentage of their own "
                        "code (default: %(default)s)")
    p.add_argument("--min-lines", type=int, default=MIN_LINES, metavar="N",
                   help="and at least N shared lines on each side (default: %(default)s)")
    p.add_argument("--min-run", type=int, default=RUN, metavar="TOKENS",
                   help="shortest shared run, in tokens (default: %(default)s)")


def class_options(percent, jobs=None, min_lines=MIN_LINES, run=RUN):
    """The Options for a threshold in percent, checked, and sim_c found:
    called before any work, so that a mistake costs no grading time."""
    if not 0 < percent <= 100:
        raise ValueError(f"similarity threshold {percent}: a percentage, above 0 and at most 100")
    if min_lines < 1 or run < 2:
        raise ValueError("similarity: --min-lines must be at least 1 and --min-run at least 2")
    require_sim()
    return Options(percent / 100, min_lines, run, jobs)


def main(argv):
    """grader/similar: compare submissions without grading them."""
    import argparse
    import datetime
    from . import intake
    from .kit import DEFAULT_KIT, Kit, KitError
    p = argparse.ArgumentParser(
        prog="grader/similar", description="Rank every pair of submissions by the share of "
        "their own code they have in common (sim_c, the skeleton subtracted), and write "
        "similarity.md and similarity.csv. Learner files are read as text, never built or run.",
        epilog="example: grader/similar -o grades-2026-03-02 submissions/*")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="a directory, a .tar.gz/.tgz/.tar/.zip archive, or a git repository")
    p.add_argument("-o", "--out", help="results directory (default: similarity-DATE-TIME); "
                   "a grades.csv there gets a similarity column")
    p.add_argument("--steps", help="steps to compare, e.g. 1,2 (default: the kit's STEPS_READY)")
    p.add_argument("--kit", default=DEFAULT_KIT, help="the instructor's kit (default: %(default)s)")
    p.add_argument("--roster", help="class list (CSV) mapping submissions to students")
    p.add_argument("--before", metavar="DATE",
                   help="git repositories: the last commit before DATE")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="sim_c processes at once (default: %(default)s)")
    add_arguments(p)
    a = p.parse_args(argv)
    try:
        opts = class_options(a.threshold, a.jobs, a.min_lines, a.min_run)
        kit = Kit(os.path.abspath(a.kit))
        steps = kit.select([int(x) for x in a.steps.split(",")] if a.steps else None)
        subs = [intake.read_submission(os.path.abspath(s), steps, a.before) for s in a.submissions]
        if a.roster:
            roster = intake.Roster(a.roster)
            for s in subs:
                row = roster.match(s.id)
                if row is not None:
                    s.id = roster.row_id(row)
        intake.unique_ids(subs)
        for s in subs:
            if s.error:
                print(f"similar: {s.id}: {s.error} (left out)")
        out = a.out or datetime.datetime.now().strftime("similarity-%Y%m%d-%H%M%S")
        for_class(out, subs, steps, opts)
        return 0
    except (KitError, SimilarityError, ValueError, OSError) as e:
        print(f"similar: {e}", file=sys.stderr)
        return 2
