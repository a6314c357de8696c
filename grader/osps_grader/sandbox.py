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
import fcntl
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
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
        self.memory_total = 2048        # MiB of memory for all its processes at once
        self.cpu_total = 70             # CPU seconds for all of a step's commands together
        self.__dict__.update({k: v for k, v in kw.items() if v is not None})

    def rlimits(self, valgrind=False):
        mib = 1024 * 1024
        mem = self.memory * mib * (8 if valgrind else 1)
        return [("cpu", int(self.cpu * (10 if valgrind else 1))), ("as", mem),
                ("fsize", self.file_size * mib), ("nofile", self.open_files), ("core", 0)]


def is_root():
    return os.geteuid() == 0


UID_LOCKS = []


def free_uid(base, count):
    """A run of count uids from base up that no account, no running
    process and no other grader run on this machine uses (each uid is
    reserved by a lock held until the grader exits)."""
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
            locks = [_lock_uid(u) for u in block]
            if all(locks):
                UID_LOCKS.extend(locks)
                return uid
            for fd in locks:
                if fd:
                    _unlock(fd)
            clash = [u for u, fd in zip(block, locks) if not fd]
        uid = clash[-1] + 1
    raise RuntimeError("no free uid range for the sandboxes")


def _lock_path(uid):
    return os.path.join(tempfile.gettempdir(), f".osps-grader-uid-{uid}.lock")


