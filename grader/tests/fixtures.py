"""fixtures.py - submissions made from the kit itself, at test time.

Nothing here is a committed binary or a committed copy of the reference:
every fixture is built from the kit being tested (solutions/, the
skeletons in stepN_*/src, the tests' own names), so the grader's tests
follow the kit as it changes. The adversarial fixtures are the reference
(or the skeleton) with a few lines of C injected at a function's entry;
each misbehaves only in race mode (d -R) or on the unit tests' segment
names, so that the tests it affects are known, and each is bounded even if
the sandbox failed (the fork bomb stops at 4096 processes, the disk filler
at 900 MB, the deleter only aims inside the grader's own work directory).
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GRADER = os.path.dirname(HERE)
KIT = os.path.dirname(GRADER)
sys.path.insert(0, GRADER)
from osps_grader import kit as kitmod  # noqa: E402

INCLUDES = """#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
"""


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", '\\n"\n\t"') + '"'


def inject(text, func, call, helper=""):
    """Insert call as the first statement of func (a definition written
    "type\\nfunc(args)\\n{"), helper before the definition, and the
    includes after the file's first #include."""
    m = re.search(r"\n([^\n]*)\n" + re.escape(func) + r"\([^)]*\)\n\{\n", text)
    if not m:
        raise RuntimeError(f"fixtures: no definition of {func}() to inject into")
    body = m.end()
    text = text[:body] + "\t" + call + "\n" + text[body:]
    text = text[:m.start() + 1] + helper + "\n" + text[m.start() + 1:]
    first = text.index("#include")
    return text[:first] + INCLUDES + text[first:]


def reference_src(step_dir, dest):
    """The reference as a student would hand it in: markers removed."""
    subprocess.run([sys.executable, os.path.join(KIT, "scripts", "skel.py"), "solution",
                    os.path.join(KIT, "solutions", step_dir, "src"), dest], check=True)


def skeleton_src(step_dir, dest):
    shutil.copytree(os.path.join(KIT, step_dir, "src"), dest)


def stubbed_src(step_dir, ex, dest):
    """The reference with exercise ex alone left as its stub (a partly
    done submission: its tests fail fast, unlike the skeleton's waits)."""
    subprocess.run([sys.executable, os.path.join(KIT, "scripts", "skel.py"), "teeth", ex,
                    os.path.join(KIT, "solutions", step_dir, "src"), dest], check=True)


def racy_mutant(root, name, step_dir, patch_name):
    """A submission root/name: the reference with one of the kit's racy
    mutants applied (tests/races/STEP/NAME.patch, which make check-races
    proves fail under stress and pass by luck without)."""
    tmp = os.path.join(root, f".{name}-src")
    shutil.copytree(os.path.join(KIT, "solutions", step_dir, "src"), tmp)
    with open(os.path.join(KIT, "tests", "races", step_dir, patch_name + ".patch"), "rb") as f:
        subprocess.run(["patch", "-s", "-p1", "-d", tmp, "--no-backup-if-mismatch", "-r", "-"],
                       input=f.read(), check=True, capture_output=True)
    subprocess.run([sys.executable, os.path.join(KIT, "scripts", "skel.py"), "solution", tmp,
                    os.path.join(root, name, step_dir, "src")], check=True)
    shutil.rmtree(tmp)
    return os.path.join(root, name)


def make(root, name, step_dir="step1_shm", base="reference", patch=None):
    """A submission directory root/name holding step_dir/src: the
    reference, the skeleton or ("stub", ex), with patch(files) applied
    to {name: text}."""
    src = os.path.join(root, name, step_dir, "src")
    if base == "reference":
        reference_src(step_dir, src)
    elif base == "skeleton":
        skeleton_src(step_dir, src)
    else:
        stubbed_src(step_dir, base[1], src)
    if patch:
        files = {}
        for f in os.listdir(src):
            with open(os.path.join(src, f), encoding="utf-8") as fh:
                files[f] = fh.read()
        patch(files)
        for f, text in files.items():
            with open(os.path.join(src, f), "w", encoding="utf-8") as fh:
                fh.write(text)
    return os.path.join(root, name)


