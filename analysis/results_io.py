"""exmy results files -> pandas, and the one matplotlib style every figure uses.

Reads what the exmy command-line tools write (design.md §9 "outputs carry their schema"):

* JSON: an object with the provenance keys (schema_version, exmy_version, git_sha, command, date)
  and one list of rows (``records`` for compute_quant_error, ``formats`` for exmy-formats, ...).
* CSV: a first comment line ``# schema_version=1 exmy_version=... git_sha=... date=... command=...``
  (command last: it contains spaces), then a header row and the rows.

A file whose schema_version is missing or not one this module knows is refused with
UnsupportedSchema: silently plotting columns whose meaning changed is how wrong figures get into
papers.
"""
from __future__ import annotations

import argparse
import io
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import pandas as pd

#: schema versions this code understands; bump together with the tools' k_schema_version.
SUPPORTED_SCHEMA_VERSIONS = (1,)

#: the keys of a JSON results object that hold the rows, in the order they are looked for.
ROW_KEYS = ("records", "formats", "tensors", "trials", "rows")

PROVENANCE_KEYS = ("schema_version", "exmy_version", "git_sha", "date", "command")


class UnsupportedSchema(ValueError):
    """A results file without a schema_version, or with one this code does not read."""


@dataclass
class Results:
    """One results file: its provenance and its rows."""

    path: str
    meta: Dict[str, object]
    rows: pd.DataFrame
    extra: Dict[str, object] = field(default_factory=dict)

    @property
    def schema_version(self) -> int:
        return int(self.meta["schema_version"])


def check_schema(meta: Dict[str, object], path: str) -> None:
    """Raises UnsupportedSchema unless meta carries a supported schema_version."""
    if "schema_version" not in meta:
        raise UnsupportedSchema(
            f"{path}: no schema_version — not an exmy results file (or written by a tool "
            f"older than the schema); regenerate it with analysis/make_figures.sh")
    try:
        v = int(meta["schema_version"])
    except (TypeError, ValueError):
        raise UnsupportedSchema(f"{path}: schema_version {meta['schema_version']!r} is not an integer")
    if v not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnsupportedSchema(
            f"{path}: schema_version {v} is not supported by analysis/results_io.py "
            f"(supported: {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}); regenerate the file "
            f"with the matching exmy tools or update the analysis code")


def parse_csv_comment(line: str) -> Dict[str, object]:
    """Parses '# key=value key=value ... command=<rest of line>' into a dict."""
    body = line.lstrip("#").strip()
    meta: Dict[str, object] = {}
    # The command is the last key and may contain spaces and '=': split it off first.
    cmd_at = body.find("command=")
    if cmd_at >= 0:
        meta["command"] = body[cmd_at + len("command="):]
        body = body[:cmd_at]
    for tok in body.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            meta[k] = v
    return meta


def _load_json(path: str, text: str) -> Results:
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise UnsupportedSchema(f"{path}: top level is not a JSON object")
    check_schema(obj, path)
    meta = {k: obj[k] for k in PROVENANCE_KEYS if k in obj}
    for key in ROW_KEYS:
        if key in obj and isinstance(obj[key], list):
            rows = pd.DataFrame(obj[key])
            extra = {k: v for k, v in obj.items() if k not in PROVENANCE_KEYS and k != key}
            return Results(path, meta, rows, extra)
    raise UnsupportedSchema(f"{path}: no list of rows under any of {', '.join(ROW_KEYS)}")


def _load_csv(path: str, text: str) -> Results:
    first, _, rest = text.partition("\n")
    if not first.startswith("#"):
        raise UnsupportedSchema(f"{path}: CSV without the '# schema_version=...' provenance line")
    meta = parse_csv_comment(first)
    check_schema(meta, path)
    meta["schema_version"] = int(meta["schema_version"])
    rows = pd.read_csv(io.StringIO(rest), keep_default_na=False, na_values=["nan"],
                       float_precision="round_trip")  # exact doubles, as printed with 17 digits
    return Results(path, meta, rows)


