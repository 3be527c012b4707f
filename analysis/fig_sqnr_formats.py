#!/usr/bin/python3
"""Figure: SQNR per format per distribution — the paper's analytic figure, every split.

Rows: the two SQNR conventions — standard 10·log10(E[X²]/MSE) and the paper's −10·log10(MSE)
(reference-spec Q1). Columns: distributions. Bars: formats (every 8-bit split and int8), one bar
per range method (the paper's sample line search "reference" vs the exact optimum "optimal").

    python3 analysis/fig_sqnr_formats.py results/analytic_reference.json \
        results/analytic_optimal.json -o results/figures

Input: compute_quant_error --output json records (any number of files, concatenated).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

STEM = "sqnr_formats"
CONVENTIONS = (("sqnr_db", "SQNR (dB)\n10·log10(E[X²]/MSE)"),
               ("paper_db", "paper \"SQNR\" (dB)\n−10·log10(MSE)"))
METHOD_ORDER = ("reference", "optimal", "fixed")
METHOD_STYLE = {"reference": dict(alpha=0.45, hatch="//", edgecolor="#444444", linewidth=0.4),
                "optimal": dict(alpha=1.0, edgecolor="#222222", linewidth=0.4),
                "fixed": dict(alpha=0.7, edgecolor="#222222", linewidth=0.4)}


def tables(df):
    """(distributions in file order, formats sorted, methods present)."""
    dists = list(dict.fromkeys(df["distribution"]))
    formats = sorted(dict.fromkeys(df["format"]), key=rio.format_sort_key)
    methods = [m for m in METHOD_ORDER if m in set(df["range_method"])]
    return dists, formats, methods


def build_figure(df):
    """The figure from records (columns distribution, format, range_method, sqnr_db, paper_db).
    Every Axes has gid '<column>|<distribution>'; every bar container is labelled with its range
    method and its bars follow the format order of the x axis (NaN where a cell is missing)."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    dists, formats, methods = tables(df)
    fig, axes = plt.subplots(len(CONVENTIONS), len(dists), figsize=(3.6 * len(dists), 5.6),
                             squeeze=False)
    x = np.arange(len(formats))
    width = 0.8 / max(len(methods), 1)
    for r, (col, ylabel) in enumerate(CONVENTIONS):
        for c, dist in enumerate(dists):
            ax = axes[r][c]
            ax.set_gid(f"{col}|{dist}")
            sub = df[df["distribution"] == dist]
            for k, m in enumerate(methods):
                cell = sub[sub["range_method"] == m].set_index("format")[col]
                h = [float(cell[f]) if f in cell.index else np.nan for f in formats]
                ax.bar(x - 0.4 + width * (k + 0.5), h, width, label=m,
                       color=[rio.format_color(f) for f in formats], **METHOD_STYLE[m])
            if r == 0:
                ax.set_title(rio.pretty_distribution(dist))
            if c == 0:
                ax.set_ylabel(ylabel)
            ax.set_xticks(x)
            ax.set_xticklabels(formats, rotation=45, ha="right")
            if r < len(CONVENTIONS) - 1:  # same formats below: hide the labels, keep the ticks
                ax.tick_params(labelbottom=False)
            vals = sub[col].to_numpy(dtype=float)
            vals = vals[np.isfinite(vals)]
            if vals.size:  # zoom on the differences: bars start a little below the smallest
                lo, hi = vals.min(), vals.max()
                ax.set_ylim(lo - 0.15 * (hi - lo) - 1, hi + 0.1 * (hi - lo) + 1)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor="#999999", **METHOD_STYLE[m]) for m in methods]
    fig.legend(handles, [f"range: {m}" for m in methods], loc="upper center",
               ncol=len(methods), frameon=False, bbox_to_anchor=(0.5, 1.02))
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def main(argv=None):
    return rio.records_figure_main(__doc__, build_figure, STEM, "compute_quant_error JSON/CSV results", argv)


if __name__ == "__main__":
    main()