RACE = "adversary(argc, argv);"
IS_RACE = """static int
race_mode(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-R") == 0)
			return 1;
	return 0;
}
"""


def on_race(code):
    return lambda files: files.__setitem__("d.c", inject(
        files["d.c"], "main", RACE, IS_RACE + "static void\nadversary(int argc, char **argv)\n{\n"
        "\tif (!race_mode(argc, argv))\n\t\treturn;\n" + code + "}\n"))


def on_main(code, name="adversary"):
    """code runs first thing in every run of d (argc, argv in scope)."""
    return lambda files: files.__setitem__("d.c", inject(
        files["d.c"], "main", f"{name}(argc, argv);",
        f"static void\n{name}(int argc, char **argv)\n{{\n" + code + "}\n"))


def on_w(code):
    """code runs first thing in every run of w."""
    return lambda files: files.__setitem__("w.c", inject(
        files["w.c"], "main", "w_adversary(argc, argv);",
        "static void\nw_adversary(int argc, char **argv)\n{\n" + code + "}\n"))


def on_unit_unlink(code):
    """code runs when shm_area_unlink() gets one of the unit tests' names."""
    return lambda files: files.__setitem__("shm_area.c", inject(
        files["shm_area.c"], "shm_area_unlink", "unit_adversary(name);",
        "static void\nunit_adversary(const char *name)\n{\n"
        "\tif (strstr(name, \"unit\") == NULL)\n\t\treturn;\n" + code + "}\n"))


def both(*patches):
    def apply(files):
        for p in patches:
            p(files)
    return apply


LOOP = "\tvolatile unsigned long n = 0;\n\n\tfor (;;)\n\t\tn++;\n"
SLEEP = "\tfor (;;)\n\t\tpause();\n"
# Every process forks once per round: at most 2^12 = 4096 processes, each
# holding its slot for 20 s, even with no limit at all.
BOMB = ("\tint round;\n\n\tfor (round = 0; round < 12; round++)\n"
        "\t\tif (fork() == -1)\n\t\t\tbreak;\n\tsleep(20);\n\t_exit(0);\n")
# Writes 10 MB files, at most 30 in /dev/shm, 30 in /run/lock (as a
# machine's /run/lock is writable by all) and 30 in TMPDIR.
FILL = r"""	static char block[1 << 20];
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	int i, j, fd;

	memset(block, 'x', sizeof block);
	(void)mkdir("/run/lock", 01777);
	for (i = 0; i < 90; i++) {
		if (i < 30)
			snprintf(path, sizeof path, "/dev/shm/osps-fill-%ld-%d", (long)getpid(), i);
		else if (i < 60)
			snprintf(path, sizeof path, "/run/lock/osps-fill-%ld-%d", (long)getpid(), i);
		else
			snprintf(path, sizeof path, "%s/fill-%d", tmp ? tmp : "/tmp", i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1)
			continue;
		for (j = 0; j < 10; j++)
			if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
				break;
		close(fd);
	}
	for (;;)
		pause();
"""


def leftovers_code():
    """In d's normal runs: a segment, two FIFOs and a process, left."""
    return r"""	char path[4096];
	const char *tmp = getenv("TMPDIR");
	pid_t pid;
	int fd;

	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		return;
	snprintf(path, sizeof path, "/osps-left-%ld", (long)getpid());
	fd = shm_open(path, O_RDWR | O_CREAT, 0600);
	if (fd != -1)
		close(fd);
	snprintf(path, sizeof path, "/tmp/osps-left-%ld", (long)getpid());
	(void)mkfifo(path, 0600);
	snprintf(path, sizeof path, "%s/osps-left-%ld", tmp ? tmp : "/tmp", (long)getpid());
	(void)mkfifo(path, 0600);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		(void)setpgid(0, 0);
		fd = open("/dev/null", O_RDWR);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		execl("/bin/sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
"""


