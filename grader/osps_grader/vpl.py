"""vpl.py - Moodle's Virtual Programming Lab (VPL): the grader as its
evaluation. VPL runs vpl_evaluate.sh (grader/vpl/) in the directory of
the student's files; the grader then grades "the one submission in the
current directory" and prints what VPL reads:

    Comment :=>>-Step 1: 72.5 / 100        a title in VPL's comments
    Comment :=>>  1.2: -20: ...            a line of feedback
    <|--  ...  --|>                        the full report, preformatted
    Grade :=>> 72.5                        the last line: the grade

Grade :=>> is the grader's total, the same as `grader/grade` gives: set
the activity's maximum grade to the grader's maximum (printed as the
first comment).
"""
import os
import tarfile

from .feedback import fmt

# VPL's own files and the kit's archive, in the student's directory.
VPL_FILES = {"vpl_evaluate.sh", "vpl_execution", "vpl_run.sh", "vpl_debug.sh",
             "vpl_environment.sh", "vpl_evaluate.cases", "osps-kit.tar.gz"}
ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
SKIP = {"build", ".git", "solutions", "__pycache__"}


def source(cwd):
    """What to grade in cwd: the one archive uploaded (when no source
    file sits beside it), else cwd itself."""
    names = [n for n in os.listdir(cwd) if n not in VPL_FILES and not n.startswith(".")]
    archives = [n for n in names if n.lower().endswith(ARCHIVES) and os.path.isfile(os.path.join(cwd, n))]
    if len(archives) == 1 and not any(n.endswith((".c", ".h")) or n.startswith("step") for n in names):
        return os.path.join(cwd, archives[0])
    return cwd


def comments(r, max_total, summary, report):
    """VPL's lines for result r (summary: feedback.summary_lines)."""
    out = [f"Comment :=>>-Total: {fmt(r.get('total', 0))} / {fmt(max_total)}"]
    if r.get("error"):
        out.append(f"Comment :=>>The submission could not be graded: {r['error']}")
    for line in summary:
        title = line.startswith("Step ")
        out.append("Comment :=>>" + ("-" if title else "") + line)
    out.append("<|--")
    out.append("-Details")
    out += [">" + line for line in report.splitlines()[:400]]
    out.append("--|>")
    out.append(f"Grade :=>> {fmt(r.get('total', 0))}")
    return out


def make_vpl(dest, kit, steps, say):
    """Write dest/vpl_evaluate.sh (the steps filled in) and
    dest/osps-kit.tar.gz (the kit without solutions/ and build/)."""
    os.makedirs(dest, exist_ok=True)
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vpl")
    with open(os.path.join(here, "vpl_evaluate.sh"), encoding="utf-8") as f:
        script = f.read()
    if steps:
        script = script.replace('STEPS="${OSPS_STEPS:-}"', f'STEPS="${{OSPS_STEPS:-{steps}}}"')
    path = os.path.join(dest, "vpl_evaluate.sh")
    with open(path, "w", encoding="utf-8") as f:
        f.write(script)
    os.chmod(path, 0o755)

    def keep(info):
        parts = info.name.split("/")
        if any(p in SKIP for p in parts) or info.name.endswith(".pyc") or info.issym():
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info
    with tarfile.open(os.path.join(dest, "osps-kit.tar.gz"), "w:gz") as t:
        t.add(kit, arcname="kit", filter=keep)
    say(f"grade: wrote {dest}/vpl_evaluate.sh and {dest}/osps-kit.tar.gz"
        f"{' (steps ' + steps + ')' if steps else ' (every ready step)'}: in the VPL activity, "
        "Execution files: add both, and tick both under Files to keep when running; "
        "see grader/README.md, Moodle VPL")
    return 0
