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
# from a failed assertion: a learner's definition would replace them.
GUARDED_LIBC = set("""printf vprintf fprintf vfprintf dprintf vdprintf sprintf
snprintf vsprintf vsnprintf puts fputs fputc putc putchar fwrite fflush write
writev pwrite exit _exit _Exit abort atexit on_exit longjmp siglongjmp _longjmp
setjmp _setjmp sigsetjmp __sigsetjmp signal sigaction raise getenv setenv fopen
fdopen freopen fclose dup dup2 dup3 close strcmp strncmp memcmp strlen malloc
calloc realloc free __libc_start_main __stack_chk_fail""".split())

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


def scan_sources(step, files, kit_root):
    """Findings in the learner's files of one step ({name: bytes})."""
    findings = []
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
            test_includes |= set(re.findall(r'#\s*include\s*"([^"]+)"', text))
            # The test's own macros win over a learner's (defined later).
            protected -= defined_macros(text)
    for name, data in sorted(files.items()):
        text = data.decode("utf-8", "replace")
        rel = f"{step.dir}/src/{name}"
        try:
            with open(os.path.join(kit_root, step.dir, "src", name), encoding="utf-8",
                      errors="replace") as f:
                allowed = defined_macros(f.read())
        except OSError:
            allowed = set()
        reaches_tests = name.endswith(".h") or name in test_includes
        for lineno, line in logical_lines(text):
            m = INCLUDE.match(line)
            if m:
                arg = m.group(2).strip()
                target = re.match(r'^(?:"([^"]*)"|<([^>]*)>)', arg)
                if not target:
                    findings.append(Finding("untrusted", rel, lineno,
                                            f"#include {arg[:60]}: only \"file.h\" or <file.h> is allowed"))
                else:
                    t = target.group(1) if target.group(1) is not None else target.group(2)
                    if t.startswith("/") or ".." in t.split("/"):
                        findings.append(Finding("untrusted", rel, lineno,
                                                f"#include of {t}: a file outside the kit"))
                continue
            m = DEFINE.match(line)
            if m and reaches_tests and m.group(2) in protected and m.group(2) not in allowed:
                findings.append(Finding(
                    "untrusted", rel, lineno,
                    f"#{m.group(1)} {m.group(2)}: redefines a name the unit tests use"))
            if PRAGMA.search(line):
                findings.append(Finding("warning", rel, lineno,
                                        "a pragma that silences compiler warnings"))
    return findings


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
