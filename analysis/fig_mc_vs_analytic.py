#!/usr/bin/python3
"""Figure: Monte-Carlo vs analytic MSE, with the Monte-Carlo 95 % confidence intervals.

The two ways exmy measures a format must agree: for every (distribution, format) the relative
deviation of the Monte-Carlo MSE from the closed form, 100·(mc_mse/mse − 1) %, with its 95 % CI
(fourth-moment standard error) as an error bar. An interval that misses 0 more often than about
1 in 20 would mean a bug in one of the two engines.

    python3 analysis/fig_mc_vs_analytic.py results/mc_vs_analytic.json -o results/figures

Input: compute_quant_error --method both JSON/CSV (columns mse, mc_mse, mc_ci95_lo, mc_ci95_hi,
mc_samples, z).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

STEM = "mc_vs_analytic"


def deviations(rows):
    """Relative deviation and CI ends in percent of the analytic MSE."""
    mse = rows["mse"].to_numpy(float)
    return (100 * (rows["mc_mse"].to_numpy(float) / mse - 1),
            100 * (rows["mc_ci95_lo"].to_numpy(float) / mse - 1),
            100 * (rows["mc_ci95_hi"].to_numpy(float) / mse - 1))


def build_figure(df):
    """One Axes per distribution (gid = the distribution). Its errorbar container (label
    'monte-carlo') holds x = format index (x tick labels = formats), y = deviation %, error bars
    from the CI ends."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    missing = {"mc_mse", "mc_ci95_lo", "mc_ci95_hi"} - set(df.columns)
    if missing:
        raise ValueError(f"no Monte-Carlo columns ({', '.join(sorted(missing))}): run "
                         f"compute_quant_error with --method both")
    dists = list(dict.fromkeys(df["distribution"]))
    # Own y scale per panel: heavy-tailed laws have far wider intervals (rare clipped samples).
    fig, axes = plt.subplots(1, len(dists), figsize=(3.8 * len(dists), 3.4), squeeze=False)
    for c, dist in enumerate(dists):
        ax = axes[0][c]
        ax.set_gid(dist)
        sub = df[df["distribution"] == dist].copy()
        sub["_k"] = [rio.format_sort_key(f) for f in sub["format"]]
        sub = sub.sort_values("_k")
        formats = list(sub["format"])
        x = np.arange(len(formats))
        y, lo, hi = deviations(sub)
        ax.axhline(0, color="#555555", linewidth=1)
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="none", ecolor="#555555", capsize=3,
                    elinewidth=1, label="monte-carlo")
        ax.scatter(x, y, c=[rio.format_color(f) for f in formats], zorder=3, s=22)
        ax.set_xticks(x)
        ax.set_xticklabels(formats, rotation=45, ha="right")
        ax.set_title(rio.pretty_distribution(dist))
        if c == 0:
            ax.set_ylabel("Monte-Carlo − analytic MSE (%)\n95 % CI")
        n = sorted(set(sub["mc_samples"].astype(int))) if "mc_samples" in sub else []
        if n:
            ax.text(0.02, 0.97, "n = " + ", ".join(f"{v:.0e}" for v in n), transform=ax.transAxes,
                    va="top", fontsize=7, color="#555555")
    fig.tight_layout()
    return fig


def main(argv=None):
    return rio.records_figure_main(__doc__, build_figure, STEM, "compute_quant_error --method both results", argv)


if __name__ == "__main__":
    main()
