#!/usr/bin/env python3
"""skel.py - turn reference sources into learner skeletons.

The reference sources in solutions/ are the only place solution code is
written. Each exercise is a block between markers, followed by the stub the
skeleton gets instead:

        /* TODO 1.1: create the segment ... (stays in both versions) */
        /* BEGIN SOLUTION 1.1 */
        ...reference code...
        /* END SOLUTION */
        /* STUB 1.1: return NULL; */

A stub may span several lines; it ends with a line holding only "*/":

        /* STUB 1.1:
        errno = ENOSYS;
        return NULL;
        */

Usage:
  skel.py skeleton SRC_DIR OUT_DIR      every block replaced by its stub
  skel.py solution SRC_DIR OUT_DIR      markers and stubs removed (for diffs)
  skel.py teeth ID SRC_DIR OUT_DIR      only block ID replaced by its stub
  skel.py list SRC_DIR                  "ID FILE" for every block
  skel.py manifest SRC_DIR              JSON list of {id, file, stub} (for
                                        make progress, which needs no solutions/)
"""
import json
import os
import re
import sys

BEGIN = re.compile(r"^\s*/\* BEGIN SOLUTION (\d+\.\d+) \*/\s*$")
END = re.compile(r"^\s*/\* END SOLUTION \*/\s*$")
STUB = re.compile(r"^(\s*)/\* STUB (\d+\.\d+):(.*)$")
STUB_CLOSE = re.compile(r"^\s*\*/\s*$")


class MarkerError(Exception):
    pass


def parse(path):
    """Yield ("text", line) and ("block", id, solution_lines, stub_lines)."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if END.match(lines[i]) or STUB.match(lines[i]):
                raise MarkerError(f"{path}:{i + 1}: marker outside a block")
            yield ("text", lines[i])
            i += 1
            continue
        ex, start = m.group(1), i
        i += 1
        body = []
        while i < len(lines) and not END.match(lines[i]):
            if BEGIN.match(lines[i]):
                raise MarkerError(f"{path}:{i + 1}: nested BEGIN SOLUTION")
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise MarkerError(f"{path}:{start + 1}: BEGIN SOLUTION {ex} has no END")
        i += 1
        stub = []
        s = STUB.match(lines[i]) if i < len(lines) else None
        if s:
            if s.group(2) != ex:
                raise MarkerError(f"{path}:{i + 1}: STUB {s.group(2)} after block {ex}")
            indent, rest = s.group(1), s.group(3).strip()
            if rest.endswith("*/"):
                text = rest[:-2].strip()
                if text:
                    stub.append(f"{indent}{text}\n")
                i += 1
            else:
                i += 1
                while i < len(lines) and not STUB_CLOSE.match(lines[i]):
                    stub.append(lines[i])
                    i += 1
                if i == len(lines):
                    raise MarkerError(f"{path}: STUB {ex} is not closed")
                i += 1
        yield ("block", ex, body, stub)


def render(path, stubbed):
    """Return path's text with the blocks whose id satisfies stubbed() stubbed."""
    out = []
    for item in parse(path):
        if item[0] == "text":
            out.append(item[1])
        else:
            _, ex, body, stub = item
            out.extend(stub if stubbed(ex) else body)
    return "".join(out)


def sources(src_dir):
    for root, _, files in os.walk(src_dir):
        for name in sorted(files):
            yield os.path.relpath(os.path.join(root, name), src_dir)


def write_tree(src_dir, out_dir, stubbed):
    for rel in sources(src_dir):
        dst = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "w", encoding="utf-8") as f:
            f.write(render(os.path.join(src_dir, rel), stubbed))


def manifest(src_dir):
    """Every block of src_dir as {id, file, stub}, in exercise order."""
    found = []
    for rel in sources(src_dir):
        for item in parse(os.path.join(src_dir, rel)):
            if item[0] == "block":
                found.append({"id": item[1], "file": rel, "stub": item[3]})
    return sorted(found, key=lambda b: tuple(int(x) for x in b["id"].split(".")))


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "skeleton":
            write_tree(argv[2], argv[3], lambda ex: True)
        elif len(argv) == 4 and argv[1] == "solution":
            write_tree(argv[2], argv[3], lambda ex: False)
        elif len(argv) == 5 and argv[1] == "teeth":
            write_tree(argv[3], argv[4], lambda ex: ex == argv[2])
        elif len(argv) == 3 and argv[1] == "manifest":
            print(json.dumps(manifest(argv[2]), indent=1))
        elif len(argv) == 3 and argv[1] == "list":
            for rel in sources(argv[2]):
                for item in parse(os.path.join(argv[2], rel)):
                    if item[0] == "block":
                        print(item[1], rel)
        else:
            sys.stderr.write(__doc__)
            return 2
    except (MarkerError, OSError) as e:
        sys.stderr.write(f"skel.py: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