ESCAPE = r"""	char *empty[] = { NULL };
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* A new session, then a grandchild with an empty environment:
		 * out of the test's session, process group and tag. */
		(void)setsid();
		if (fork() == 0) {
			for (int fd = 0; fd < 1024; fd++)
				close(fd);
			execle("/bin/sleep", "sleep", "300", (char *)NULL, empty);
		}
		_exit(0);
	}
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
"""


def killer_code(uid_lo, uid_hi):
    """Kills its parent, then (only as a sandbox uid) every process it may."""
    return f"""	(void)kill(getppid(), SIGKILL);
	if (getuid() >= {uid_lo} && getuid() < {uid_hi})
		(void)kill(-1, SIGKILL);
"""


def deleter_code(targets):
    """Tries to delete targets (inside the grader's work directory only)."""
    lines = ["\tpid_t pid;\n\n\tfflush(NULL);\n\tpid = fork();\n\tif (pid == 0) {\n"
             "\t\texecl(\"/bin/rm\", \"rm\", \"-rf\""]
    lines += [f", {c_string(t)}" for t in targets]
    lines += [", (char *)NULL);\n\t\t_exit(127);\n\t}\n\tif (pid > 0)\n\t\t(void)waitpid(pid, NULL, 0);\n"]
    return "".join(lines)


def walk_up_code(text):
    """Writes text on its stdout and stderr, then into the stdout and
    stderr (and fd 3) of each ancestor that is part of the test machinery
    (bash, bats, timeout): never past a python3 process (the grader)."""
    return r"""	static const char fake[] = """ + c_string(text) + r""";
	char path[64], comm[64], buf[512], *p;
	long pid = (long)getppid();
	int level, fd, n;
	ssize_t r;

	r = write(1, fake, sizeof fake - 1);
	r = write(2, fake, sizeof fake - 1);
	for (level = 0; level < 12 && pid > 1; level++) {
		snprintf(path, sizeof path, "/proc/%ld/comm", pid);
		fd = open(path, O_RDONLY);
		if (fd == -1)
			break;
		r = read(fd, comm, sizeof comm - 1);
		close(fd);
		comm[r > 0 ? r : 0] = '\0';
		if (strncmp(comm, "python", 6) == 0)
			break;
		for (n = 1; n <= 3; n++) {
			snprintf(path, sizeof path, "/proc/%ld/fd/%d", pid, n);
			fd = open(path, O_WRONLY | O_APPEND);
			if (fd != -1) {
				r = write(fd, fake, sizeof fake - 1);
				close(fd);
			}
		}
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY);
		if (fd == -1)
			break;
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[r > 0 ? r : 0] = '\0';
		p = strrchr(buf, ')');
		if (p == NULL || sscanf(p + 2, "%*c %ld", &pid) != 1)
			break;
	}
	(void)r;
"""


def fake_results(step):
    """The TAP and JUnit texts a cheater would print: every test of the
    step passing, with the real names (they are public)."""
    unit, bats = [], []
    for s in step.suites:
        names = s.expected()
        if s.kind == "unit":
            unit += [f"1..{len(names)}"] + [f"ok {i} - {n}" for i, n in enumerate(names, 1)]
            unit += [f"# ok - {s.name}"]
        else:
            bats += [f"1..{len(names)}"] + [f"ok {i} {n}" for i, n in enumerate(names, 1)]
    junit = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>",
             '<testsuite name="all" tests="1" failures="0" errors="0">',
             '<testcase name="everything" classname="all"/>', "</testsuite>", "</testsuites>"]
    return "\n".join(unit + junit) + "\n", "\n".join(bats + junit) + "\n"


