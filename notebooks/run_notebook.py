#!/usr/bin/python3
"""Runs an xcpp17 (xeus-cling) notebook's code cells through clang-repl-19 and checks them.

xeus-cling is conda-only, so CI cannot run the real kernel. This harness runs the same cells, in
order, in one clang-repl-19 session (Debian clang-tools-19), the way the kernel would
(shared/notes/notebooks.md §1c):

* kernelspec ``xcppNN`` -> ``-std=c++NN``;
* ``#pragma cling add_include_path("d")`` -> ``--Xcc=-Id``; ``add_library_path("d")`` +
  ``load("name")`` -> ``dlopen("<d>/lib<name>.so", RTLD_NOW | RTLD_GLOBAL)`` in the session
  (paths relative to the notebook's folder, as the kernel's working directory is; ``--library-dir``
  is searched first, so CI can point at its build tree);
* a trailing expression without ``;`` is displayed: rewritten to ``xcpp::display((expr));``;
* ``#include <xcpp/xdisplay.hpp>`` resolves to a test-only shim (harness/xcpp/xdisplay.hpp) that
  prints MIME bundles as ``@@exmy-mime <json>`` lines.

A marker input between cells splits stdout/stderr per cell. The run fails when clang-repl exits
non-zero, when any cell's stderr holds a compiler or JIT error, or when a cell misses an expected
output: cell metadata ``{"exmy": {"expect": ["substring", ...], "expect_mime": ["image/png"]}}``
(substrings are looked for in the cell's text output and in its bundles' text/plain and text/html;
every image/png must be base64 of a PNG).

Usage: run_notebook.py NOTEBOOK [--library-dir DIR] [--write-executed OUT.ipynb] [-v]
"""
import argparse
import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_DIR = os.path.join(HERE, "harness")
MARK = "@@exmy-cell"
MIME = "@@exmy-mime "
PRAGMA = re.compile(r'^\s*#\s*pragma\s+cling\s+(\w+)\s*\(\s*"([^"]*)"\s*\)\s*$')
MAGIC = re.compile(r"^\s*%")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotebookError(Exception):
    pass


def std_flag(nb):
    """-std=c++NN from the kernelspec (xcpp11/14/17, xeus-cling's names)."""
    name = nb.metadata.get("kernelspec", {}).get("name", "")
    m = re.fullmatch(r"xcpp(\d\d)", name)
    if not m:
        raise NotebookError(f"kernelspec name {name!r} is not an xeus-cling kernel (xcpp11/14/17)")
    lang = nb.metadata.get("language_info", {}).get("name", "")
    if lang not in ("c++", "C++"):
        raise NotebookError(f"language_info.name {lang!r} is not c++")
    return f"-std=c++{m.group(1)}"


