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
import json
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

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


def proc_table():
    """{pid: (ppid, sid, state, uid)} for every process, read from /proc."""
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
        uid = -1
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                break
        table[int(name)] = (int(rest[1]), int(rest[3]), rest[0], uid)
    return table


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        return " ".join(a.decode("utf-8", "replace") for a in args if a)[:200]
    except OSError:
        return "?"


def cgroup_members(cgroup):
    if not cgroup:
        return set()
    try:
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            return {int(l) for l in f if l.strip()}
    except OSError:
        return set()


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


def kill_everything(me, uid, cgroup):
    """Kill until nothing is left; returns the processes found first."""
    first = None
    for _ in range(500):
        found = leftovers(me, uid, cgroup)
        if first is None:
            first = {pid: row + (cmdline(pid),) for pid, row in found.items()}
        if not found:
            break
        if uid is not None:
            kill_uid(uid)
        if cgroup and os.path.exists(os.path.join(cgroup, "cgroup.kill")):
            try:
                with open(os.path.join(cgroup, "cgroup.kill"), "w") as f:
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


def run_child(argv, uid, gid, cgroup, limits):
    """In the forked child: enter the cgroup, set the limits, drop
    privileges, exec. Never returns."""
    try:
        os.setsid()
        if cgroup:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        for name, value in limits:
            resource.setrlimit(RLIMITS[name], (value, value if name != "cpu" else value + 5))
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, f"jail: {argv[0]}: {e.strerror}\n".encode())
    os._exit(127)


def parse(argv):
    opts = {"uid": None, "gid": None, "cgroup": None, "limits": [],
            "report": None, "kill_only": False}
    i = 1
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--kill-only":
            opts["kill_only"] = True
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
            opts["cgroup"] = v
        elif a == "--report":
            opts["report"] = v
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


def main(argv):
    o = parse(argv)
    me = os.getpid()
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    def stop(signo, frame):
        raise Stop()

    report = {"status": None, "exit": None, "signal": None, "stopped": False}
    if o["kill_only"]:
        found = kill_everything(me, o["uid"], o["cgroup"])
        report["exit"] = 0
    else:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, stop)
        child = None
        try:
            sys.stdout.flush()
            child = os.fork()
            if child == 0:
                run_child(o["argv"], o["uid"], o["gid"], o["cgroup"], o["limits"])
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
        found = kill_everything(me, o["uid"], o["cgroup"])
        if report["status"] is None and child:
            report["status"] = REAPED.get(child)
        st = report["status"]
        if st is not None and os.WIFSIGNALED(st):
            report["signal"] = os.WTERMSIG(st)
            report["exit"] = 128 + report["signal"]
        elif st is not None and os.WIFEXITED(st):
            report["exit"] = os.WEXITSTATUS(st)
        else:
            report["exit"] = 125
    report["leftovers"] = [
        {"pid": pid, "ppid": row[0], "sid": row[1], "state": row[2], "uid": row[3], "cmd": row[4]}
        for pid, row in sorted(found.items())]
    if o["report"]:
        tmp = o["report"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f)
        os.rename(tmp, o["report"])
    return report["exit"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
