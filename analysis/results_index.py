#!/usr/bin/python3
"""Rewrites the provenance columns of results/README.md's "Results files" table from the files.

Each row names its file in the first column and says what it is in the second; the git_sha, date
and command columns are filled from the file's own provenance (results_io.load), so the table
cannot drift from what make_figures.sh wrote. A file named in the table but missing is an error.

    python3 analysis/results_index.py results
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402


def rewrite(results_dir):
    path = os.path.join(results_dir, "README.md")
    lines = open(path, encoding="utf-8").read().split("\n")
    start = lines.index("## Results files")
    out, in_table = lines[: start + 1], False
    for line in lines[start + 1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells and cells[0].startswith("`") and not in_table is None:
            in_table = True
            name = cells[0].strip("`")
            meta = rio.load(os.path.join(results_dir, name)).meta
            line = (f"| `{name}` | {cells[1]} | `{meta['git_sha']}` | {meta['date']} | "
                    f"`{meta['command']}` |")
        elif in_table and not line.startswith("|"):
            in_table = None  # the table ended: later tables are left alone
        out.append(line)
    open(path, "w", encoding="utf-8").write("\n".join(out))
    return path


if __name__ == "__main__":
    print(rewrite(sys.argv[1] if len(sys.argv) > 1 else "results"))
