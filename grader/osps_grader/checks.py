"""checks.py - what a learner's sources may not do to the tests.

The process tests (bats) run the learner's programs as separate processes:
nothing they print can become a result. The unit tests (cmocka) are
different: the learner's module is linked into the test program and its
headers are compiled into the test's own source. So before trusting a unit
test program the grader checks that the learner's code does not:

  - redefine, in a header, a name the test's source or cmocka.h uses
    (#define assert_int_equal(a, b), #define main ...), unless the kit's
    own version of that header defines it too;
  - include a file from outside the kit (#include "/tmp/x.h", "../../x");
  - define a function of cmocka or one of the C library functions cmocka
    reports through (printf, write, exit, longjmp, ...): the linker would
    use the learner's one inside the test program;
  - run code before main or after exit (constructors, destructors).

A finding of these kinds makes the step's unit tests untrusted: they count
as failed, and the report says why. Pragmas that silence warnings
(#pragma GCC diagnostic, system_header) count as compiler warnings.
Deliberately hostile code can still patch the test program in memory at
run time; that is beyond any in-process test (see the grader's README).
"""
import os
import re
import subprocess

C_KEYWORDS = set("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed
sizeof static struct switch typedef union unsigned void volatile while _Alignas
_Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert
_Thread_local main""".split())

# C library functions cmocka relies on to report results and to recover
# from a failed assertion, and those the grader's unit_shim.c calls to run
# each test in a child: a learner's definition would replace them.
GUARDED_LIBC = set("""printf vprintf fprintf vfprintf dprintf vdprintf sprintf
snprintf vsprintf vsnprintf puts fputs fputc putc putchar fwrite fflush write
writev pwrite exit _exit _Exit abort atexit on_exit longjmp siglongjmp _longjmp
setjmp _setjmp sigsetjmp __sigsetjmp signal sigaction raise getenv setenv fopen
fdopen freopen fclose dup dup2 dup3 close strcmp strncmp memcmp strlen malloc
calloc realloc free __libc_start_main __stack_chk_fail
fork vfork clone pipe pipe2 read waitpid wait4 prctl unsetenv getrandom syscall dlsym
memset atoi strcspn""".split())

IDENT = re.compile(r"[A-Za-z_]\w*")
DEFINE = re.compile(r"^\s*#\s*(define|undef)\s+([A-Za-z_]\w*)")
INCLUDE = re.compile(r"^\s*#\s*(include|include_next|import)\b\s*(.*)$")
PRAGMA = re.compile(r"^\s*#\s*pragma\s+(GCC|clang)\s+(diagnostic|system_header)|_Pragma\s*\(")
INIT_SECTIONS = (".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors")


def logical_lines(text):
    """Source lines with comments removed and backslash continuations
    joined, as (line number, text)."""
    text = re.sub(r"/\*.*?\*/", lambda m: " " + "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out, buf, start = [], "", 0
    for i, line in enumerate(text.split("\n"), 1):
        if not buf:
            start = i
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, buf + line))
        buf = ""
    return out


def identifiers(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return set(IDENT.findall(" ".join(t for _, t in logical_lines(f.read()))))
    except OSError:
        return set()


def defined_macros(text):
    return {m.group(2) for _, line in logical_lines(text) for m in [DEFINE.match(line)] if m}


def cmocka_header():
    for d in ["/usr/include", "/usr/local/include"]:
        p = os.path.join(d, "cmocka.h")
        if os.path.exists(p):
            return p
    return None


def cmocka_names():
    """The macros and functions cmocka.h defines or declares (not the
    names of their parameters)."""
    path = cmocka_header()
    if not path:
        return set()
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = logical_lines(text)
    names = defined_macros(text)
    for _, line in lines:
        names |= set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", line))
    return names - C_KEYWORDS - {"defined"}


class Finding:
    def __init__(self, kind, file, line, message):
        self.kind = kind        # "untrusted" (unit tests not run) or "warning"
        self.file = file
        self.line = line
        self.message = message

    def text(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def as_dict(self):
        return {"kind": self.kind, "file": self.file, "line": self.line, "message": self.message}


def protected_names(step, kit_root):
    """(names the unit tests use, names of files the tests include): the
    test sources and cmocka.h are the instructor's, read as text."""
    protected = set(C_KEYWORDS) | cmocka_names()
    test_includes = set()
    for suite in step.suites:
        if suite.kind == "unit" and suite.source:
            path = os.path.join(kit_root, suite.source)
            protected |= identifiers(path)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            # A test may include a .c file to reach its static functions.
            test_includes |= {os.path.basename(t) for t in re.findall(r'#\s*include\s*"([^"]+)"', text)}
            # The test's own macros win over a learner's (defined later).
            protected -= defined_macros(text)
    return protected, test_includes


CMOCKA_CFLAGS = []


def cpp_flags(src):
    """The preprocessor flags of the kit's build (mk/step.mk), run from the kit."""
    if not CMOCKA_CFLAGS:
        CMOCKA_CFLAGS.append(subprocess.run(["pkg-config", "--cflags", "cmocka"], capture_output=True,
                                            text=True).stdout.split())
    return ["-std=c11", f"-I{src}", "-Icommon", "-D_POSIX_C_SOURCE=200809L"] + CMOCKA_CFLAGS[0]


def reaches_tests(name, test_includes):
    """A learner file the unit tests' own source reads: a header, or a .c
    file a test includes."""
    return name.endswith(".h") or name in test_includes


def changed(step, files, kit_root):
    """The learner's files that differ from the skeleton's (an untouched
    file is the kit's own: nothing to check)."""
    out = []
    for name, data in files.items():
        try:
            with open(os.path.join(kit_root, step.dir, "src", name), "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            pass
        out.append(name)
    return out


def preprocess_script(step, files, src, kit_root):
    """A shell script (run in the submission's sandbox: the compiler reads
    what the learner's files name) that preprocesses each learner file and
    its skeleton with the kit's flags, keeping the line markers (which
    files were entered), the #define/#undef directives in place (-dD) and
    the pragmas: what the compiler really sees, whatever the spelling
    (digraphs, #if 0 around a comment, line continuations)."""
    import shlex
    lines = ['err="${TMPDIR:-/tmp}/osps-cpp.err"']
    # Line markers that enter or leave a file, and the directives met
    # outside the system's headers (theirs are thousands, and harmless).
    keep = (r"""awk '/^# [0-9]+ "/ { sys = ($3 ~ /^"(\/usr\/|<)/); """
            r"""if (!sys && ($4 == "" || $4 == 1 || $4 == 2)) print substr($0, 1, 300); next } """
            r"""/^#(define|undef|pragma) / { if (!sys) print substr($0, 1, 300) }'""")
    _, test_includes = protected_names(step, kit_root)
    skel = os.path.join(kit_root, step.dir, "src")
    for name in sorted(changed(step, files, kit_root)):
        for label, d, flags in (("learner", src, cpp_flags(src)), ("kit", skel, cpp_flags(skel))):
            f = os.path.join(d, name)
            if label == "kit" and not (os.path.exists(f) and reaches_tests(name, test_includes)):
                continue    # the kit's version: only to compare the macros
            cmd = " ".join(shlex.quote(a) for a in ["cc", *flags, "-E", "-dD", "-x", "c", f])
            lines.append(f"echo {shlex.quote('@@osps ' + label + ' ' + name)}")
            lines.append(f'{cmd} 2>"$err" | {keep}')
            lines.append(f"echo {shlex.quote('@@osps err ' + name)}")
            lines.append(f'grep -a "fatal error" "$err" | cut -c1-300; rm -f "$err"')
    return "\n".join(lines) + "\n"


MARKER_LINE = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"(.*)$')
MISSING = re.compile(r"fatal error: (.*?): No such file or directory")


def parse_preprocessed(text):
    """{(label, name): {"entered": [paths], "defines": [(file, line)],
    "pragmas": [(file, line)], "missing": [paths]}} from the script's output."""
    out, cur, current = {}, None, None
    for line in text.splitlines():
        if line.startswith("@@osps "):
            _, label, name = line.split(" ", 2)
            if label == "err":
                cur = out.setdefault(("learner-err", name), {"missing": []})
            else:
                cur = out.setdefault((label, name), {"entered": [], "defines": [], "pragmas": []})
                current = None
            continue
        if cur is None:
            continue
        if "missing" in cur:
            m = MISSING.search(line)
            if m:
                cur["missing"].append(m.group(1))
            continue
        m = MARKER_LINE.match(line)
        if m:
            current = m.group(2).replace('\\"', '"').replace("\\\\", "\\")
            if " 1" in m.group(3)[:2] or m.group(3).strip().startswith("1"):
                cur["entered"].append(current)
            continue
        if line.startswith(("#define ", "#undef ")):
            cur["defines"].append((current, line))
        elif line.startswith("#pragma "):
            cur["pragmas"].append((current, line))
    return out


SYSTEM_DIRS = ("/usr/include/", "/usr/local/include/", "/usr/lib/gcc/", "/usr/lib/llvm")


def scan_sources(step, files, kit_root, src, preprocessed):
    """Findings in the learner's files of one step ({name: bytes}), from
    what the compiler saw (preprocess_script's output)."""
    findings = []
    protected, test_includes = protected_names(step, kit_root)
    seen = parse_preprocessed(preprocessed)
    allowed_dirs = (os.path.realpath(src) + "/", os.path.join(kit_root, "common") + "/",
                    os.path.join(kit_root, step.dir, "src") + "/")
    for name in sorted(changed(step, files, kit_root)):
        rel = f"{step.dir}/src/{name}"
        mine = os.path.join(src, name)
        got = seen.get(("learner", name))
        if got is None:
            findings.append(Finding("untrusted", rel, 0, "could not be preprocessed: not checked"))
            continue
        for path in dict.fromkeys(got["entered"] + seen.get(("learner-err", name), {}).get("missing", [])):
            if path.startswith("<") or path == mine:
                continue
            full = os.path.normpath(path if path.startswith("/") else os.path.join(src, path))
            if not (full.startswith(SYSTEM_DIRS) or full.startswith(allowed_dirs)):
                findings.append(Finding("untrusted", rel, 0,
                                        f"includes {path}: a file outside the kit and the submission"))
        kit = seen.get(("kit", name), {"defines": []})
        kit_defs = {d for f, d in kit["defines"] if f and not f.startswith("<")}
        reaching = reaches_tests(name, test_includes)
        for f, d in got["defines"]:
            if f is None or not f.startswith(os.path.realpath(src) + "/") and f != mine:
                continue        # the system's and the kit's own headers
            m = re.match(r"^#(define|undef) ([A-Za-z_]\w*)", d)
            if not m or not reaching:
                continue
            same_in_kit = any(re.match(rf"^#{m.group(1)} {m.group(2)}\b", k) for k in kit_defs)
            if m.group(2) in protected and not same_in_kit:
                findings.append(Finding("untrusted", f"{step.dir}/src/{os.path.basename(f)}", 0,
                                        f"#{m.group(1)} {m.group(2)}: redefines a name the unit tests use"))
        for f, p in got["pragmas"]:
            if f and (f == mine or f.startswith(os.path.realpath(src) + "/")) and PRAGMA_SEEN.search(p):
                findings.append(Finding("warning", f"{step.dir}/src/{os.path.basename(f)}", 0,
                                        "a pragma that silences compiler warnings"))
    # One finding per (file, message).
    uniq = {}
    for fd in findings:
        uniq.setdefault((fd.kind, fd.file, fd.message), fd)
    return list(uniq.values())


PRAGMA_SEEN = re.compile(r"^#pragma\s+(GCC|clang)\s+(diagnostic|system_header)")


def scan_objects(step, objects):
    """Findings in the learner's object files linked into unit tests:
    constructors/destructors, definitions of cmocka or guarded C library
    functions. objects: {source name: path of its .o}."""
    findings = []
    names = cmocka_names()
    for src, obj in sorted(objects.items()):
        rel = f"{step.dir}/src/{src}"
        if not os.path.exists(obj):
            continue
        try:
            sections = subprocess.run(["readelf", "-SW", obj], capture_output=True,
                                      text=True, timeout=30).stdout
            symbols = subprocess.run(["nm", "-g", "--defined-only", obj], capture_output=True,
                                     text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as e:
            findings.append(Finding("untrusted", rel, 0, f"cannot inspect the object file: {e}"))
            continue
        for sec in INIT_SECTIONS:
            if re.search(r"\s" + re.escape(sec) + r"(\.\S*)?\s", sections):
                findings.append(Finding("untrusted", rel, 0,
                                        f"code that runs before main or after exit ({sec} section)"))
                break
        for line in symbols.splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            sym = parts[2].split("@")[0]
            if sym in GUARDED_LIBC or (sym in names and not sym.startswith("__")):
                findings.append(Finding(
                    "untrusted", rel, 0,
                    f"defines {sym}(), a function of {'cmocka' if sym in names else 'the C library'}"
                    " that the tests rely on: it would replace it inside the test program"))
    return findings
