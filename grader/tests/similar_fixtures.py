"""similar_fixtures.py - submissions for the similarity tests, made at test
time from the kit: a copy disguised (identifiers renamed, functions in
another order), and a second, independent solution of step 1 (each block
of the reference rewritten with another structure), which passes the
step's tests as the reference does.
"""
import os
import random
import re
import subprocess
import sys

from fixtures import KIT

# Step 1 solved another way: the reference's blocks, exercise by exercise,
# replaced by code a second student could have written alone.
ALT_STEP1 = {
    "1.1": """\
	void *area = NULL;
	int seg = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, S_IRUSR | S_IWUSR);

	if (seg < 0)
		return area;
	if (ftruncate(seg, (off_t)size) == 0)
		return map_and_close(seg, size);
	close_keep_errno(seg);
	shm_unlink(name);
	return area;
""",
    "1.2": """\
	pid_t child;

	fflush(NULL);
	switch (child = fork()) {
	case -1:
		return -1;
	case 0:
		execv(w_path, args);
		child_fatal(127, "exec %s", w_path);
	default:
		log_event("started name=w pid=%ld", (long)child);
		return child;
	}
""",
    "1.3": """\
	struct stat info;
	int bad = 0;
	int seg = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	if (seg < 0)
		return NULL;
	if (fstat(seg, &info) != 0)
		bad = errno;
	else if (info.st_size != (off_t)size)
		bad = EPROTO;
	if (!bad)
		return map_and_close(seg, size);
	close(seg);
	errno = bad;
	return NULL;
""",
    "1.4": """\
	char text[64];
	pid_t got;

	for (;;) {
		got = waitpid(pid, status, flags);
		if (got != -1 || errno != EINTR)
			break;
	}
	if (got == 0 || got == -1)
		return got == 0 ? 0 : -1;
	status_str(*status, text, sizeof text);
	log_event("reaped name=w pid=%ld status=\\"%s\\"", (long)pid, text);
	return 1;
""",
    "1.5": """\
	if (shm_unlink(name) == -1)
		return -1;
	return 0;
""",
}

BEGIN = re.compile(r"^\s*/\* BEGIN SOLUTION (\d+\.\d+) \*/\s*$")
END = re.compile(r"^\s*/\* END SOLUTION \*/\s*$")


def alternative_src(step_dir, blocks, dest):
    """The reference of step_dir with each block whose exercise is in
    blocks rewritten, markers removed, in dest."""
    src = os.path.join(KIT, "solutions", step_dir, "src")
    tmp = dest + ".marked"
    os.makedirs(tmp)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        out, skip = [], False
        for line in lines:
            m = BEGIN.match(line)
            if m and m.group(1) in blocks:
                out += [line, blocks[m.group(1)]]
                skip = True
            elif skip and END.match(line):
                out.append(line)
                skip = False
            elif not skip:
                out.append(line)
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.writelines(out)
    subprocess.run([sys.executable, os.path.join(KIT, "scripts", "skel.py"), "solution",
                    tmp, dest], check=True)


C_WORDS = set("""auto break case char const continue default do double else enum extern
float for goto if int long register return short signed sizeof static struct switch
typedef union unsigned void volatile while noreturn bool NULL size_t ssize_t pid_t off_t
mode_t uint32_t uint64_t int64_t errno""".split())


def top_level_chunks(text):
    """text split at its top-level blank lines: [(kind, lines)], kind
    "func" for a function definition (with the comment just above it)."""
    chunks, cur, depth = [], [], 0
    for line in text.split("\n"):
        cur.append(line)
        code = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|//.*', "", line)
        depth += code.count("{") - code.count("}")
        if depth == 0 and not line.strip():
            chunks.append(("func" if "{" in cur else "text", cur))
            cur = []
    if cur:
        chunks.append(("func" if "{" in cur else "text", cur))
    return chunks


TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*|\b[A-Za-z_]\w*\b', re.S)


def disguise(text, keep, seed=1, rename_share=1.0, reorder=True):
    """A copy of C text a student would hand in as their own: identifiers
    not in keep (the headers' names) renamed, the file's functions in
    another order (reversed for seed 1, else shuffled; reorder=False: in
    place, so that the copy still builds)."""
    rnd = random.Random(seed)
    chunks = top_level_chunks(text)
    funcs = [c for c in chunks if c[0] == "func"]
    order = (funcs if not reorder else list(reversed(funcs)) if seed == 1 else
             rnd.sample(funcs, len(funcs)))
    it = iter(order)
    text = "\n".join("\n".join(next(it)[1] if kind == "func" else body)
                     for kind, body in chunks)
    # What the file declares itself: its variables, parameters and static
    # functions (a copier leaves the C library's names alone).
    declared = set(re.findall(r"\b(?:int|char|void|size_t|ssize_t|pid_t|off_t|unsigned|long|"
                              r"double|struct \w+|\w+_t)\s*\**\s*(\w+)\s*[;,=)\[(]", text))
    declared |= set(re.findall(r"^(\w+)\(", text, flags=re.M))
    mapping = {}

    def rename(m):
        word = m.group(0)
        if word not in declared or word in keep or word in C_WORDS:
            return word         # a string, a comment, a library or kit name
        if word not in mapping:
            mapping[word] = (f"{word}_{rnd.choice(['x', 'v', 'my', 'tmp'])}"
                             if rnd.random() < rename_share else word)
        return mapping[word]
    return TOKEN.sub(rename, text)


def header_names(*dirs):
    """Every identifier of the .h files in dirs (the names a copy must keep
    to build: the kit's API, structure members, macros)."""
    names = set()
    for d in dirs:
        for name in os.listdir(d):
            if name.endswith(".h"):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    names |= set(re.findall(r"\b[A-Za-z_]\w*\b", f.read()))
    return names


def disguised_copy(src_dir, dest, seed=1, rename_share=1.0, reorder=True):
    """Every .c file of src_dir disguised (disguise()), the headers as they are."""
    os.makedirs(dest, exist_ok=True)
    keep = header_names(src_dir, os.path.join(KIT, "common"))
    for name in sorted(os.listdir(src_dir)):
        path = os.path.join(src_dir, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if name.endswith(".c"):
            text = disguise(text, keep, seed, rename_share, reorder)
        with open(os.path.join(dest, name), "w", encoding="utf-8") as f:
            f.write(text)