def faketap_patch(step):
    unit_text, bats_text = fake_results(step)
    unit_code = ("\tstatic int done;\n\n\tif (done++)\n\t\treturn;\n"
                 f"\tfputs({c_string(unit_text)}, stdout);\n\tfflush(stdout);\n")
    return lambda files: (
        files.__setitem__("shm_area.c", inject(
            files["shm_area.c"], "shm_area_create", "fake_unit_results();",
            "static void\nfake_unit_results(void)\n{\n" + unit_code + "}\n")),
        files.__setitem__("d.c", inject(
            files["d.c"], "main", "fake_bats_results();",
            "static void\nfake_bats_results(void)\n{\n" + walk_up_code(bats_text) + "}\n")))


def cheat_header_patch(files):
    """A header that turns the unit tests' assertions into no-ops."""
    names = ["assert_null", "assert_non_null", "assert_int_equal", "assert_int_not_equal",
             "assert_string_equal", "assert_true", "assert_false"]
    macros = "".join(f"#undef {n}\n#define {n}(...) ((void)(__VA_ARGS__))\n" for n in names)
    text = files["shm_area.h"]
    i = text.rindex("#endif")
    files["shm_area.h"] = text[:i] + macros + text[i:]


def modified_kit(root, name, stub_ex):
    """A student's whole copy of the kit with the sources of ("stub",
    stub_ex), in which every test, the Makefiles, the helpers and common/
    were changed to pass: all of it must be ignored."""
    dest = os.path.join(root, name)
    shutil.copytree(KIT, dest, ignore=shutil.ignore_patterns(
        "build", ".git", "solutions", "grader", "__pycache__"))
    shutil.rmtree(os.path.join(dest, "step1_shm", "src"))
    stubbed_src("step1_shm", stub_ex, os.path.join(dest, "step1_shm", "src"))
    step = kitmod.Kit(KIT).steps[1].load()
    with open(os.path.join(dest, "step1_shm", "tests", "step1.bats"), "w") as f:
        f.write("#!/usr/bin/env bats\n")
        for s in step.suites:
            if s.kind == "bats":
                for n in s.expected():
                    f.write(f"@test {c_string(n)} {{ true; }}\n")
    with open(os.path.join(dest, "step1_shm", "tests", "unit", "test_shm_area.c"), "w") as f:
        unit_text, _ = fake_results(step)
        f.write(f"#include <stdio.h>\nint main(void) {{ fputs({c_string(unit_text)}, stdout); return 0; }}\n")
    with open(os.path.join(dest, "Makefile"), "a") as f:
        f.write("\ntest-step1:\n\t@echo '23 passed, 0 failed'\n")
    with open(os.path.join(dest, "mk", "step.mk"), "a") as f:
        f.write("\nCFLAGS += -w\n")
    with open(os.path.join(dest, "tests", "helpers.bash"), "a") as f:
        f.write("\nkit_teardown() { return 0; }\n")
    with open(os.path.join(dest, "common", "log.c"), "a") as f:
        f.write("\n/* changed */\n")
    # A file a student may not add, and a link to outside.
    with open(os.path.join(dest, "step1_shm", "src", "cmocka.h"), "w") as f:
        f.write("#define assert_null(x) ((void)0)\n")
    os.symlink("/etc/passwd", os.path.join(dest, "step1_shm", "src", "passwd.h"))
    return dest


def prereq_kit(root, declarations):
    """A copy of the kit whose step 1 declares prerequisites (the text of
    step1_shm/prerequisites, read by scripts/prereqs.py)."""
    dest = os.path.join(root, "prereq-kit")
    shutil.copytree(KIT, dest, symlinks=True, ignore=shutil.ignore_patterns(
        "build", ".git", "__pycache__"))
    with open(os.path.join(dest, "step1_shm", "prerequisites"), "w") as f:
        f.write(declarations)
    return dest