def strip_comments_and_strings(code):
    """The code with comments and string/char literals blanked to spaces, same length (offsets
    found in it are offsets in the code)."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            out.append(" " * ((n if j < 0 else j + 2) - i))
            i = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and code[j] != c:
                j += 2 if code[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def top_level_const(code):
    """First line (1-based) holding a namespace-scope `const` object, or None. clang-repl-19 runs
    the dynamic initializer of such an object before the statements and other initializers of its
    cell ("S one = mc; one.t = 1; const S r = one;" leaves r default-constructed) — cling does
    not, so the harness refuses them instead of giving different answers."""
    clean = strip_comments_and_strings(code)
    depth = 0
    for no, line in enumerate(clean.split("\n"), 1):
        if depth == 0 and re.match(r"\s*(static\s+)?const\s+(?!expr)", line):
            return no
        depth += line.count("{") + line.count("(") - line.count("}") - line.count(")")
    return None


def split_trailing_expression(code):
    """(body, expr): expr is the cell's trailing expression without ';' (None when the cell ends
    in ';', '}' or a preprocessor line), as xeus-cling displays it."""
    clean = strip_comments_and_strings(code.rstrip())
    if not clean.strip():
        return code, None
    last_line = clean.rstrip().split("\n")[-1].strip()
    # A cell ending in a preprocessor line, ';' or a brace has no trailing expression.
    if last_line.startswith("#") or clean.rstrip().endswith((";", "}", "{")):
        return code, None
    # The expression starts after the last top-level ';' or '}' (or a preprocessor line).
    depth, cut = 0, 0
    pos = 0
    for line in clean.split("\n"):
        if line.strip().startswith("#"):
            cut = pos + len(line) + 1
        else:
            for k, ch in enumerate(line):
                if ch in "([{":
                    depth += 1
                elif ch in ")]}":
                    depth -= 1
                    if ch == "}" and depth == 0:
                        cut = pos + k + 1
                elif ch == ";" and depth == 0:
                    cut = pos + k + 1
        pos += len(line) + 1
    body, expr = code.rstrip()[:cut].rstrip(), code.rstrip()[cut:].strip()
    return (body, expr) if expr else (code, None)


class Session:
    """Translates cells into clang-repl inputs and holds the compiler flags they need."""

    def __init__(self, nb_path, library_dirs):
        self.nb_dir = os.path.dirname(os.path.abspath(nb_path))
        self.include_dirs = [SHIM_DIR]
        self.library_dirs = [os.path.abspath(d) for d in library_dirs]
        self.loaded = 0

    def resolve(self, path):
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(self.nb_dir, path))

    def find_library(self, name):
        cands = [name] if name.endswith(".so") or "/" in name else [f"lib{name}.so", f"{name}.so"]
        for d in self.library_dirs:
            for c in cands:
                p = os.path.join(d, c)
                if os.path.isfile(p):
                    return os.path.abspath(p)
        raise NotebookError(f'#pragma cling load("{name}"): no {" or ".join(cands)} in '
                            f'{", ".join(self.library_dirs) or "(no library path)"}')

    def translate(self, index, source):
        """One cell -> clang-repl input text."""
        out = []
        for line in source.split("\n"):
            if MAGIC.match(line):
                raise NotebookError(f"cell {index}: magics ({line.strip()}) are not supported by "
                                    f"the clang-repl harness")
            m = PRAGMA.match(line)
            if not m:
                out.append(line)
                continue
            what, arg = m.groups()
            if what == "add_include_path":
                self.include_dirs.append(self.resolve(arg))
            elif what == "add_library_path":
                self.library_dirs.append(self.resolve(arg))
            elif what == "load":
                lib = self.find_library(arg)
                out.append(f'static const int __exmy_nb_lib_{self.loaded} = '
                           f'__exmy_nb_load("{lib}");')
                self.loaded += 1
            else:
                raise NotebookError(f"cell {index}: #pragma cling {what} is not supported")
            out.append("")  # keep line numbers of later lines
        no = top_level_const(source)
        if no is not None:
            raise NotebookError(
                f"cell {index}, line {no}: a namespace-scope `const` object — clang-repl-19 "
                f"initializes it out of order (before the cell's statements); drop the `const` "
                f"(or use constexpr for constants)")
        body, expr = split_trailing_expression("\n".join(out))
        if expr is not None:
            # On lines of its own: the expression may end in a // comment.
            body = body + f"\nxcpp::display((\n{expr}\n));"
        return body

    def flags(self, std, extra=()):
        # -O0: at -O1 clang-repl-19 skips a range-for over a `const` global declared in an earlier
        # cell (internal linkage across incremental modules); the heavy work is in the compiled
        # library anyway, and -O0 compiles cells faster.
        # -mno-constructor-aliases: with aliases (the Linux default) a destructor emitted in one
        # cell as an alias (D1 -> D2) is not found when a later cell needs it ("Symbols not
        # found: [ _ZN4exmy11format_specD1Ev ]"); emitting each variant avoids that JIT bug.
        fl = [f"--Xcc={std}", "--Xcc=-O0", "--Xcc=-Xclang", "--Xcc=-mno-constructor-aliases"]
        fl += [f"--Xcc={x}" for x in extra]
        # -I is added in order of appearance; clang-repl reads them at start-up, so every path of
        # every cell is known before the first cell runs (the kernel adds them as cells run; the
        # result is the same for notebooks that add paths before using them).
        fl += [f"--Xcc=-I{d}" for d in self.include_dirs]
        return fl


PRELUDE = r"""
#include <cstdio>
#include <iostream>
#include <dlfcn.h>
#include <xcpp/xdisplay.hpp>
void __exmy_nb_mark(int i) {
  std::cout.flush(); std::fflush(stdout);
  std::printf("\n%s %d@@\n", "@@exmy-cell", i); std::fflush(stdout);
  std::fprintf(stderr, "\n%s %d@@\n", "@@exmy-cell", i); std::fflush(stderr);
}
int __exmy_nb_load(const char* path) {
  if (!::dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
    std::fprintf(stderr, "error: dlopen %s: %s\n", path, ::dlerror());
    return 1;
  }
  return 0;
}
"""


def split_marked(text):
    """{cell index: text} from output with '@@exmy-cell i@@' lines; -1 for the prelude."""
    parts, cur, buf = {}, -1, []
    for line in text.split("\n"):
        m = re.fullmatch(MARK + r" (-?\d+)@@", line.strip())
        if m:
            parts[cur] = "\n".join(buf)
            cur, buf = int(m.group(1)), []
        else:
            buf.append(line)
    parts[cur] = "\n".join(buf)
    return parts


def parse_outputs(text):
    """(plain text, [bundles]) of one cell's stdout."""
    plain, bundles = [], []
    for line in text.split("\n"):
        if line.startswith(MIME):
            bundles.append(json.loads(line[len(MIME):]))
        else:
            plain.append(line)
    return "\n".join(plain).strip("\n"), bundles


ERROR_RE = re.compile(r"(^|\s)(error|fatal error):|JIT session error|Symbols not found|"
                      r"Failed to materialize|Not implement yet", re.M)