def _lock_uid(uid):
    """An open, locked descriptor reserving uid for this run, or None."""
    fd = os.open(_lock_path(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        fd_uid[fd] = uid
        return fd
    except OSError:
        os.close(fd)
        return None


fd_uid = {}


def _unlock(fd):
    try:
        os.unlink(_lock_path(fd_uid.pop(fd)))
    except (OSError, KeyError):
        pass
    os.close(fd)


def release_uids():
    """Give the reserved uids back (end of the run)."""
    while UID_LOCKS:
        _unlock(UID_LOCKS.pop())


def _has_account(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


class Cgroups:
    """A cgroup per slot for each controller the machine lets us use: pids
    (a process count per submission), memory (a total per submission:
    three processes of 1.5 GiB meet it), cpu (the slots share the CPU
    equally: a submission that spins cannot starve its neighbour's timing
    tests), cpuacct (v1 only: the CPU time of all a slot's processes,
    which v2 counts in every cgroup's cpu.stat; see cpu_seconds). cgroup
    v2 (one tree) or v1 (one tree per controller, some mounted together);
    as root only. What could not be made is listed in `missing`."""

    CONTROLLERS = ("pids", "memory", "cpu", "cpuacct")

    def __init__(self, limits, enabled=True):
        self.parents = {}           # controller -> our parent directory
        self.limits = limits
        self.missing = list(self.CONTROLLERS)
        self.v2 = False
        if not (enabled and is_root()):
            return
        name = f"osps-grader-{os.getpid()}"
        root = "/sys/fs/cgroup"
        try:
            with open(os.path.join(root, "cgroup.controllers")) as f:
                have = f.read().split()
            self.v2 = True
        except OSError:
            have = None
        if self.v2:
            path = os.path.join(root, name)
            wanted = [c for c in self.CONTROLLERS if c in have]
            try:
                os.mkdir(path)
                with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
                    f.write(" ".join("+" + c for c in wanted))
                self.parents = {c: path for c in wanted}
            except OSError:
                _rmdir(path)
        else:
            for c in self.CONTROLLERS:
                path = os.path.join(root, c, name)
                if not os.path.exists(os.path.join(root, c, "cgroup.procs")):
                    continue
                same = [d for d in self.parents.values()
                        if os.path.realpath(d) == os.path.realpath(path)]
                if same:        # mounted together (cpu,cpuacct): one directory
                    self.parents[c] = same[0]
                    continue
                try:
                    os.mkdir(path)
                    self.parents[c] = path
                except OSError:
                    pass
        self.missing = [c for c in self.CONTROLLERS if c not in self.parents
                        and not (self.v2 and c == "cpuacct" and self.parents)]

    def slot(self, n):
        """The cgroup directories of slot n (one per v1 controller, one in
        v2), each with its limits written."""
        dirs = {}
        for c, parent in self.parents.items():
            path = os.path.join(parent, f"slot{n}")
            try:
                os.makedirs(path, exist_ok=True)
                if c == "pids":
                    _write(path, "pids.max", str(self.limits.processes))
                elif c == "memory":
                    mem = str(self.limits.memory_total * 1024 * 1024)
                    _write(path, "memory.max" if self.v2 else "memory.limit_in_bytes", mem)
                    if self.v2:
                        _write(path, "memory.swap.max", "0", must=False)
                dirs[path] = True
            except OSError:
                pass
        return sorted(dirs)

    def remove(self):
        for parent in set(self.parents.values()):
            try:
                names = os.listdir(parent)
            except OSError:
                continue
            for d in sorted(names):
                p = os.path.join(parent, d)
                if os.path.isdir(p):
                    _rmdir(p)
            _rmdir(parent)


def cpu_seconds(cgroups):
    """The CPU time (user and system) the processes of these cgroups have
    used since they were made, in seconds, or None if none counts it:
    cpuacct.usage (v1, nanoseconds) or cpu.stat's usage_usec (v2)."""
    for cg in cgroups:
        for name, key, unit in (("cpuacct.usage", None, 1e-9), ("cpu.stat", "usage_usec", 1e-6)):
            try:
                with open(os.path.join(cg, name)) as f:
                    for line in f:
                        words = line.split()
                        if key is None and words:
                            return int(words[0]) * unit
                        if len(words) == 2 and words[0] == key:
                            return int(words[1]) * unit
            except (OSError, ValueError):
                pass
    return None


def _write(path, name, value, must=True):
    try:
        with open(os.path.join(path, name), "w") as f:
            f.write(value)
    except OSError:
        if must:
            raise


def _rmdir(path):
    try:
        os.rmdir(path)
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
        self.private_files = []     # left in the sandbox's private /tmp, /dev/shm...
        self.limits_hit = []        # "memory limit: ...", for the feedback
        self.supervisor_killed = False  # the sandbox's supervisor was killed from inside
        self.cpu = None             # CPU seconds used by all its processes (a cgroup counts)


class Sandbox:
    def __init__(self, slot, limits, uid=None, cgroups=(), tools=None):
        self.slot = slot
        self.limits = limits
        self.uid = uid              # None: run as the grader's own user
        self.cgroups = list(cgroups)
        self.cgroup = self.cgroups[0] if self.cgroups else None
        self.tools = tools          # a Tools: the sandbox (bwrap); None: the weak jail only
        # Leftovers in shared places can be told apart: a uid of its own,
        # or no other submission running at the same time.
        self.exclusive = uid is not None
        self.interrupted = False    # the grader is being stopped (Ctrl-C)
        # To measure what the sandbox costs, in one run under one load:
        # OSPS_GRADER_UNSANDBOXED_SLOTS=1 grades slot 1's submissions with
        # the jail only (README: timing).
        self.unsandboxed = str(slot) in os.environ.get("OSPS_GRADER_UNSANDBOXED_SLOTS", "").split(",")

    @property
    def sandboxed(self):
        return self.tools is not None and self.tools.sandboxed and not self.unsandboxed

    def shim_path(self):
        """The unit test shim, as the command sees it."""
        return self.tools.unit_shim if self.sandboxed else self.tools.unit_shim_host

    def stress_path(self):
        """The stress shim, as the command sees it."""
        return self.tools.stress if self.sandboxed else self.tools.stress_host

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

    def jail_cmd(self, argv, report, valgrind=False, mounts=(), cwd=None, fd_map=()):
        cmd = [sys.executable, "-I", JAIL, "--report", report]
        sandboxed = self.sandboxed
        if self.uid is not None:
            cmd += ["--uid", str(self.uid), "--gid", str(self.uid)]
            cmd += ["--rlimit", f"nproc={self.limits.processes}"]
            if sandboxed:
                cmd += ["--keep-root"]  # bwrap runs as root; its supervisor switches
        else:
            # RLIMIT_NPROC counts every process of the user: a backstop
            # only, above what runs now (the watchdog does the counting).
            mine = sum(1 for _ in owned_processes(os.getuid()))
            cmd += ["--rlimit", f"nproc={mine + 2 * self.limits.processes}"]
        for cg in self.cgroups:
            cmd += ["--cgroup", cg]
        for name, value in self.limits.rlimits(valgrind):
            cmd += ["--rlimit", f"{name}={value}"]
        for src, dst in fd_map:
            cmd += ["--fd-map", f"{src}:{dst}"]
        if not sandboxed:
            return cmd + ["--", *argv]
        inner = [self.tools.python, "-I", "-S", self.tools.inner_jail, "--inner"]
        if cwd:
            inner += ["--chdir", cwd]   # as the slot's uid: its directories are private
        if self.uid is not None:
            inner += ["--uid", str(self.uid), "--gid", str(self.uid)]
        for _, dst in fd_map:
            inner += ["--keep-fd", str(dst)]
        for kind, path in mounts:
            inner += ["--ignore", path]
        return cmd + ["--sandboxed", "--"] + self.tools.bwrap_args(self.limits, mounts, cwd) \
            + ["--"] + inner + ["--", *argv]

    def run(self, argv, env, cwd, report, stderr_path=None, merge_stderr=False,
            timeout=60, output_cap=4 * 1024 * 1024, valgrind=False, watch=(), mounts=(),
            pass_fds=(), cpu_total=None, cpu_before=0.0):
        """Run argv in the jail (and in a sandbox of its own: mounts are
        [("ro"|"rw", path)], the only host directories it sees); return a
        RunResult. stdout is read through a pipe (never a file the command
        could rewrite). timeout is the wall-clock limit; watch are
        directories whose size counts toward the disk limit; pass_fds are
        (descriptor, number inside) pairs handed to the command.
        cpu_total: the CPU seconds the submission may use in all, of which
        its earlier commands used cpu_before (counted by the slot's cgroup:
        a total that no per-process limit gives, when it forks many short
        CPU burners); res.cpu is what this command used."""
        res = RunResult()
        start = time.monotonic()
        if self.interrupted:
            res.stopped, res.exit = "interrupted: the grader was stopped", 130
            return res
        cpu0 = cpu_seconds(self.cgroups) if cpu_total is not None else None
        cpu_limit = None if cpu0 is None else \
            (f"CPU time limit: the submission used more than {cpu_total:g} s of CPU in all")
        if cpu_limit and cpu_before >= cpu_total:
            res.stopped, res.exit, res.cpu = cpu_limit, 137, 0.0
            return res
        try:
            os.unlink(report)
        except OSError:
            pass
        errf = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                self.jail_cmd(argv, report, valgrind, mounts, cwd, pass_fds), cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else errf,
                start_new_session=True, pass_fds=[src for src, _ in pass_fds])
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
                elif now > next_watch:
                    next_watch = now + 1.0
                    used = (cpu_seconds(self.cgroups) or cpu0) - cpu0 if cpu_limit else 0
                    if cpu_limit and cpu_before + used > cpu_total:
                        reason = cpu_limit
                    elif watch:
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
            inner = rep.get("inner") or {}
            res.private_files = [] if rep["stopped"] else inner.get("files", [])
            res.limits_hit = [f"disk limit: {f['path']} was full ({f['size'] // (1024 * 1024)} MiB "
                              "for the submission)" for f in inner.get("full", [])]
            if rep.get("oom"):
                res.limits_hit.append(f"memory limit: a process was killed for lack of memory "
                                      f"({self.limits.memory_total} MiB for all the "
                                      "submission's processes)")
            if rep.get("supervisor_killed"):
                res.supervisor_killed = True
        except (OSError, ValueError, KeyError):
            res.exit = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            res.leftovers = self.kill_all()
        if res.signal == signal.SIGXCPU:
            res.limits_hit.append(f"CPU time limit: a process used more than "
                                  f"{self.limits.cpu:g} s of CPU")
        if cpu0 is not None:
            res.cpu = max(0.0, (cpu_seconds(self.cgroups) or cpu0) - cpu0)
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
        if self.uid is None and not self.cgroups:
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
        if self.uid is None and not self.cgroups:
            return []
        report = report or f"/tmp/.osps-kill-{os.getpid()}-{self.slot}.json"
        cmd = [sys.executable, "-I", JAIL, "--kill-only", "--report", report]
        if self.uid is not None:
            cmd += ["--uid", str(self.uid)]
        for cg in self.cgroups:
            cmd += ["--cgroup", cg]
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
        if self.uid is None and self.sandboxed:
            # Sandboxed as ourselves: the submission never saw the shared
            # places; what is there is someone else's.
            return []
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


class SandboxError(Exception):
    """The sandbox cannot be made on this machine (one line: what is
    missing and how to allow it)."""


class Tools:
    """What every sandbox of a run is made with: bubblewrap's arguments,
    and the grader's files mounted inside, read-only (a copy made for the
    run, under the grader's private directory):

      /.osps/jail.py   the sandbox's own supervisor (jail.py --inner)
      bash             an execute-only copy mounted over the system's bash:
                       a program executed without read permission is not
                       dumpable, so the test harness (bats and every shell
                       it runs) cannot be traced, nor its descriptors (the
                       result channel) opened through /proc, by the
                       programs under test, even as the same uid.
    """

    def __init__(self, private):
        self.dir = os.path.join(private, "sandbox-tools")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.jail = os.path.join(self.dir, "jail.py")
        shutil.copyfile(JAIL, self.jail)
        os.chmod(self.jail, 0o444)
        self.inner_jail = "/.osps/jail.py"
        # The supervisor inside runs on the system's python (the grader's
        # may live in a directory the sandbox does not see).
        self.python = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
        self.bash_real = os.path.realpath(shutil.which("bash") or "/bin/bash")
        self.bash = os.path.join(self.dir, "bash")
        shutil.copyfile(self.bash_real, self.bash)
        os.chmod(self.bash, 0o111)
        self.unit_shim_host = os.path.join(self.dir, "osps_unit.so")
        self.build_unit_shim()
        self.unit_shim = "/.osps/osps_unit.so"
        self.extra = [(self.unit_shim_host, self.unit_shim)]
        # The sandbox program (the grader's tests name a missing one to see
        # the refusal).
        self.bwrap = os.environ.get("OSPS_GRADER_BWRAP", "bwrap")
        self.sandboxed = True       # False: the weak jail only (no bwrap)

    def build_unit_shim(self):
        """Compile unit_shim.c (each unit test in a child, its verdict on a
        pipe of the grader's): once per run, by the grader."""
        src = os.path.join(HERE, "unit_shim.c")
        p = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", self.unit_shim_host, src, "-ldl"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise SandboxError(f"cannot build {src}: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
        os.chmod(self.unit_shim_host, 0o555)

    def build_stress_shim(self, src):
        """Compile the kit's stress shim (tests/stress/stress.c, from the
        instructor's kit: a submission's copy is never read), preloaded into
        the programs under test by the kit's helpers with STRESS=1."""
        self.stress_host = os.path.join(self.dir, "libstress.so")
        p = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", self.stress_host, src, "-ldl"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise SandboxError(f"cannot build {src}: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
        os.chmod(self.stress_host, 0o555)
        self.stress = "/.osps/libstress.so"
        self.extra.append((self.stress_host, self.stress))

    def system_mounts(self):
        """The system, read-only: /usr and /etc, and /bin, /lib... as the
        host has them (links into /usr, or directories)."""
        args = []
        for d in ("/usr", "/etc"):
            args += ["--ro-bind", d, d]
        for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(d):
                args += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                args += ["--ro-bind", d, d]
        return args

    def namespaces(self):
        """As root: bwrap makes the namespaces itself (no user namespace,
        so no dependence on unprivileged ones being allowed) and keeps only
        the capabilities the supervisor needs to become the slot's uid.
        Otherwise: everything, through an unprivileged user namespace."""
        if is_root():
            return ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try", "--cap-drop", "ALL",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return ["--unshare-all"]

    def bwrap_args(self, limits, mounts=(), cwd=None):
        size = str(limits.disk * 1024 * 1024)
        args = [self.bwrap, *self.namespaces(), "--die-with-parent", "--new-session",
                "--hostname", "osps-sandbox"] + self.system_mounts()
        args += ["--proc", "/proc", "--dev", "/dev"]
        for d in ("/dev/shm", "/tmp", "/var/tmp", "/run"):
            args += ["--perms", "1777", "--size", size, "--tmpfs", d]
        args += ["--mqueue", "/dev/mqueue"]
        # The directories leading to each mount, made reachable (bwrap
        # makes them as root, private, when it runs as root).
        paths = [p for _, p in mounts]
        made = set()
        for path in paths:
            parts = path.strip("/").split("/")
            for i in range(1, len(parts)):
                anc = "/" + "/".join(parts[:i])
                if anc in made or anc in ("/tmp", "/var", "/var/tmp", "/run", "/dev") or \
                        any(anc == m or anc.startswith(m + "/") for m in paths):
                    continue
                made.add(anc)
                args += ["--perms", "0755", "--dir", anc]
        for kind, path in mounts:
            args += ["--ro-bind" if kind == "ro" else "--bind", path, path]
        args += ["--ro-bind", self.bash, self.bash_real]
        if os.path.realpath("/bin/bash") == self.bash_real and not os.path.islink("/bin") \
                and self.bash_real != "/bin/bash":
            args += ["--ro-bind", self.bash, "/bin/bash"]
        args += ["--perms", "0755", "--dir", "/.osps", "--ro-bind", self.jail, self.inner_jail]
        for host, inside in self.extra:
            args += ["--ro-bind", host, inside]
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/"]
        return args

    def probe(self):
        """None if a sandbox can be made, else the reason, in a few words."""
        if not shutil.which(self.bwrap):
            return f"{self.bwrap} is not installed (Debian package bubblewrap)"
        argv = [self.bwrap, *self.namespaces(), "--die-with-parent"] + self.system_mounts() + \
            ["--proc", "/proc", "--dev", "/dev", "--", "true"]
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")
        except (OSError, subprocess.SubprocessError) as e:
            return f"bwrap: {e}"
        if p.returncode != 0:
            return (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        return None


HOW_TO_ALLOW = ("allow unprivileged user namespaces (Ubuntu 24.04: sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
                "for /usr/bin/bwrap; elsewhere: sysctl kernel.unprivileged_userns_clone=1 "
                "and user.max_user_namespaces > 0), or pass --weak-isolation to grade "
                "without it")


def make_sandboxes(n, limits, uid_base=None, switch_user=True, private=None, weak_ok=False,
                   stress_src=None):
    """n sandboxes, one per slot, the cgroups object to remove at the end,
    and what the isolation is ("bwrap ..." or the weak jail's warning).
    stress_src: the kit's stress shim, to build for them. Raises
    SandboxError when the sandbox cannot be made and weak_ok is not set."""
    uid0 = None
    if is_root() and switch_user:
        uid0 = free_uid(uid_base or 60100, n)
    cgroups = Cgroups(limits)
    tools = Tools(private or tempfile.mkdtemp(prefix="osps-tools-"))
    if stress_src:
        tools.build_stress_shim(stress_src)
    why = tools.probe()
    isolation = "bwrap (mount, pid, ipc, net, uts namespaces)"
    if why:
        if not weak_ok:
            cgroups.remove()
            release_uids()
            raise SandboxError(f"cannot make the sandbox: {why}: {HOW_TO_ALLOW}")
        tools.sandboxed = False
        isolation = (f"WEAK ISOLATION (--weak-isolation): no sandbox ({why}); the submissions "
                     "share the machine's /tmp, /dev/shm, processes and network")
    boxes = []
    for i in range(n):
        uid = uid0 + i if uid0 is not None else None
        boxes.append(Sandbox(i, limits, uid, cgroups.slot(i), tools))
    if cpu_seconds(boxes[0].cgroups) is None:
        isolation += ("; no CPU-time total per submission (no cgroup counts its CPU: "
                      "cpuacct in v1, cpu.stat in v2, as root only), only the per-process "
                      "CPU limit and the time limits")
    return boxes, cgroups, isolation
