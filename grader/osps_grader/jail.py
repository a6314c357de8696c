#!/usr/bin/env python3
"""jail.py - run one command of a submission inside the grader's limits.

The grader runs every command that touches a submission (make, a unit test
program, bats) through this wrapper, as a separate process:

    python3 -I jail.py [--uid U --gid G] [--cgroup DIR] [--rlimit NAME=N]...
                       [--report FILE] -- COMMAND ARGS...
    python3 -I jail.py --kill-only [--uid U] [--cgroup DIR] [--report FILE]

The jail stays the parent of everything the command starts:
  - it forks the command into a session of its own, with resource limits
    (NAME is cpu, as, fsize, nofile, nproc, core), inside the cgroup if one
    is given, as the unprivileged uid/gid if given (root only), with
    no_new_privs set (a setuid program cannot give privileges back);
  - it is a child subreaper: a process that escapes its parent (double
    fork, setsid) is reparented to the jail, never to init, so it can be
    found even when it cleared its environment;
  - when the command ends, or when the jail gets SIGTERM (the grader's time
    limit), every process still there is recorded in the report (JSON) and
    killed: the jail's descendants, every member of the cgroup, and with
    --uid every process of that uid (kill(-1) as that uid, which the kernel
    applies atomically with respect to fork);
  - its exit status is the command's, 128+N when signal N killed it.

The jail itself never runs student code, and with --uid it keeps root, so
the command can neither signal it nor open its descriptors.
"""
import ctypes
import fcntl
import json
import os
import resource
import select
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "core": resource.RLIMIT_CORE,
}


class Stop(Exception):
    """The grader asked the jail to stop (time limit, interrupt)."""


def prctl(option, arg):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0),
                  ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return ctypes.get_errno()
    return 0


PF_EXITING = 0x4               # /proc/PID/stat flags: the process is exiting
SIGKILL_BIT = 1 << (signal.SIGKILL - 1)


def proc_table():
    """{pid: (ppid, sid, state, uid)} for every process, read from /proc.
    The state of a process that is already dying (exiting, or SIGKILL
    pending: what a harness's stop or the sandbox's end did to it) is
    given as "K": it is still killed and waited for, never counted as
    left over (whether it is seen before or after its end is a matter of
    timing, and a grade must not be)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
            with open(f"/proc/{name}/status", "rb") as f:
                status = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # The command name (2nd field) may hold spaces and parentheses.
        rest = stat[stat.rfind(")") + 2:].split()
        uid, state = -1, rest[0]
        if int(rest[6]) & PF_EXITING:
            state = "K"
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key == "Uid":
                uid = int(value.split()[0])
            elif key in ("SigPnd", "ShdPnd") and int(value, 16) & SIGKILL_BIT:
                state = "K"
        table[int(name)] = (int(rest[1]), int(rest[3]), state, uid)
    return table


def cmdline(pid):
    """The command line of pid; [its name] while it has none (between fork
    and exec, or while it exits); "?" once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        line = " ".join(a.decode("utf-8", "replace") for a in args if a)[:200]
        if not line:
            with open(f"/proc/{pid}/comm", "rb") as f:
                line = "[" + f.read().decode("utf-8", "replace").strip() + "]"
        return line
    except OSError:
        return "?"


def cgroup_members(cgroups):
    found = set()
    for cg in cgroups:
        try:
            with open(os.path.join(cg, "cgroup.procs")) as f:
                found |= {int(l) for l in f if l.strip()}
        except OSError:
            pass
    return found


def leftovers(me, uid, cgroup):
    """The processes to stop: descendants of me, members of the cgroup,
    and every process of uid (when the command ran as a uid of its own).
    Zombies are left out: they are already dead and get reaped."""
    table = proc_table()
    found = set()
    for pid in table:
        p, seen = pid, 0
        while p > 1 and seen < 4096:
            p = table.get(p, (0,))[0]
            seen += 1
            if p == me:
                found.add(pid)
                break
    found |= cgroup_members(cgroup)
    if uid is not None:
        found |= {pid for pid, row in table.items() if row[3] == uid}
    found.discard(me)
    return {pid: table[pid] for pid in found if pid in table and table[pid][2] not in "ZX"}