def twin_kit(root):
    """A kit with two ready steps, the second a copy of step 1 with only
    four process tests, to check that a step's compile error costs that
    step only (whatever steps the real kit has ready today)."""
    dest = os.path.join(root, "twin-kit")
    shutil.copytree(KIT, dest, symlinks=True, ignore=shutil.ignore_patterns(
        "build", ".git", "__pycache__", "step2_*", "step3_*", "step4_*"))
    for top in ("", "solutions"):
        shutil.copytree(os.path.join(dest, top, "step1_shm"), os.path.join(dest, top, "step2_twin"))
    bats = os.path.join(dest, "step2_twin", "tests", "step1.bats")
    with open(bats) as f:
        text = f.read()
    tests = re.split(r"\n(?=@test )", text)
    with open(bats, "w") as f:
        f.write("\n".join(tests[:4]) + "\n")
    mk = os.path.join(dest, "Makefile")
    with open(mk) as f:
        text = f.read()
    text = re.sub(r"(?m)^STEPS_READY\s*:=.*$", "STEPS_READY := 1 2", text)
    text = re.sub(r"2:step2_\w+", "2:step2_twin", text)
    with open(mk, "w") as f:
        f.write(text)
    return dest


# w crashes when started with a short processing time (-t below 300 ms,
# the tests' usual T): d then reports how w ended; the tests that wait for
# w's log lines give it 300 ms or more and are not slowed down.
W_CRASH = """	int i;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-t") == 0 && atoi(argv[i + 1]) < 300)
			raise(SIGSEGV);
"""


# The first "d -h" prints something else than the usage; later ones are
# right (a marker in $HOME): a test that fails once, then passes.
FLAKY = r"""	char path[4096];
	const char *home = getenv("HOME");
	int fd;

	if (argc != 2 || strcmp(argv[1], "-h") != 0 || home == NULL)
		return;
	snprintf(path, sizeof path, "%s/.flaky", home);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1)
		return;
	close(fd);
	printf("not the usage this time\n");
	exit(0);
"""


# shm_area_create() loses 64 bytes at every call: a definite leak.
LEAK = """	static void *volatile lost;

	(void)name;
	(void)size;
	lost = malloc(64);
	lost = NULL;
"""


def on_create(code):
    return lambda files: files.__setitem__("shm_area.c", inject(
        files["shm_area.c"], "shm_area_create", "leaky(name, size);",
        "static void\nleaky(const char *name, size_t size)\n{\n" + code + "}\n"))


def probe_code(kit, work):
    """Exits 3 (every test of d then fails) if d can open anything of the
    grader's: the instructor's kit (solutions/, grader/), another
    submission's sources in the grader's work directory, or a path with
    "solutions" named in any process's command line or environment (the
    kit's path leaked through /proc). Its own files do not count."""
    pats = [os.path.join(kit, "solutions", "step1_shm", "src", "*.c"),
            os.path.join(kit, "grader", "grade"), os.path.join(work, "*", "src", "step1_shm", "d.c"),
            os.path.join(work, "kit", "..", "*", "grader", "*")]
    return r"""	static const char *pats[] = { """ + ", ".join(c_string(p) for p in pats) + r""" };
	const char *bin = getenv("BIN");
	char own[4096] = "", buf[8192], path[300];
	glob_t g;
	size_t i, k;
	ssize_t n;
	int fd, found = 0;
	DIR *proc;
	struct dirent *e;

	(void)argc;
	(void)argv;
	if (bin != NULL && strstr(bin, "/build/") != NULL)
		snprintf(own, sizeof own, "%.*s", (int)(strstr(bin, "/build/") - bin), bin);
	for (i = 0; i < sizeof pats / sizeof pats[0]; i++) {
		if (glob(pats[i], 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc; k++) {
			if (own[0] != '\0' && strncmp(g.gl_pathv[k], own, strlen(own)) == 0)
				continue;
			fd = open(g.gl_pathv[k], O_RDONLY);
			if (fd != -1) {
				fprintf(stderr, "d: reached %s\n", g.gl_pathv[k]);
				close(fd);
				found = 1;
			}
		}
		globfree(&g);
	}
	proc = opendir("/proc");
	while (proc != NULL && (e = readdir(proc)) != NULL) {
		for (k = 0; k < 2; k++) {
			snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, k ? "environ" : "cmdline");
			fd = open(path, O_RDONLY);
			if (fd == -1)
				continue;
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
			for (i = 0; n > 0 && i < (size_t)n; i += strlen(buf + i) + 1) {
				buf[n] = '\0';
				char *s = strstr(buf + i, "/solutions");
				char *start = s;
				while (start != NULL && start > buf + i && start[-1] != '=' && start[-1] != ' ')
					start--;
				if (s != NULL && start[0] == '/' && (fd = open(start, O_RDONLY)) != -1) {
					fprintf(stderr, "d: reached %s (named in %s)\n", start, path);
					close(fd);
					found = 1;
				}
			}
		}
	}
	if (proc != NULL)
		closedir(proc);
	if (found)
		exit(3);
"""


