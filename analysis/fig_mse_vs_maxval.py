#!/usr/bin/python3
"""Figure: MSE vs maxval on log axes, with the maxvals each range method chose.

Beyond the data, the MSE of a float format is (nearly) periodic in log2(maxval) — plateaus that
repeat every octave (reference-spec Q4) — so the paper's sample line search lands on maxvals far
outside the data (e.g. ~38 for N(0,1)) that are no worse than the exact optimum. One panel per
distribution, one curve per format, open circles: the reference (paper) choice, stars: the exact
optimum.

    python3 analysis/fig_mse_vs_maxval.py results/mse_vs_maxval.csv \
        --chosen results/analytic_reference.json results/analytic_optimal.json \
        -o results/figures

Inputs: a compute_quant_error --sweep-maxval JSON or CSV (records with range_method "fixed"), and
optionally records of chosen maxvals (range_method reference / optimal) for the markers.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

STEM = "mse_vs_maxval"
MARKERS = {"reference": dict(marker="o", markerfacecolor="none", markersize=8, markeredgewidth=1.4),
           "optimal": dict(marker="*", markersize=10, markeredgecolor="black",
                           markeredgewidth=0.5)}


def build_figure(sweep, chosen=None):
    """Curves from sweep records (distribution, format, maxval, mse); markers from chosen records.
    Axes gid: the distribution; curve gid 'sweep|<format>'; marker gid '<method>|<format>'."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    dists = list(dict.fromkeys(sweep["distribution"]))
    formats = sorted(dict.fromkeys(sweep["format"]), key=rio.format_sort_key)
    fig, axes = plt.subplots(1, len(dists), figsize=(4.0 * len(dists), 3.6), squeeze=False)
    for c, dist in enumerate(dists):
        ax = axes[0][c]
        ax.set_gid(dist)
        sub = sweep[sweep["distribution"] == dist]
        for f in formats:
            cur = sub[sub["format"] == f].sort_values("maxval")
            if cur.empty:
                continue
            ln, = ax.plot(cur["maxval"].to_numpy(float), cur["mse"].to_numpy(float),
                          color=rio.format_color(f), label=f,
                          linestyle=rio.format_linestyle(f))
            ln.set_gid(f"sweep|{f}")
        if chosen is not None and len(chosen):
            ch = chosen[(chosen["distribution"] == dist) & chosen["format"].isin(formats)]
            for m, style in MARKERS.items():
                for f in formats:
                    row = ch[(ch["range_method"] == m) & (ch["format"] == f)]
                    if row.empty:
                        continue
                    mk, = ax.plot(row["maxval"].to_numpy(float), row["mse"].to_numpy(float),
                                  linestyle="none", color=rio.format_color(f), **style)
                    mk.set_gid(f"{m}|{f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("maxval")
        if c == 0:
            ax.set_ylabel("MSE  E[(Q(X)−X)²]")
        ax.set_title(rio.pretty_distribution(dist))
    handles, labels = axes[0][0].get_legend_handles_labels()
    import matplotlib.lines as mlines

    for m, style in MARKERS.items():
        if chosen is not None and m in set(chosen.get("range_method", [])):
            handles.append(mlines.Line2D([], [], linestyle="none", color="#555555", **style))
            labels.append(f"chosen: {m}")
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 8), frameon=False,
               bbox_to_anchor=(0.5, 1.06))
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep", help="compute_quant_error --sweep-maxval results")
    ap.add_argument("--chosen", nargs="*", default=[],
                    help="results whose maxvals are marked (reference / optimal range)")
    ap.add_argument("-o", "--out-dir", default="results/figures")
    a = ap.parse_args(argv)
    sweep = rio.load(a.sweep).rows
    chosen = rio.load_records(a.chosen) if a.chosen else None
    fig = build_figure(sweep, chosen)
    print("\n".join(rio.save_figure(fig, a.out_dir, STEM)))
    return fig


if __name__ == "__main__":
    main()