REAPED = {}


def reap():
    """Reap every child that has ended (adopted orphans included)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def kill_uid(uid):
    """kill(-1, SIGKILL) as uid: every process of uid, in one kernel pass."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(50):
                os.kill(-1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def kill_everything(me, uid, cgroup, outside_only=False):
    """Kill until nothing is left; returns the processes found first that
    count as left over: not dying, and with outside_only, not inside a
    sandbox (another pid namespace: its supervisor counts those, and
    bwrap's own init may still be ending after bwrap returned)."""
    first = None
    mine = pid_namespace("self")
    for _ in range(500):
        found = leftovers(me, uid, cgroup)
        if first is None:
            first = {}
            for pid, row in found.items():
                ns, cmd = pid_namespace(pid), cmdline(pid)
                if row[2] == "K" or ns is None or cmd == "?":
                    continue        # dying, or gone since the list was made
                if outside_only and ns != mine:
                    continue
                first[pid] = row + (cmd,)
        if not found:
            break
        if uid is not None:
            kill_uid(uid)
        for cg in cgroup:
            if os.path.exists(os.path.join(cg, "cgroup.kill")):
                try:
                    with open(os.path.join(cg, "cgroup.kill"), "w") as f:
                        f.write("1")
                except OSError:
                    pass
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()
        time.sleep(0.01)
    reap()
    return first or {}


def run_child(argv, uid, gid, cgroups, limits, sandboxed, fd_map=()):
    """In the forked child: enter the cgroups, set the limits, drop
    privileges, exec. Never returns. sandboxed: argv is bwrap, whose
    first process keeps descriptors 0-2 for its whole life (and anyone
    of its uid may open them through /proc): it gets /dev/null there,
    the real output travels on descriptors 5 and 6 (see inner_main)."""
    try:
        os.setsid()
        for cg in cgroups:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        for name, value in limits:
            resource.setrlimit(RLIMITS[name], (value, value if name != "cpu" else value + 5))
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if sandboxed:
            os.dup2(1, OUT_FD)
            os.dup2(2, ERR_FD)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1):       # bwrap's own errors still reach stderr
                os.dup2(null, fd)
            os.close(null)
        for src, dst in fd_map:
            os.dup2(src, dst)       # sources are above 99: no clash
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2 if not sandboxed else ERR_FD, f"jail: {argv[0]}: {e.strerror}\n".encode())
    os._exit(127)


# Descriptors between the outer jail and the inner one (inside the sandbox).
REPORT_FD, OUT_FD, ERR_FD = 3, 5, 6


def parse(argv):
    opts = {"uid": None, "gid": None, "cgroups": [], "limits": [], "report": None,
            "kill_only": False, "inner": False, "sandboxed": False, "keep": [],
            "ignore": [], "fd_map": [], "keep_root": False, "chdir": None}
    flags = {"--kill-only": "kill_only", "--inner": "inner", "--sandboxed": "sandboxed",
             "--keep-root": "keep_root"}
    i = 1
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a in flags:
            opts[flags[a]] = True
            i += 1
            continue
        if i + 1 >= len(argv):
            raise SystemExit(f"jail: {a} needs a value")
        v = argv[i + 1]
        if a == "--uid":
            opts["uid"] = int(v)
        elif a == "--gid":
            opts["gid"] = int(v)
        elif a == "--cgroup":
            opts["cgroups"].append(v)
        elif a == "--report":
            opts["report"] = v
        elif a == "--keep-fd":
            opts["keep"].append(int(v))
        elif a == "--fd-map":
            src, _, dst = v.partition(":")
            opts["fd_map"].append((int(src), int(dst)))
        elif a == "--chdir":
            opts["chdir"] = v
        elif a == "--ignore":
            opts["ignore"].append(v)
        elif a == "--rlimit":
            name, _, n = v.partition("=")
            if name not in RLIMITS:
                raise SystemExit(f"jail: unknown limit {name}")
            opts["limits"].append((name, int(n)))
        else:
            raise SystemExit(f"jail: unknown option {a}")
        i += 2
    opts["argv"] = argv[i + 1:]
    if opts["gid"] is None:
        opts["gid"] = opts["uid"]
    if not opts["argv"] and not opts["kill_only"]:
        raise SystemExit("jail: no command")
    return opts


