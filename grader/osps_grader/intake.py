"""intake.py - read submissions and take only the learner's files.

A submission is a directory (a student's copy of the kit, or just their
step directories, or even a few loose .c/.h files), a .tar.gz/.tgz/.tar or
.zip archive, or a local git repository (its HEAD commit, or the last one
before --before DATE). Nothing is extracted wholesale: every entry is
listed, and only these are read:

  stepN_*/src/NAME   where NAME is a file of the kit's own stepN_*/src
                     (the skeleton's file list: d.c, proto.h, ...)
  stepN_*/ANSWERS.md (or answers.md, ANSWERS.txt): the learner's answers
                     to the step's questions, kept for the instructor

Everything else (tests, Makefiles, common/, scripts, helpers, new files in
src/, symbolic links, oversized files) is ignored and listed as such: the
tests always come from the instructor's copy of the kit.
"""
import csv
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zipfile

MAX_FILE = 512 * 1024           # bytes per learner file
MAX_ENTRIES = 50000             # entries listed per submission
ANSWER_NAMES = ("ANSWERS.md", "answers.md", "Answers.md", "ANSWERS.txt", "answers.txt")
KIT_PATHS = ("Makefile", "mk", "scripts", "tests", "common", "solutions", "grader",
             ".ci", "README.md", ".gitignore", "step.mk", "exercises.json")
ARCHIVE_EXT = (".tar.gz", ".tgz", ".tar", ".zip")


class Entry:
    """One entry of a submission: a path, its kind and a way to read it."""

    def __init__(self, path, kind, size, read):
        self.path = path        # relative, "/"-separated
        self.kind = kind        # "file", "dir", "link" or "other"
        self.size = size
        self.read = read        # read(limit) -> bytes


class Submission:
    def __init__(self, source, sid):
        self.source = source            # the path given on the command line
        self.id = sid                   # the student's id
        self.name = ""                  # display name (from the roster)
        self.email = ""
        self.kind = ""                  # "dir", "tar", "zip", "git", "files"
        self.commit = None              # {"hash", "date", "author", "subject"}
        self.files = {}                 # step dir -> {name: bytes}
        self.answers = {}               # step dir -> (path, bytes)
        self.taken = []                 # [(path in submission, step dir/src/name)]
        self.ignored = []               # [(path, reason)]
        self.notes = []
        self.error = None               # the submission could not be read

    def summary(self):
        return {"taken": [{"from": a, "to": b} for a, b in self.taken],
                "ignored": [{"path": p, "reason": r} for p, r in self.ignored],
                "answers": {d: p for d, (p, _) in self.answers.items()},
                "notes": self.notes}


def _safe(path):
    """A relative path without "..", or None."""
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    path = path.strip("/") if not path.startswith("/") else None
    if path is None or any(p == ".." for p in path.split("/")):
        return None
    return path


def _dir_entries(root):
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in sorted(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if os.path.islink(full):
                entries.append(Entry(rel, "link", 0, None))
            elif os.path.isdir(full):
                entries.append(Entry(rel, "dir", 0, None))
            elif os.path.isfile(full):
                def read(limit, full=full):
                    with open(full, "rb") as f:
                        return f.read(limit)
                entries.append(Entry(rel, "file", st.st_size, read))
            else:
                entries.append(Entry(rel, "other", 0, None))
            if len(entries) > MAX_ENTRIES:
                return entries
    return entries


def _tar_entries(tf):
    entries = []
    for m in tf:
        path = _safe(m.name)
        if path is None:
            entries.append(Entry(m.name, "unsafe", 0, None))
        elif m.isfile():
            def read(limit, m=m):
                f = tf.extractfile(m)
                return f.read(limit) if f else b""
            entries.append(Entry(path, "file", m.size, read))
        elif m.isdir():
            entries.append(Entry(path, "dir", 0, None))
        elif m.issym() or m.islnk():
            entries.append(Entry(path, "link", 0, None))
        else:
            entries.append(Entry(path, "other", 0, None))
        if len(entries) > MAX_ENTRIES:
            break
    return entries


def _zip_entries(zf):
    entries = []
    for info in zf.infolist()[:MAX_ENTRIES]:
        path = _safe(info.filename)
        # A symbolic link stored by Info-ZIP: the Unix mode in the high bits.
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if path is None:
            entries.append(Entry(info.filename, "unsafe", 0, None))
        elif info.is_dir():
            entries.append(Entry(path, "dir", 0, None))
        elif is_link:
            entries.append(Entry(path, "link", 0, None))
        else:
            def read(limit, info=info):
                with zf.open(info) as f:
                    return f.read(limit)
            entries.append(Entry(path, "file", info.file_size, read))
    return entries


def is_git(path):
    return os.path.isdir(path) and (
        os.path.lexists(os.path.join(path, ".git")) or
        (os.path.exists(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))))


