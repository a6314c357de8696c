"""sandbox.py - where and how a submission's commands run.

Each parallel worker (a "slot") owns a sandbox. What it can do depends on
the grader's privileges:

  as root (a VM, a container, Gradescope): every command runs as a uid of
    its own per slot (no password entry needed), so RLIMIT_NPROC binds (a
    fork bomb stops at the process limit), the submission cannot signal,
    trace or open the grader's processes, nor write the kit's copy or the
    grader's outputs, nor touch another slot's files; everything it leaves
    (processes, /dev/shm and /tmp entries, System V IPC) is found by owner
    and removed. A pids cgroup per slot is added when the kernel offers
    one (v1 or v2), which also caps the process count.
  as an ordinary user: same limits, but every submission runs as you. The
    jail still finds escaped processes (it is their subreaper) and a
    watchdog counts each submission's processes, yet a submission can
    signal your other processes, read your files and, with -j > 1, the
    leftovers in /dev/shm cannot be told apart. Grade as root in a VM or
    container, or as a dedicated user, for full protection (README).
"""
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
import selectors

HERE = os.path.dirname(os.path.abspath(__file__))
JAIL = os.path.join(HERE, "jail.py")
SHARED_TMP = ("/dev/shm", "/tmp", "/var/tmp", "/dev/mqueue")


class Limits:
    """Resource limits for one submission (see rubric [limits])."""

    def __init__(self, **kw):
        self.cpu = 60                   # CPU seconds per process
        self.memory = 2048              # MiB of address space per process
        self.file_size = 64             # MiB per file written
        self.processes = 256            # processes at once
        self.open_files = 4096
        self.disk = 1024                # MiB written in tmp dirs and /dev/shm
        self.__dict__.update({k: v for k, v in kw.items() if v is not None})

    def rlimits(self, valgrind=False):
        mib = 1024 * 1024
        mem = self.memory * mib * (8 if valgrind else 1)
        return [("cpu", int(self.cpu * (10 if valgrind else 1))), ("as", mem),
                ("fsize", self.file_size * mib), ("nofile", self.open_files), ("core", 0)]


def is_root():
    return os.geteuid() == 0


def free_uid(base, count):
    """A run of count uids from base up that no account and no running
    process uses."""
    running = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                running.add(os.stat(f"/proc/{name}").st_uid)
            except OSError:
                pass
    uid = base
    while uid < base + 100000:
        block = range(uid, uid + count)
        clash = [u for u in block if u in running or _has_account(u)]
        if not clash:
            return uid
        uid = clash[-1] + 1
    raise RuntimeError("no free uid range for the sandboxes")


