"""moodle.py - Moodle's "Download all submissions", as Moodle lays it out.

Moodle's assignment gives one zip (or, unpacked, one folder) holding a
folder per student and submission plugin:

    Chloé Lefèvre_4183_assignsubmission_file_/TP_chloe.zip
    Chloé Lefèvre_4183_assignsubmission_onlinetext_/onlinetext.html
    Jean Dupont_4190_assignsubmission_file_/d.c
    Jean Dupont_4190_assignsubmission_file_/shm_area.c

(older Moodles: "Full Name_4183_assignsubmission_file_TP_chloe.zip", the
files directly at the top). The number is the student's *participant id*
in this assignment ("Participant 4183" in the grading worksheet), not a
user id. Each student's entry becomes one submission: the one archive
they uploaded, or the folder of their loose files. The zip itself is
unpacked here, safely: no absolute path or "..", no symbolic link, a
size limit per file, in total and in entries; nothing in it is run. The
students' own archives are not unpacked: intake reads them in place.
"""
import os
import re
import shutil
import stat
import zipfile

# "Full Name_4183_assignsubmission_file_" (+ "rest" in the flat layout).
FOLDER = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$")
ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
MAX_MEMBER = 64 * 1024 * 1024       # bytes per file in the download-all zip
MAX_TOTAL = 2 * 1024 * 1024 * 1024  # bytes in all
MAX_MEMBERS = 100000


class Entry:
    """One student's entry in the download: name and participant id as
    the folder names them, the path to grade (None: nothing gradable),
    and why not."""

    def __init__(self, name, pid):
        self.name = name
        self.pid = pid
        self.files = []         # paths of what the student uploaded
        self.source = None
        self.problem = ""
        self.row = None         # the roster row, once matched
        self.flat = []          # [(path, the file's own name)]: the flat layout

    @property
    def label(self):
        return f"{self.name}_{self.pid}"


def member_name(info):
    """A zip member's name as written: a zip without the UTF-8 flag (as
    some Moodles write them) is read as cp437 by Python; its UTF-8 bytes
    are decoded again, so that "Chloé" is not "Chlo├⌐"."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def is_layout(path):
    """True for a download-all folder or zip (its entries named as
    Moodle names them), or one student's folder or file of it."""
    if FOLDER.match(os.path.basename(os.path.normpath(path))):
        return True
    try:
        if os.path.isdir(path):
            names = os.listdir(path)
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [member_name(i).split("/", 1)[0] for i in z.infolist()[:200]]
        else:
            return False
    except OSError:
        return False
    return any(FOLDER.match(n) for n in names)


def safe_extract(zpath, dest):
    """Unpack the download-all zip into dest: regular files and folders
    only, each path checked, sizes bounded. Raises ValueError."""
    total = 0
    with zipfile.ZipFile(zpath) as z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"{zpath}: more than {MAX_MEMBERS} entries")
        for info in infos:
            name = member_name(info).replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if name.startswith("/") or ".." in parts or not parts:
                raise ValueError(f"{zpath}: unsafe path {info.filename!r}")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                continue                    # a symbolic link: never created
            target = os.path.join(dest, *parts)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            if info.file_size > MAX_MEMBER:
                raise ValueError(f"{zpath}: {info.filename} is larger than {MAX_MEMBER >> 20} MiB")
            total += info.file_size
            if total > MAX_TOTAL:
                raise ValueError(f"{zpath}: more than {MAX_TOTAL >> 30} GiB uncompressed")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "xb") as out:
                # The declared size can lie: copy at most that much + 1.
                data = src.read(info.file_size + 1)
                if len(data) > info.file_size:
                    raise ValueError(f"{zpath}: {info.filename} is larger than it says")
                out.write(data)
            os.chmod(target, 0o644)


def entries(path, work):
    """The students' entries of a download-all folder or zip (unpacked
    under work), or of one student's folder or file of it, sorted by name."""
    root, names = path, None
    if FOLDER.match(os.path.basename(os.path.normpath(path))):
        root, names = os.path.split(os.path.normpath(path))
        names = [names]
    elif not os.path.isdir(path):
        root = os.path.join(work, "moodle-" + os.path.basename(path))
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        safe_extract(path, root)
    found = {}
    for n in sorted(names or os.listdir(root)):
        m = FOLDER.match(n)
        full = os.path.join(root, n)
        if not m:
            continue
        e = found.setdefault(m["pid"], Entry(m["name"], m["pid"]))
        if m["plugin"] != "file":
            continue                       # online text, comments: not code
        if os.path.isdir(full) and not os.path.islink(full) and not m["rest"]:
            for dp, dn, fn in os.walk(full):
                dn[:] = sorted(d for d in dn if not os.path.islink(os.path.join(dp, d)))
                e.files += [os.path.join(dp, f) for f in sorted(fn)
                            if not os.path.islink(os.path.join(dp, f))]
            e.folder = full
        elif os.path.isfile(full) and not os.path.islink(full) and m["rest"]:
            # The flat layout: the file itself, its own name after the prefix.
            e.flat.append((full, m["rest"]))
            e.files.append(full)
    for e in found.values():
        if e.flat and not hasattr(e, "folder"):
            e.folder = unflatten(e, os.path.join(work, "moodle-flat", e.pid))
        choose(e)
    return sorted(found.values(), key=lambda e: (e.name.casefold(), e.pid))


def unflatten(e, dest):
    """The flat layout's files of one student, under their own names in a
    folder of their own (copies: the download is left as it is)."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    e.files = []
    for path, name in e.flat:
        if "/" in name or name in (".", ".."):
            continue
        shutil.copyfile(path, os.path.join(dest, name))
        e.files.append(os.path.join(dest, name))
    return dest


def choose(e):
    """What to grade in one entry: its one archive, else its folder of
    loose files; e.problem says why there is nothing to grade."""
    archives = [f for f in e.files if f.lower().endswith(ARCHIVES)]
    code = [f for f in e.files if f.endswith((".c", ".h")) or "/step" in f.replace(os.sep, "/")]
    if len(archives) == 1 and not code:
        e.source = archives[0]
    elif len(archives) > 1:
        e.problem = ("several archives uploaded (" + ", ".join(os.path.basename(a) for a in archives)
                     + "): which one to grade is the instructor's choice")
    elif code:
        e.source = e.folder
    elif e.files:
        e.problem = ("nothing gradable: no archive the grader reads (.zip, .tar.gz, .tgz, "
                     ".tar) and no C source among "
                     + ", ".join(os.path.basename(f) for f in e.files[:5]))
    else:
        e.problem = "nothing gradable: no file submitted"


def match(entries_, roster):
    """Match each entry to a roster row by participant id, else by full
    name. Returns the list of (entry, reason) that match none."""
    unmatched = []
    for e in entries_:
        rows = roster.by_participant(e.pid)
        how = "participant id"
        if not rows:
            rows, how = roster.by_name(e.name)
        if len(rows) == 1:
            e.row = rows[0]
        elif rows:
            unmatched.append((e, f"{len(rows)} roster rows are named {e.name!r}: "
                                 "add the grading worksheet's Identifier column to the roster"))
        else:
            unmatched.append((e, f"no roster row with the name {e.name!r} or participant {e.pid}"))
    return unmatched