def oom_kills(cgroups):
    """How many processes the kernel killed for lack of memory in these
    cgroups (v1 memory.oom_control, v2 memory.events)."""
    n = 0
    for cg in cgroups:
        for name in ("memory.events", "memory.oom_control"):
            try:
                with open(os.path.join(cg, name)) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == "oom_kill":
                            n += int(v)
            except (OSError, ValueError):
                pass
    return n


def read_inner_report(fd, timeout=None):
    """The inner jail's report (JSON on a pipe), or None if it never came
    (the inner jail was killed: something in the sandbox did it)."""
    chunks = []
    end = time.monotonic() + timeout if timeout else None
    while True:
        if end is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                break
        try:
            data = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        chunks.append(data)
        if sum(map(len, chunks)) > 1 << 20:
            break
    os.close(fd)
    try:
        return json.loads(b"".join(chunks).decode("utf-8", "replace"))
    except ValueError:
        return None


def outer_main(o, report):
    """Run the command (bwrap, when sandboxed) and wait for it."""
    me = os.getpid()

    def stop(signo, frame):
        raise Stop()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    child = None
    ooms = oom_kills(o["cgroups"])
    rfd = None
    inner = None
    try:
        sys.stdout.flush()
        if o["sandboxed"]:
            r, w = os.pipe()
            rfd = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 20)
            os.close(r)
            if w != REPORT_FD:
                os.dup2(w, REPORT_FD)
                os.close(w)
        child = os.fork()
        if child == 0:
            if rfd is not None:
                os.close(rfd)
            run_child(o["argv"], None if o["keep_root"] else o["uid"], o["gid"], o["cgroups"],
                      o["limits"], o["sandboxed"], o["fd_map"])
        if o["sandboxed"]:
            os.close(REPORT_FD)
            # The report arrives when the command inside has ended (or
            # when the sandbox dies): read it while waiting.
            inner = read_inner_report(rfd)
            rfd = None
        while True:
            pid, status = os.wait()
            if pid == child:
                report["status"] = status
                break
    except Stop:
        # Everything is killed below, the command first among them.
        report["stopped"] = True
    except ChildProcessError:
        pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    if rfd is not None:
        # Stopped: the supervisor inside still says what filled up and
        # what was left, if it can within a few seconds.
        for pid in leftovers(me, None, []):
            if "/.osps/jail.py" in cmdline(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        inner = read_inner_report(rfd, timeout=5)
    found = kill_everything(me, o["uid"], o["cgroups"], outside_only=o["sandboxed"])
    if report["status"] is None and child:
        report["status"] = REAPED.get(child)
    st = report["status"]
    if inner is not None and inner.get("status") is not None:
        st = inner["status"]        # the command's own, not bwrap's
    if st is not None and os.WIFSIGNALED(st):
        report["signal"] = os.WTERMSIG(st)
        report["exit"] = 128 + report["signal"]
    elif st is not None and os.WIFEXITED(st):
        report["exit"] = os.WEXITSTATUS(st)
    else:
        report["exit"] = 125
    if o["sandboxed"]:
        report["inner"] = inner
        if inner is None and not report["stopped"]:
            report["supervisor_killed"] = True
        elif inner:
            found.update({int(p["pid"]) + 10 ** 9: (p["ppid"], p["sid"], p["state"], -1, p["cmd"])
                          for p in inner.get("leftovers", [])})
    if oom_kills(o["cgroups"]) > ooms:
        report["oom"] = True
    return found


# -- inside the sandbox ---------------------------------------------------------

def inner_main(o):
    """The sandbox's own supervisor (pid 2, as the submission's uid, not
    dumpable: processes of the same uid can neither open its descriptors
    nor trace it). It runs the command with the output descriptors,
    waits, then lists and kills what is left in the sandbox (every
    process in its pid namespace, files in its private temporary
    directories) and writes the report on REPORT_FD for the outer jail."""
    prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    for fd in (REPORT_FD, OUT_FD, ERR_FD):
        os.set_inheritable(fd, False)

    def stop(signo, frame):
        raise Stop()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    report = {"status": None, "leftovers": [], "files": [], "full": []}
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            os.dup2(OUT_FD, 1)
            os.dup2(ERR_FD, 2)
            for fd in o["keep"]:
                os.set_inheritable(fd, True)
            if o["uid"] is not None:
                # bwrap ran as root: the command runs as the slot's uid,
                # with no capability, and cannot get any back.
                os.setgroups([])
                os.setgid(o["gid"])
                os.setuid(o["uid"])
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            if o["chdir"]:
                os.chdir(o["chdir"])
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(s, signal.SIG_DFL)
            os.execvp(o["argv"][0], o["argv"])
        except OSError as e:
            os.write(2, f"jail: {o['argv'][0]}: {e.strerror}\n".encode())
        os._exit(127)
    os.close(OUT_FD)
    os.close(ERR_FD)
    try:
        while True:
            pid, status = os.wait()
            if pid == child:
                report["status"] = status
                break
    except (Stop, ChildProcessError):
        pass
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    me = os.getpid()
    report["leftovers"] = still_running(me)
    # A process that is exiting as the command ends is not left over: it
    # gets up to a second (a loaded machine is slow to finish its exits).
    deadline = time.monotonic() + 1.0
    while report["leftovers"] and time.monotonic() < deadline:
        time.sleep(0.05)
        reap()
        again = {p["pid"] for p in still_running(me)}
        report["leftovers"] = [p for p in report["leftovers"] if p["pid"] in again]
    for _ in range(200):
        try:
            os.kill(-1, signal.SIGKILL)     # every process of the sandbox but us and init
        except ProcessLookupError:
            break
        reap()
        time.sleep(0.005)
    reap()
    report["files"], report["full"] = private_leftovers(o["ignore"])
    data = json.dumps(report).encode()
    while data:
        try:
            data = data[os.write(REPORT_FD, data):]
        except OSError:
            break
    return 0


def still_running(me):
    """The processes of the sandbox but its init and its supervisor."""
    table = proc_table()
    out = []
    for pid, row in sorted(table.items()):
        if pid in (1, me) or row[2] in "ZXK":
            continue
        cmd = cmdline(pid)
        if cmd != "?":      # gone since the list was made
            out.append({"pid": pid, "ppid": row[0], "sid": row[1], "state": row[2], "cmd": cmd})
    return out


PRIVATE_DIRS = ("/dev/shm", "/tmp", "/var/tmp", "/run", "/dev/mqueue")


def private_leftovers(ignore):
    """What the command left in the sandbox's private directories (gone
    with the sandbox, but counted), and those that were filled up."""
    files, full = [], []
    for d in PRIVATE_DIRS:
        try:
            names = sorted(os.listdir(d))
            st = os.statvfs(d)
        except OSError:
            continue
        for n in names:
            p = os.path.join(d, n)
            if any(i == p or i.startswith(p + "/") for i in ignore):
                continue        # a directory made to hold a mount point
            try:
                mode = os.lstat(p).st_mode
            except OSError:
                continue
            files.append({"path": p, "mode": mode})
        if d != "/dev/mqueue" and st.f_blocks and st.f_bavail * st.f_frsize < 1024 * 1024:
            full.append({"path": d, "size": st.f_blocks * st.f_frsize})
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols:
                files.append({"path": f"System V {kind} id {cols[1]}", "mode": 0})
    return files, full


def main(argv):
    o = parse(argv)
    if o["inner"]:
        return inner_main(o)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    report = {"status": None, "exit": None, "signal": None, "stopped": False}
    if o["kill_only"]:
        found = kill_everything(os.getpid(), o["uid"], o["cgroups"])
        report["exit"] = 0
    else:
        found = outer_main(o, report)
    report["leftovers"] = [
        {"pid": pid % 10 ** 9, "ppid": row[0], "sid": row[1], "state": row[2], "uid": row[3],
         "cmd": row[4]}
        for pid, row in sorted(found.items())]
    if o["report"]:
        tmp = o["report"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f)
        os.rename(tmp, o["report"])
    return report["exit"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
