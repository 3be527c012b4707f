#!/usr/bin/python3
"""Figure: SQNR vs Student-t ν per split — "outliers → exponent bits" in one picture.

Heavier tails (smaller ν) favour more exponent bits. Top: standard SQNR of every 8-bit split and
int8 at its optimal range, vs ν (log axis). Bottom: the best format at each ν, so the crossovers
are visible at a glance. The paper-convention SQNR differs from the standard one by 10·log10 E[X²],
the same for every format at a given ν, so it has the same winner.

    python3 analysis/fig_sqnr_vs_nu.py results/sqnr_vs_nu.json -o results/figures

Input: compute_quant_error JSON with --dist student_t:nu=ν,... for several ν (one range method).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

STEM = "sqnr_vs_nu"


def with_nu(df):
    """Rows of Student-t laws with a numeric column nu, sorted by nu."""
    d = df[df["distribution"].str.startswith("student_t:")].copy()
    d["nu"] = [rio.spec_param(s, "nu") for s in d["distribution"]]
    return d.sort_values("nu")


def best_by_nu(d, column="sqnr_db"):
    """[(nu, best format)] — ties resolved to the first format in the shared sort order."""
    out = []
    for nu, g in d.groupby("nu", sort=True):
        g = g.assign(_k=[rio.format_sort_key(f) for f in g["format"]]).sort_values("_k")
        out.append((float(nu), str(g.loc[g[column].idxmax(), "format"])))
    return out


def build_figure(df, column="sqnr_db"):
    """Top axes gid 'sqnr': one line per format (gid = format name, x = ν, y = column).
    Bottom axes gid 'best': points (ν, index of the best format in the y tick labels)."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    d = with_nu(df)
    formats = sorted(dict.fromkeys(d["format"]), key=rio.format_sort_key)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1.3]})
    ax.set_gid("sqnr")
    bx.set_gid("best")
    for f in formats:
        g = d[d["format"] == f]
        ln, = ax.plot(g["nu"].to_numpy(float), g[column].to_numpy(float), marker="o",
                      markersize=3, color=rio.format_color(f), label=f,
                      linestyle=rio.format_linestyle(f))
        ln.set_gid(f)
    ax.set_xscale("log")
    ax.set_ylabel("SQNR (dB), optimal range" if column == "sqnr_db" else column)
    dists = list(dict.fromkeys(d["distribution"]))
    clip = rio.spec_param(dists[0], "clip") if dists else None
    ax.set_title("Student-t(ν)" + (f", clipped at ±{clip:g}" if clip else "") +
                 ": heavier tails favour exponent bits")
    ax.legend(ncol=2, loc="lower right")
    best = best_by_nu(d, column)
    ys = [formats.index(f) for _, f in best]
    pts, = bx.plot([n for n, _ in best], ys, linestyle="-", drawstyle="steps-mid", marker="s",
                   color="#333333")
    pts.set_gid("best")
    bx.set_yticks(range(len(formats)))
    bx.set_yticklabels(formats)
    bx.set_ylim(-0.5, len(formats) - 0.5)
    bx.invert_yaxis()
    bx.set_ylabel("best format")
    bx.set_xlabel("Student-t degrees of freedom ν (log scale)")
    # Mark where the winner changes.
    for (n0, f0), (n1, f1) in zip(best, best[1:]):
        if f0 != f1:
            for a in (ax, bx):
                a.axvline(np.sqrt(n0 * n1), color="#999999", linestyle=":", linewidth=1)
    fig.tight_layout()
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+", help="compute_quant_error results over Student-t laws")
    ap.add_argument("--column", default="sqnr_db", choices=["sqnr_db", "paper_db"])
    ap.add_argument("-o", "--out-dir", default="results/figures")
    a = ap.parse_args(argv)
    fig = build_figure(rio.load_records(a.inputs), a.column)
    print("\n".join(rio.save_figure(fig, a.out_dir, STEM)))
    return fig


if __name__ == "__main__":
    main()