# Git reads a submission as data only: a repository of the grader's own
# (its config, no hooks, no attributes) over a copy of the submission's
# objects, with the system's and the user's configuration shut out. The
# submission's .git/config (filters, core.*, include, includeIf, hooks),
# its .gitattributes, objects/info/alternates, replace refs and symbolic
# links are never read, run or followed: only regular files are copied,
# and blobs are read with cat-file, which applies no filter.
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0",
           "GIT_NO_LAZY_FETCH": "1", "LC_ALL": "C"}
SHA = re.compile(r"^[0-9a-f]{40}$")


def _regular(path):
    """path if it is a regular file (not a link), else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return path if stat.S_ISREG(st.st_mode) else None


def _git_dir(path):
    """The submission's git directory: path/.git (a directory, not the
    .git file of a worktree, which points elsewhere) or path (bare)."""
    dot = os.path.join(path, ".git")
    if os.path.lexists(dot):
        if os.path.islink(dot) or not os.path.isdir(dot):
            raise ValueError(".git is not a directory (a worktree or a link): not read")
        return dot
    return path


def _resolve_head(gitdir):
    """The commit HEAD names, read from the files (never followed outside)."""
    name = "HEAD"
    for _ in range(5):
        f = _regular(os.path.join(gitdir, name))
        value = None
        if f:
            with open(f, encoding="ascii", errors="replace") as fh:
                value = fh.read(200).strip()
        elif _regular(os.path.join(gitdir, "packed-refs")):
            with open(os.path.join(gitdir, "packed-refs"), encoding="ascii", errors="replace") as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == name:
                        value = parts[0]
        if value is None:
            break
        if SHA.match(value):
            return value
        if not value.startswith("ref: refs/") or ".." in value:
            break
        name = value[5:]
    raise ValueError("no commit in this repository (HEAD names none)")


def _copy_objects(gitdir, dest):
    """Copy the regular files of gitdir/objects (loose objects and packs;
    not info/alternates) into dest/objects."""
    src = os.path.join(gitdir, "objects")
    if os.path.islink(src) or not os.path.isdir(src):
        raise ValueError("objects/ is not a directory")
    total = 0
    for sub in sorted(os.listdir(src)):
        if not (re.match(r"^[0-9a-f]{2}$", sub) or sub == "pack"):
            continue
        d = os.path.join(src, sub)
        if os.path.islink(d) or not os.path.isdir(d):
            continue
        os.makedirs(os.path.join(dest, "objects", sub), exist_ok=True)
        for n in os.listdir(d):
            f = _regular(os.path.join(d, n))
            if f:
                total += os.path.getsize(f)
                if total > 512 * 1024 * 1024:
                    raise ValueError("more than 512 MiB of git objects")
                shutil.copyfile(f, os.path.join(dest, "objects", sub, n), follow_symlinks=False)


def _git(repo, *args, data=None, timeout=120):
    env = dict(os.environ, **GIT_ENV, GIT_DIR=repo, HOME=repo)
    env.pop("GIT_CONFIG_PARAMETERS", None)
    for k in ("GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
              "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_EXEC_PATH"):
        env.pop(k, None)
    p = subprocess.run(["git", *args], input=data, capture_output=True, env=env,
                       timeout=timeout, cwd=repo)
    if p.returncode != 0:
        raise ValueError(f"git {args[0]}: {p.stderr.decode(errors='replace').strip()[:200]}")
    return p.stdout


def _git_entries(sub, path, before):
    gitdir = _git_dir(path)
    head = _resolve_head(gitdir)
    with tempfile.TemporaryDirectory(prefix="osps-git-") as repo:
        for d in ("refs", "objects"):
            os.makedirs(os.path.join(repo, d))
        with open(os.path.join(repo, "HEAD"), "w") as f:
            f.write("ref: refs/heads/main\n")
        with open(os.path.join(repo, "config"), "w") as f:
            f.write("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
        _copy_objects(gitdir, repo)
        rev = ["rev-list", "-1"] + ([f"--before={before}"] if before else []) + [head]
        commit = _git(repo, *rev).decode().strip()
        if not commit:
            raise ValueError(f"no commit{' before ' + before if before else ''} in this repository")
        log = _git(repo, "log", "-1", "--no-show-signature", "--format=%H%x00%cI%x00%an%x00%s",
                   commit).decode("utf-8", "replace").strip().split("\0")
        if len(log) == 4:
            sub.commit = dict(zip(("hash", "date", "author", "subject"), log))
        listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", "-l", commit)
        entries, blobs = [], []
        for rec in listing.split(b"\0"):
            if not rec:
                continue
            meta, _, name = rec.partition(b"\t")
            mode, kind, sha, size = meta.decode().split()
            rel = _safe(name.decode("utf-8", "surrogateescape"))
            if rel is None:
                entries.append(Entry(name.decode("utf-8", "replace"), "unsafe", 0, None))
            elif mode == "120000":
                entries.append(Entry(rel, "link", 0, None))
            elif kind == "blob":
                entries.append(Entry(rel, "file", int(size), None))
                blobs.append((entries[-1], sha))
            else:
                entries.append(Entry(rel, "other", 0, None))
            if len(entries) > MAX_ENTRIES:
                break
        # The contents of the blobs that may be taken, read now (the
        # repository is temporary): cat-file applies no filter.
        wanted = [(e, sha) for e, sha in blobs if e.size <= MAX_FILE + 1 and _maybe_taken(e.path)]
        data = _git(repo, "cat-file", "--batch", data="".join(f"{sha}\n" for _, sha in wanted).encode())
        pos = 0
        for e, sha in wanted:
            header_end = data.index(b"\n", pos)
            header = data[pos:header_end].split()
            if len(header) != 3:        # "<sha> missing": a broken repository
                pos = header_end + 1
                e.read = lambda limit: b""
                continue
            size = int(header[2])
            content = data[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1
            e.read = lambda limit, c=content: c[:limit]
        for e, _ in blobs:
            if e.read is None:
                e.read = lambda limit: b""
        return entries


def _maybe_taken(path):
    parts = path.split("/")
    return (len(parts) >= 2 and parts[-2] == "src") or parts[-1] in ANSWER_NAMES or len(parts) == 1 \
        or path.endswith((".c", ".h"))


def default_id(path):
    name = os.path.basename(os.path.normpath(path))
    for ext in ARCHIVE_EXT + (".git",):
        if name.lower().endswith(ext):
            return name[:-len(ext)]
    return name


def list_entries(sub, before=None):
    path = sub.source
    if os.path.isdir(path):
        if is_git(path):
            sub.kind = "git"
            return _git_entries(sub, path, before)
        sub.kind = "dir"
        if before:
            sub.notes.append(f"--before {before} ignored: not a git repository")
        return _dir_entries(path)
    low = path.lower()
    if low.endswith(".zip"):
        sub.kind = "zip"
        return _zip_entries(zipfile.ZipFile(path))
    if low.endswith((".tar.gz", ".tgz", ".tar")):
        sub.kind = "tar"
        return _tar_entries(tarfile.open(path, mode="r:*"))
    if os.path.isfile(path):
        # A single loose file: a submission of one source file.
        sub.kind = "files"
        st = os.stat(path)

        def read(limit):
            with open(path, "rb") as f:
                return f.read(limit)
        return [Entry(os.path.basename(path), "file", st.st_size, read)]
    raise ValueError("not a directory, an archive (.tar.gz, .tgz, .tar, .zip) or a file")


def _kit_reason(parts):
    if parts[0] == "build":
        return "build output: the grader builds from the sources"
    if parts[0] in KIT_PATHS or parts[-1] in ("Makefile", "step.mk") or parts[-1].endswith(".bats"):
        return "kit file: the instructor's copy is used"
    return "not a learner file"


def select(sub, entries, steps):
    """Fill sub.files, sub.answers, sub.taken and sub.ignored."""
    by_dir = {s.dir: s for s in steps}
    # Where each step's directory is: the shallowest occurrence that is
    # not inside a solutions/ folder.
    roots = {}
    for e in entries:
        parts = e.path.split("/")
        for i, part in enumerate(parts):
            if part in by_dir and "solutions" not in parts[:i]:
                prefix = "/".join(parts[:i + 1])
                best = roots.get(part)
                if best is None or (i, prefix) < (best.count("/"), best):
                    roots[part] = prefix
                break
    flat_step, flat_dir = None, None
    if not roots:
        # Loose files: the step whose skeleton has all of them (the last
        # one graded wins: later steps start from earlier ones' code).
        known = set().union(*({os.path.basename(f) for f in s.src_files} for s in steps))
        cands = [e for e in entries if e.kind == "file" and e.path.split("/")[-1] in known]
        if cands:
            depth = min(e.path.count("/") for e in cands)
            flat_dir = sorted({e.path.rsplit("/", 1)[0] if "/" in e.path else ""
                               for e in cands if e.path.count("/") == depth})[0]
            names = {e.path.split("/")[-1] for e in cands
                     if (e.path.rsplit("/", 1)[0] if "/" in e.path else "") == flat_dir}
            for s in reversed(steps):
                if names <= {os.path.basename(f) for f in s.src_files}:
                    flat_step = s
                    break
            if flat_step is None:
                flat_step = steps[-1]
            sub.notes.append(f"loose source files{' in ' + flat_dir if flat_dir else ''} "
                             f"graded as {flat_step.dir}/src")
    total = 0
    for e in entries:
        if e.kind == "dir":
            continue
        parts = e.path.split("/")
        reason, step, name = None, None, parts[-1]
        if e.kind == "unsafe":
            reason = "unsafe path (absolute or with ..)"
        for d, prefix in roots.items():
            if e.path.startswith(prefix + "/"):
                step = by_dir[d]
                rest = e.path[len(prefix) + 1:].split("/")
                break
        if flat_step is not None and reason is None:
            parent = e.path.rsplit("/", 1)[0] if "/" in e.path else ""
            where = {os.path.basename(f): f for f in flat_step.src_files}
            if parent == flat_dir and name in where:
                step, rest = flat_step, ["src"] + where[name].split("/")
        if reason:
            pass
        elif step is None:
            reason = _kit_reason(parts)
            if any(p in by_dir for p in parts):
                reason = ("in a solutions/ folder" if "solutions" in parts else
                          "another copy of a step directory (the shallowest one is graded)")
            elif any(re.match(r"^step\d+_\w+$", p) for p in parts):
                reason = "a step not graded in this run"
        elif len(rest) == 1 and rest[0] in ANSWER_NAMES:
            if e.kind != "file":
                reason = "not a regular file"
            elif step.dir in sub.answers:
                reason = "a second answer file for this step"
            else:
                sub.answers[step.dir] = (e.path, e.read(MAX_FILE))
                continue
        elif len(rest) >= 2 and rest[0] == "src" and "/".join(rest[1:]) in step.src_files:
            if e.kind == "link":
                reason = "symbolic link: only regular files are taken"
            elif e.kind != "file":
                reason = "not a regular file"
            elif e.size > MAX_FILE:
                reason = f"too large ({e.size} bytes, the limit is {MAX_FILE})"
            else:
                data = e.read(MAX_FILE + 1)
                if len(data) > MAX_FILE:
                    reason = f"too large (the limit is {MAX_FILE} bytes)"
                elif b"\0" in data:
                    reason = "binary content (a NUL byte) in a source file"
                else:
                    total += len(data)
                    rel = "/".join(rest[1:])
                    sub.files.setdefault(step.dir, {})[rel] = data
                    sub.taken.append((e.path, f"{step.dir}/src/{rel}"))
                    continue
        elif len(rest) >= 2 and rest[0] == "src":
            reason = (f"not one of {step.dir}'s files (only "
                      f"{', '.join(step.src_files)} are taken)")
        elif rest[0] == "tests" or rest[-1] in ("step.mk", "README.md", "exercises.json"):
            reason = "kit file: the instructor's copy is used"
        else:
            reason = "not a learner file"
        sub.ignored.append((e.path + ("/" if e.kind == "dir" else ""), reason))
    if len(entries) > MAX_ENTRIES:
        sub.notes.append(f"more than {MAX_ENTRIES} entries: the rest were not looked at")
    for s in steps:
        if s.dir not in sub.files:
            sub.notes.append(f"no file for {s.dir}: graded as the untouched skeleton")


def read_submission(source, steps, before=None, sid=None):
    sub = Submission(source, sid or default_id(source))
    try:
        entries = list_entries(sub, before)
        select(sub, entries, steps)
    except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile,
            subprocess.SubprocessError, EOFError) as e:
        sub.error = f"cannot read {source}: {e}"
    return sub


class Roster:
    """A class list (CSV with a header): maps a submission's name to a
    student's id, name and email. The id column is the first of id, sid,
    student_id, identifier, github_username, email present, else the
    first column; a submission matches a row when its name equals any of
    the row's values, or ends with "-VALUE" (GitHub Classroom names
    repositories ASSIGNMENT-USERNAME)."""

    ID_COLUMNS = ("id", "sid", "student_id", "student id", "identifier",
                  "github_username", "login", "email")

    def __init__(self, path):
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"{path}: no student in the roster")
        cols = list(rows[0].keys())
        low = {c.lower().strip(): c for c in cols}
        self.id_col = next((low[c] for c in self.ID_COLUMNS if c in low), cols[0])
        self.rows = rows
        self.cols = cols
        self.low = low

    def _col(self, *names):
        return next((self.low[n] for n in names if n in self.low), None)

    def row_id(self, row):
        return (row.get(self.id_col) or "").strip()

    def display(self, row):
        name = self._col("name", "full name", "student name")
        if name:
            return row.get(name, "").strip()
        first, last = self._col("first name", "first_name"), self._col("last name", "last_name")
        return " ".join(row.get(c, "").strip() for c in (first, last) if c).strip()

    def email(self, row):
        col = self._col("email", "e-mail", "mail")
        return row.get(col, "").strip() if col else ""

    def match(self, name):
        n = name.lower()
        exact = [r for r in self.rows if any(v and v.strip().lower() == n for v in r.values())]
        if len(exact) == 1:
            return exact[0]
        suffix = [r for r in self.rows
                  if any(v and n.endswith("-" + v.strip().lower()) for v in r.values() if v.strip())]
        if len(suffix) == 1:
            return suffix[0]
        return None


def unique_ids(subs):
    """Make the ids unique ("-2", "-3"...). Any printable character is
    kept ("+1+1", "a,b", "=cmd", "élève"): the grader's paths never use
    an id as is (runner.work_name), and only "/", control characters and
    a leading "." (a path, a hidden or parent directory) are replaced."""
    seen = {}
    for s in subs:
        base = re.sub(r"[/\x00-\x1f\x7f]", "_", s.id.strip())
        base = re.sub(r"^\.", "_", base) or "student"
        sid, k = base, 1
        while sid in seen:
            k += 1
            sid = f"{base}-{k}"
        seen[sid] = s
        s.id = sid