# Creates, on its first "d -h", the shared memory names other runs' tests
# use (/osps-t<bats pid>-<test>: small pids in a pid namespace).
SQUAT = r"""	char name[64];
	int pid, n, fd;

	if (argc != 2 || strcmp(argv[1], "-h") != 0)
		return;
	for (pid = 2; pid < 60; pid++)
		for (n = 1; n <= 20; n++) {
			snprintf(name, sizeof name, "/osps-t%d-%d", pid, n);
			fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0666);
			if (fd != -1)
				close(fd);
		}
"""


# Short CPU burners, one after another, each just under the per-process
# CPU limit of the tests' rubric (cpu = 3: 2.5 s each): only a CPU total
# over all the submission's processes stops them (200 of them: 500 s).
BURNERS = r"""	struct timespec t;
	volatile unsigned long n = 0;
	int k;

	for (k = 0; k < 200; k++) {
		if (fork() == 0) {
			do {
				n++;
				clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
			} while (t.tv_sec * 1000 + t.tv_nsec / 1000000 < 2500);
			_exit(0);
		}
		(void)wait(NULL);
	}
	exit(0);
"""


def burners_patch(files):
    on_main(BURNERS)(files)
    files["d.c"] = "#include <time.h>\n" + files["d.c"]


# Three processes of 200 MiB each (touched): more than the submission's
# memory total in the tests' rubric, each below the per-process limit.
MEMHOG = r"""	size_t size = (size_t)200 << 20, i;
	char *p;
	int k;

	for (k = 0; k < 3; k++) {
		if (fork() == 0) {
			p = malloc(size);
			for (i = 0; p != NULL && i < size; i += 4096)
				p[i] = 1;
			sleep(15);
			_exit(0);
		}
	}
	sleep(15);
	exit(0);
"""


def cmocka_forge_patch(step):
    """In the unit tests: print every remaining result as passed, then
    _exit(0) before the test's own checks run."""
    unit_text, _ = fake_results(step)
    code = (f"\tfputs({c_string(unit_text)}, stdout);\n\tfflush(stdout);\n\t_exit(0);\n")
    return lambda files: files.__setitem__("shm_area.c", inject(
        files["shm_area.c"], "shm_area_create", "cmocka_forge(name);",
        "static void\ncmocka_forge(const char *name)\n{\n"
        "\tif (strstr(name, \"unit\") == NULL)\n\t\treturn;\n" + code + "}\n"))


def bats_forge_code(step):
    """In race mode: every result as passed written into the test
    harness's descriptors through /proc, then the whole suite killed."""
    _, bats_text = fake_results(step)
    return walk_up_code(bats_text) + "\t(void)kill(-1, SIGKILL);\n"
