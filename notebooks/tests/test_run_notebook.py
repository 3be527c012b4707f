"""The notebook harness itself: it translates cells as xeus-cling would run them, and a broken
cell, a missing expected output or a bad PNG makes the run fail (so a green notebook test means
something). Needs clang-repl-19, not libexmy.so."""
import os
import shutil
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import run_notebook as rn  # noqa: E402

CLANG_REPL = shutil.which("clang-repl-19")
needs_repl = pytest.mark.skipif(CLANG_REPL is None, reason="clang-repl-19 not installed")
META = {"kernelspec": {"name": "xcpp17", "display_name": "C++17", "language": "C++17"},
        "language_info": {"name": "c++", "version": "17"}}


def notebook(tmp_path, *cells):
    nb = new_notebook(metadata=META)
    for c in cells:
        src, meta = c if isinstance(c, tuple) else (c, None)
        cell = new_code_cell(src)
        if meta:
            cell.metadata["exmy"] = meta
        nb.cells.append(cell)
    p = tmp_path / "t.ipynb"
    nbformat.write(nb, str(p))
    return str(p)


def run(path):
    problems, _, n = rn.run(path, [], CLANG_REPL, timeout=300)
    return problems, n


@pytest.mark.parametrize("code,body,expr", [
    ("int x = 3;\nx", "int x = 3;", "x"),
    ("int x = 3;", "int x = 3;", None),
    ("#include <vector>", "#include <vector>", None),
    ("void f() {\n}", "void f() {\n}", None),
    ("std::vector<int> v{1, 2};\nv.size() // n", "std::vector<int> v{1, 2};", "v.size() // n"),
    ('auto s = "a;b";\ns', 'auto s = "a;b";', "s"),
    ("#include <cstdio>\nstd::printf(\"%d\", 1)", "#include <cstdio>", 'std::printf("%d", 1)'),
])
def test_trailing_expression(code, body, expr):
    assert rn.split_trailing_expression(code) == ((body, expr) if expr else (code, None))


def test_top_level_const_is_refused():
    assert rn.top_level_const("int a = 1;\nconst int b = a;") == 2
    assert rn.top_level_const("constexpr int n = 3;\nvoid f(const int& x) {\n  const int y = x;\n}") is None
    s = rn.Session("x.ipynb", [])
    with pytest.raises(rn.NotebookError, match="line 2: a namespace-scope `const` object"):
        s.translate(0, "int a = 1;\nconst int b = a;")


def test_kernelspec_must_be_xcpp(tmp_path):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                "language_info": {"name": "python"}})
    with pytest.raises(rn.NotebookError, match="not an xeus-cling kernel"):
        rn.std_flag(nb)


def test_missing_library_is_an_error(tmp_path):
    p = notebook(tmp_path, '#pragma cling add_library_path(".")\n#pragma cling load("nope")')
    with pytest.raises(rn.NotebookError, match="libnope.so"):
        rn.run(p, [], CLANG_REPL or "clang-repl-19", timeout=60)


@needs_repl
def test_passing_notebook_and_outputs(tmp_path):
    p = notebook(tmp_path, "#include <cstdio>\nint x = 6 * 7;",
                 ('std::printf("x=%d\\n", x);', {"expect": ["x=42"]}),
                 ("x + 1", {"expect": ["43"]}))
    problems, n = run(p)
    assert problems == [] and n == 3


@needs_repl
def test_compile_error_fails(tmp_path):
    p = notebook(tmp_path, "int x = 1;", "int y = undefined_name + 1;", "int z = 2;")
    problems, _ = run(p)
    assert any("cell 1 failed" in q and "undefined_name" in q for q in problems)


@needs_repl
def test_missing_expected_output_fails(tmp_path):
    p = notebook(tmp_path, ('#include <cstdio>\nstd::printf("hello\\n");', {"expect": ["goodbye"]}))
    problems, _ = run(p)
    assert any("expected output 'goodbye'" in q for q in problems)


@needs_repl
def test_uncaught_exception_fails(tmp_path):
    p = notebook(tmp_path, "#include <stdexcept>", 'throw std::runtime_error("boom");')
    problems, _ = run(p)
    assert problems, "a cell that throws must fail the notebook"


@needs_repl
def test_mime_bundles_are_checked(tmp_path):
    # One session (clang-repl start-up is the cost): a valid PNG bundle, a bundle whose image/png
    # is not a PNG, and a cell that displays no bundle although one is expected.
    shim_user = ('#include <xcpp/xdisplay.hpp>\n#include <string>\n'
                 'namespace demo { struct pic { std::string b64; }; '
                 'nlohmann::json mime_bundle_repr(const pic& p) { '
                 'return {{"image/png", p.b64}, {"text/plain", "pic"}}; } }')
    # "iVBORw0KGgo=" is base64 of the 8-byte PNG signature.
    p = notebook(tmp_path, shim_user,
                 ('demo::pic good{"iVBORw0KGgo="};\ngood', {"expect_mime": ["image/png"]}),
                 ('demo::pic bad{"AAAA"};\nbad', {"expect_mime": ["image/png"]}),
                 ("1 + 1", {"expect_mime": ["image/png"], "expect": ["2"]}))
    problems, _ = run(p)
    assert len(problems) == 2, problems
    assert "cell 2" in problems[0] and "PNG signature" in problems[0]
    assert "cell 3" in problems[1] and "expected a image/png display" in problems[1]