def _has_account(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


class Cgroups:
    """A pids cgroup per slot under one parent, when the kernel has one
    we may write (v2 with the pids controller, or v1's pids hierarchy)."""

    def __init__(self, processes):
        self.parent = None
        self.limit = processes
        if not is_root():
            return
        name = f"osps-grader-{os.getpid()}"
        candidates = []
        v2 = "/sys/fs/cgroup"
        try:
            with open(os.path.join(v2, "cgroup.controllers")) as f:
                if "pids" in f.read().split():
                    candidates.append(os.path.join(v2, name))
        except OSError:
            pass
        if os.path.exists("/sys/fs/cgroup/pids/cgroup.procs"):
            candidates.append(os.path.join("/sys/fs/cgroup/pids", name))
        for path in candidates:
            try:
                os.mkdir(path)
                if path.startswith("/sys/fs/cgroup/pids/") is False:
                    with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
                        f.write("+pids")
                self.parent = path
                return
            except OSError:
                try:
                    os.rmdir(path)
                except OSError:
                    pass

    def slot(self, n):
        if not self.parent:
            return None
        path = os.path.join(self.parent, f"slot{n}")
        try:
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(self.limit))
            return path
        except OSError:
            return None

    def remove(self):
        if not self.parent:
            return
        for d in sorted(os.listdir(self.parent)):
            p = os.path.join(self.parent, d)
            if os.path.isdir(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
        try:
            os.rmdir(self.parent)
        except OSError:
            pass


class RunResult:
    def __init__(self):
        self.exit = None
        self.signal = None
        self.stdout = ""
        self.timed_out = False
        self.stopped = None         # why the grader stopped it, if it did
        self.leftovers = []         # processes still there when it ended
        self.elapsed = 0.0
        self.flood = False          # more output than the cap: the rest dropped


class Sandbox:
    def __init__(self, slot, limits, uid=None, cgroup=None):
        self.slot = slot
        self.limits = limits
        self.uid = uid              # None: run as the grader's own user
        self.cgroup = cgroup
        # Leftovers in shared places can be told apart: a uid of its own,
        # or no other submission running at the same time.
        self.exclusive = uid is not None
        self.interrupted = False    # the grader is being stopped (Ctrl-C)

    # -- files ------------------------------------------------------------

    def own(self, path, private=True):
        """Give path (a directory) to the sandbox's user."""
        os.makedirs(path, exist_ok=True)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        os.chmod(path, 0o700 if private else 0o755)

    def own_tree(self, path):
        """Give a whole tree to the sandbox's user (a retry may run in
        another slot than the first run)."""
        self.own(path)
        if self.uid is None:
            return
        for dirpath, dirnames, filenames in os.walk(path):
            for n in dirnames + filenames:
                try:
                    os.lchown(os.path.join(dirpath, n), self.uid, self.uid)
                except OSError:
                    pass

    def seal(self, path):
        """Take a tree back from the sandbox: owned by the grader, read-only
        for the sandbox (its programs cannot change the test binaries)."""
        if self.uid is None or not os.path.exists(path):
            return
        for dirpath, dirnames, filenames in os.walk(path):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                try:
                    st = os.lstat(name)
                    if stat.S_ISLNK(st.st_mode):
                        os.unlink(name)
                        continue
                    os.chown(name, 0, 0)
                    os.chmod(name, stat.S_IMODE(st.st_mode) & 0o755 | 0o444 |
                             (0o111 if st.st_mode & 0o111 or stat.S_ISDIR(st.st_mode) else 0))
                except OSError:
                    pass

    # -- processes --------------------------------------------------------

    def jail_cmd(self, argv, report, valgrind=False):
        cmd = [sys.executable, "-I", JAIL, "--report", report]
        if self.uid is not None:
            cmd += ["--uid", str(self.uid), "--gid", str(self.uid)]
            cmd += ["--rlimit", f"nproc={self.limits.processes}"]
        else:
            # RLIMIT_NPROC counts every process of the user: a backstop
            # only, above what runs now (the watchdog does the counting).
            mine = sum(1 for _ in owned_processes(os.getuid()))
            cmd += ["--rlimit", f"nproc={mine + 2 * self.limits.processes}"]
        if self.cgroup:
            cmd += ["--cgroup", self.cgroup]
        for name, value in self.limits.rlimits(valgrind):
            cmd += ["--rlimit", f"{name}={value}"]
        return cmd + ["--", *argv]

    def run(self, argv, env, cwd, report, stderr_path=None, merge_stderr=False,
            timeout=60, output_cap=4 * 1024 * 1024, valgrind=False, watch=()):
        """Run argv in the jail; return a RunResult. stdout is read through
        a pipe (never a file the command could rewrite). timeout is the
        wall-clock limit; watch are directories whose size counts toward
        the disk limit."""
        res = RunResult()
        start = time.monotonic()
        if self.interrupted:
            res.stopped, res.exit = "interrupted: the grader was stopped", 130
            return res
        try:
            os.unlink(report)
        except OSError:
            pass
        errf = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                self.jail_cmd(argv, report, valgrind), cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else errf,
                start_new_session=True)
        finally:
            if stderr_path:
                errf.close()
        chunks, size = [], 0
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = start + timeout
        next_watch = start + 0.5
        stop_sent = None
        while True:
            events = sel.select(timeout=0.2)
            if events:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                if size < output_cap:
                    chunks.append(data[:output_cap - size])
                else:
                    res.flood = True
                size += len(data)
            now = time.monotonic()
            if stop_sent is None:
                reason = None
                if self.interrupted:
                    reason = "interrupted: the grader was stopped"
                elif now > deadline:
                    res.timed_out = True
                    reason = f"time limit: stopped after {timeout:.0f} s"
                elif now > next_watch and watch:
                    next_watch = now + 1.0
                    reason = self.watchdog(proc.pid, watch)
                if reason:
                    res.stopped = reason
                    stop_sent = now
                    self._signal(proc, signal.SIGTERM)
            elif now - stop_sent > 15:
                # The jail did not finish its cleaning: kill it, then do it here.
                self._signal(proc, signal.SIGKILL)
                break
        sel.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        res.stdout = b"".join(chunks).decode("utf-8", "replace")
        try:
            with open(report) as f:
                rep = json.load(f)
            res.exit, res.signal = rep["exit"], rep["signal"]
            res.leftovers = [] if rep["stopped"] else rep["leftovers"]
        except (OSError, ValueError, KeyError):
            res.exit = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            res.leftovers = self.kill_all()
        res.elapsed = time.monotonic() - start
        return res

    def _signal(self, proc, sig):
        try:
            os.kill(proc.pid, sig)
        except OSError:
            pass

    def watchdog(self, jail_pid, watch):
        """A reason to stop the command now, or None: too many processes
        (when neither a cgroup nor a uid of its own bounds them) or too
        much disk written."""
        if self.uid is None and self.cgroup is None:
            n = len(descendants(jail_pid))
            if n > self.limits.processes:
                return f"process limit: more than {self.limits.processes} processes (fork bomb?)"
        used = sum(tree_size(d) for d in watch)
        if self.uid is not None:
            used += sum(st.st_blocks * 512 for _, st in owned_entries(SHARED_TMP, self.uid, deep=True))
        if used > self.limits.disk * 1024 * 1024:
            return f"disk limit: more than {self.limits.disk} MiB written"
        return None

    def kill_all(self, report=None):
        """Kill every process of the sandbox (uid, cgroup) at once."""
        if self.uid is None and self.cgroup is None:
            return []
        report = report or f"/tmp/.osps-kill-{os.getpid()}-{self.slot}.json"
        cmd = [sys.executable, "-I", JAIL, "--kill-only", "--report", report]
        if self.uid is not None:
            cmd += ["--uid", str(self.uid)]
        if self.cgroup:
            cmd += ["--cgroup", self.cgroup]
        subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=120)
        try:
            with open(report) as f:
                found = json.load(f)["leftovers"]
            os.unlink(report)
            return found
        except (OSError, ValueError, KeyError):
            return []

    def sweep_files(self, since=None, claimed=None):
        """Remove what the sandbox left in the shared temporary places
        (/dev/shm, /tmp, /var/tmp, /dev/mqueue) and System V IPC objects;
        return [(kind, path)]. As root: exactly the entries its uid owns.
        Otherwise: entries of our uid created since `since` that are not in
        `claimed` (a snapshot), approximate when submissions run at once."""
        found = []
        if self.uid is not None:
            entries = owned_entries(SHARED_TMP, self.uid)
        elif not self.exclusive:
            return []
        else:
            entries = [(p, st) for p, st in owned_entries(SHARED_TMP, os.getuid())
                       if since and st.st_ctime >= since and p not in (claimed or set())
                       and os.path.basename(p).startswith("osps")]
        for path, st in entries:
            found.append((kind_of(st, path), path))
            remove(path)
        if self.uid is not None:
            found += sysv_ipc_sweep(self.uid)
        return found