def load(path: str) -> Results:
    """Loads a results file (.json or .csv), checking its schema_version."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return _load_json(path, text)
    if path.endswith(".csv"):
        return _load_csv(path, text)
    # Unknown extension: sniff.
    return _load_json(path, text) if text.lstrip().startswith("{") else _load_csv(path, text)


def load_records(paths: Sequence[str]) -> pd.DataFrame:
    """Concatenates the rows of several results files (all schema-checked)."""
    frames = [load(p).rows for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ---------------------------------------------------------------------------------------------
# Shared style

#: the order in which formats appear everywhere: exponent bits high -> low, then integers.
def format_sort_key(name: str):
    """e5m2 < e4m3 < ... < e1m6 < int8: more exponent bits first (the paper's order)."""
    if name.startswith("e") and "m" in name:
        e, m = name[1:].split("m", 1)
        try:
            return (0, -int(e), int("".join(ch for ch in m if ch.isdigit()) or 0), name)
        except ValueError:
            pass
    return (1, 0, 0, name)


def exp_bits_of(name: str) -> int:
    """Exponent bits of an eXmY name; 0 for integer formats."""
    k = format_sort_key(name)
    return -k[1] if k[0] == 0 else 0


_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
            "#666666", "#1f78b4", "#b2df8a"]


def format_color(name: str) -> str:
    """A stable colour per format: eXmY by exponent bits, integers grey-black."""
    e = exp_bits_of(name)
    if e == 0:
        return "#222222"
    return _PALETTE[(e - 1) % len(_PALETTE)]


def format_linestyle(name: str) -> str:
    """Dashed for integer formats, so that int8 never hides e1m6 (nearly the same grid)."""
    return "--" if exp_bits_of(name) == 0 else "-"


#: human-readable names of the paper's laws.
def pretty_distribution(spec: str) -> str:
    """'student_t:nu=8,clip=100' -> 'Student-t ν=8, clip ±100'."""
    kind, _, args = spec.partition(":")
    kv = dict(a.split("=", 1) for a in args.split(",") if "=" in a)
    if kind == "uniform":
        return f"Uniform[{kv.get('lo', '-1')}, {kv.get('hi', '1')}]"
    base = {"normal": "N({mu}, {sigma}²)", "student_t": "Student-t ν={nu}",
            "laplace": "Laplace b={b}"}.get(kind, kind)
    try:
        base = base.format(**{"mu": "0", "sigma": "1", "nu": "?", "b": "1", **kv})
    except (KeyError, IndexError):
        pass
    if "clip" in kv:
        base += f", clip ±{kv['clip']}"
    if "trunc" in kv:
        base += f", trunc ±{kv['trunc']}"
    return base


def spec_param(spec: str, key: str) -> Optional[float]:
    """A numeric parameter of a distribution spec ('student_t:nu=8,clip=100', 'nu') -> 8.0."""
    _, _, args = spec.partition(":")
    for a in args.split(","):
        k, _, v = a.partition("=")
        if k == key:
            return float(v)
    return None


def apply_style() -> None:
    """The one matplotlib style of every exmy figure (deterministic output, paper-sized fonts)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 1.4,
        "lines.markersize": 4,
        "pdf.fonttype": 42,  # TrueType in PDFs: editable text for journals
        "svg.hashsalt": "exmy",
    })


def save_figure(fig, out_dir: str, stem: str) -> List[str]:
    """Writes fig as <out_dir>/<stem>.png and .pdf; returns both paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for ext, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None, "Creator": None,
                                                           "Producer": None})):
        p = os.path.join(out_dir, f"{stem}.{ext}")
        fig.savefig(p, format=ext, bbox_inches="tight", metadata=meta)
        paths.append(p)
    return paths


def provenance_note(results: Sequence[Results]) -> str:
    """One line naming the tools' git SHAs, for a figure's caption area."""
    shas = sorted({str(r.meta.get("git_sha", "unknown")) for r in results})
    return "exmy " + ", ".join(shas)


def records_figure_main(doc, build_figure, stem, inputs_help, argv=None):
    """The command line of the figure scripts that draw the records of several results files:
    `script INPUT... [-o OUT_DIR]`; writes STEM.png and STEM.pdf and returns the figure."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help=inputs_help)
    ap.add_argument("-o", "--out-dir", default="results/figures")
    a = ap.parse_args(argv)
    fig = build_figure(load_records(a.inputs))
    print("\n".join(save_figure(fig, a.out_dir, stem)))
    return fig
