#!/usr/bin/python3
"""Figure: SQNR of block-scaled (OCP MX) formats per element format, one panel per distribution.

Bars: the closed form of sqnr/mx.hpp for each block-scale rule present in the inputs (OCP's floor
next to ceil: the block-maximum saturation trap is the gap between them); dots with bars: the
Monte-Carlo estimate and its 95 % CI in dB, where the inputs have one (--method both).

    python3 analysis/fig_mx.py results/mx_floor.json results/mx_ceil.json -o results/figures

Input: compute_quant_error --block K[:rule] JSON/CSV (columns element_format, block, block_rule,
sqnr_db, second_moment; optional mc_mse, mc_ci95_lo, mc_ci95_hi).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

STEM = "mx_sqnr"
RULE_COLORS = {"floor": "#c44e52", "ceil": "#4c72b0", "nearest": "#55a868"}


def mc_db(rows):
    """Monte-Carlo SQNR (dB) and its CI ends: 10·log10(E[X²]/MSE), the CI's ends swapped."""
    m2 = rows["second_moment"].to_numpy(float)
    return (10 * np.log10(m2 / rows["mc_mse"].to_numpy(float)),
            10 * np.log10(m2 / rows["mc_ci95_hi"].to_numpy(float)),
            10 * np.log10(m2 / rows["mc_ci95_lo"].to_numpy(float)))


def build_figure(df):
    """One Axes per distribution (gid = the distribution). Per rule one bar container (label =
    the rule) with the analytic sqnr_db per element format (x tick labels = element formats, in
    the inputs' order of first appearance); per rule with Monte-Carlo columns one errorbar
    container (label 'monte-carlo <rule>')."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    missing = {"element_format", "block_rule", "sqnr_db"} - set(df.columns)
    if missing:
        raise ValueError(f"not block-scaled results (no {', '.join(sorted(missing))}): run "
                         f"compute_quant_error with --block")
    dists = list(dict.fromkeys(df["distribution"]))
    rules = list(dict.fromkeys(df["block_rule"]))
    blocks = sorted(set(int(b) for b in df["block"]))
    fig, axes = plt.subplots(1, len(dists), figsize=(4.2 * len(dists), 3.6), squeeze=False)
    width = 0.8 / len(rules)
    for c, dist in enumerate(dists):
        ax = axes[0][c]
        ax.set_gid(dist)
        sub = df[df["distribution"] == dist]
        elements = list(dict.fromkeys(sub["element_format"]))
        x = np.arange(len(elements))
        for r, rule in enumerate(rules):
            rows = sub[sub["block_rule"] == rule].set_index("element_format").reindex(elements)
            xs = x + (r - (len(rules) - 1) / 2) * width
            ax.bar(xs, rows["sqnr_db"].to_numpy(float), width * 0.9, label=rule,
                   color=RULE_COLORS.get(rule, "#8172b2"))
            if "mc_mse" in rows and rows["mc_mse"].notna().all():
                y, lo, hi = mc_db(rows)
                ax.errorbar(xs, y, yerr=[y - lo, hi - y], fmt="o", ms=2.5, color="#222222",
                            elinewidth=1, capsize=2, label=f"monte-carlo {rule}")
        ax.set_xticks(x)
        ax.set_xticklabels(elements, rotation=45, ha="right")
        ax.set_title(rio.pretty_distribution(dist))
        if c == 0:
            ax.set_ylabel("SQNR (dB), block of " + ", ".join(str(b) for b in blocks))
    # One legend under the panels: every panel's bars reach the top of its axes.
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def main(argv=None):
    return rio.records_figure_main(__doc__, build_figure, STEM, "compute_quant_error --block results", argv)


if __name__ == "__main__":
    main()