def kind_of(st, path):
    if path.startswith("/dev/shm/"):
        return "shared memory segment"
    if path.startswith("/dev/mqueue/"):
        return "message queue"
    if stat.S_ISFIFO(st.st_mode):
        return "FIFO"
    if stat.S_ISSOCK(st.st_mode):
        return "socket"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    return "file"


def remove(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def owned_entries(dirs, uid, deep=False):
    """[(path, stat)] of the entries of dirs owned by uid (top level;
    with deep, every file below them too, for sizes)."""
    out = []
    for d in dirs:
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if st.st_uid != uid:
                continue
            out.append((p, st))
            if deep and stat.S_ISDIR(st.st_mode):
                for dirpath, _, files in os.walk(p):
                    for f in files:
                        try:
                            out.append((os.path.join(dirpath, f), os.lstat(os.path.join(dirpath, f))))
                        except OSError:
                            pass
    return out


def tree_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total


def special_files(path, skip=()):
    """FIFOs and sockets anywhere under path (but in the subdirectories
    whose names start with one of skip): IPC objects left behind."""
    out = []
    for dirpath, dirnames, files in os.walk(path):
        dirnames[:] = [d for d in dirnames if not d.startswith(tuple(skip))] if skip else dirnames
        for f in files + dirnames:
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                out.append((kind_of(st, p), p))
    return out


def sysv_ipc_sweep(uid):
    found = []
    for kind, flag, label in (("shm", "-m", "System V shared memory"),
                              ("sem", "-s", "System V semaphore set"),
                              ("msg", "-q", "System V message queue")):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        head = lines[0].split()
        try:
            iuid, iid = head.index("uid"), head.index(kind + "id" if kind != "sem" else "semid")
        except ValueError:
            continue
        for line in lines[1:]:
            cols = line.split()
            if len(cols) > max(iuid, iid) and int(cols[iuid]) == uid:
                found.append((label, f"id {cols[iid]}"))
                subprocess.run(["ipcrm", flag, cols[iid]], capture_output=True)
    return found


def owned_processes(uid):
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    yield int(name)
            except OSError:
                pass


def descendants(pid):
    """The pids below pid in the process tree."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                s = f.read().decode("ascii", "replace")
            ppid = int(s[s.rfind(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def make_sandboxes(n, limits, uid_base=None, switch_user=True):
    """n sandboxes, one per slot, and the cgroups object to remove at the end."""
    uid0 = None
    if is_root() and switch_user:
        uid0 = free_uid(uid_base or 60100, n)
    cgroups = Cgroups(limits.processes) if is_root() else Cgroups.__new__(Cgroups)
    if not is_root():
        cgroups.parent = None
    boxes = []
    for i in range(n):
        uid = uid0 + i if uid0 is not None else None
        boxes.append(Sandbox(i, limits, uid, cgroups.slot(i)))
    return boxes, cgroups