def check_cell(index, cell, stdout, stderr):
    """List of problems of one executed cell."""
    problems = []
    if ERROR_RE.search(stderr):
        problems.append(f"cell {index} failed:\n{stderr.strip()}")
    plain, bundles = parse_outputs(stdout)
    haystack = [plain] + [b.get(k, "") for b in bundles for k in ("text/plain", "text/html")]
    for b in bundles:
        if "image/png" in b:
            try:
                png = base64.b64decode(b["image/png"], validate=True)
            except ValueError as e:
                problems.append(f"cell {index}: image/png is not base64 ({e})")
                continue
            if not png.startswith(PNG_SIGNATURE):
                problems.append(f"cell {index}: image/png does not start with the PNG signature")
    meta = cell.metadata.get("exmy", {})
    for s in meta.get("expect", []):
        if not any(s in h for h in haystack):
            problems.append(f"cell {index}: expected output {s!r} not found in:\n{plain}")
    for mt in meta.get("expect_mime", []):
        if not any(mt in b for b in bundles):
            problems.append(f"cell {index}: expected a {mt} display, got "
                            f"{[sorted(b) for b in bundles]}")
    return problems, plain, bundles


def to_nb_outputs(plain, bundles):
    outs = []
    if plain:
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=plain + "\n"))
    for b in bundles:
        outs.append(nbformat.v4.new_output("display_data", data=b))
    return outs


def run(path, library_dirs, clang_repl, timeout, write_executed=None, verbose=False, xcc=()):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    std = std_flag(nb)
    sess = Session(path, library_dirs)
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    inputs = [PRELUDE]
    for i, c in code_cells:
        inputs.append(f"__exmy_nb_mark({i});")
        inputs.append(sess.translate(i, c.source))
    inputs.append(f"__exmy_nb_mark({len(nb.cells)});")
    flags = sess.flags(std, xcc)
    cmd = [clang_repl] + flags + inputs
    if verbose:
        print(" ".join(cmd[: len(flags) + 1]), f"+ {len(inputs)} inputs", file=sys.stderr)
    t0 = time.monotonic()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(cmd, cwd=sess.nb_dir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotebookError(f"{path}: clang-repl did not finish within {timeout} s")
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Wall and CPU time (user + system) of the clang-repl process: on a loaded machine the wall
    # time says little, the CPU time is what the notebook costs.
    wall = (time.monotonic() - t0, c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
    outs, errs = split_marked(proc.stdout), split_marked(proc.stderr)
    problems = []
    if ERROR_RE.search(errs.get(-1, "")):
        problems.append(f"harness prelude failed:\n{errs[-1].strip()}")
    for i, c in code_cells:
        if i not in outs:
            problems.append(f"cell {i} never ran (clang-repl stopped early; rc {proc.returncode})")
            continue
        p, plain, bundles = check_cell(i, c, outs[i], errs.get(i, ""))
        problems += p
        if verbose:
            print(f"--- cell {i}: {len(plain.splitlines())} lines, {len(bundles)} bundles",
                  file=sys.stderr)
            print(plain, file=sys.stderr)
            if errs.get(i, "").strip():
                print(f"--- cell {i} stderr:\n{errs[i].strip()[:3000]}", file=sys.stderr)
        c.outputs = to_nb_outputs(plain, bundles)
    if proc.returncode < 0:
        problems.append(f"clang-repl died with signal {-proc.returncode}; stderr ends:\n"
                        f"{proc.stderr[-3000:]}")
    elif proc.returncode != 0 and not problems:
        problems.append(f"clang-repl exited with {proc.returncode}:\n{proc.stderr[-4000:]}")
    if write_executed:
        nbformat.write(nb, write_executed)
    return problems, wall, len(code_cells)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--library-dir", action="append", default=[],
                    help="searched first for #pragma cling load (e.g. build/src)")
    ap.add_argument("--clang-repl", default=shutil.which("clang-repl-19") or "clang-repl-19")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--write-executed", metavar="OUT.ipynb",
                    help="also write the notebook with the outputs of this run")
    ap.add_argument("--xcc", action="append", default=[], metavar="FLAG",
                    help="extra compiler flag for the cells (repeatable), e.g. --xcc=-O1")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if not os.path.exists(a.clang_repl) and not shutil.which(a.clang_repl):
        print(f"run_notebook: {a.clang_repl} not found (Debian package clang-tools-19)",
              file=sys.stderr)
        return 2
    try:
        problems, wall, n = run(a.notebook, a.library_dir, a.clang_repl, a.timeout,
                                a.write_executed, a.verbose, a.xcc)
    except NotebookError as e:
        print(f"run_notebook: {e}", file=sys.stderr)
        return 1
    name = os.path.basename(a.notebook)
    for p in problems:
        print(f"{name}: {p}", file=sys.stderr)
    status = "FAILED" if problems else "ok"
    print(f"{name}: {n} code cells {status} in {wall[0]:.1f} s wall, {wall[1]:.1f} s CPU "
          f"(clang-repl-19)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
