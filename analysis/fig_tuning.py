#!/usr/bin/python3
"""Figure: accuracy-driven tuning — test accuracy of every trial against the evaluations used, one
panel per format, one line per strategy (issue 6, README "Accuracy-driven tuning").

Each panel shows the FP32 accuracy (dotted), the lowest accuracy the tolerable loss accepts
(dashed), and each strategy's trials in order; a filled marker is the trial that met the
tolerable loss (where the tuner stopped).

    python3 analysis/fig_tuning.py results/tuning -o results/figures

Input: a folder of exmy-tune results named tuning_<strategy>_<format>.json (schema_version 1, as
results/tuning/run_tuning.sh writes them). Output: <out>/tuning.png and .pdf.
"""
import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402

#: strategies in the order and colours they are drawn, with their legend labels.
#: (key, label, colour, line style, z-order): the logits-SQNR line is drawn on top, the tensor-SQNR
#: one dashed, so that identical trial sequences stay visible.
STRATEGIES = [("inc-fp8", "INC fp8 op-type", "#d95f02", "-", 2),
              ("sensitivity-output", "exmy sensitivity (logits SQNR)", "#1b9e77", "-", 4),
              ("sensitivity-tensor", "exmy sensitivity (tensor SQNR)", "#7570b3", "--", 3)]
NAME = re.compile(r"tuning_(?P<strategy>[a-z0-9-]+?)_(?P<format>[a-z0-9]+)\.json$")


def load_runs(folder):
    """{format: {strategy: Results}} of every tuning_<strategy>_<format>.json in folder (the README
    example run, tuning_example.json, is not one of them)."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, "tuning_*.json"))):
        m = NAME.search(os.path.basename(path))
        if not m or m["strategy"] not in {s[0] for s in STRATEGIES}:
            continue
        runs.setdefault(m["format"], {})[m["strategy"]] = rio.load(path)
    return runs


def build_figure(runs):
    """One Axes per format (gid = format); in each, one Line2D per strategy (gid = strategy,
    xdata = trial numbers 1…n, ydata = accuracies in %), the FP32 line (gid 'fp32') and the
    target line (gid 'target'); the passing trial as a separate marker (gid '<strategy>|met');
    one figure legend below the panels."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    formats = sorted(runs, key=rio.format_sort_key)
    if not formats:
        raise ValueError("no tuning_<strategy>_<format>.json results to draw")
    fig, axes = plt.subplots(1, len(formats), figsize=(3.0 * len(formats), 3.2), squeeze=False)
    for ax, f in zip(axes[0], formats):
        ax.set_gid(f)
        any_run = next(iter(runs[f].values()))
        base = 100 * float(any_run.extra["baseline"]["accuracy"])
        tol = float(any_run.extra["settings"]["tolerable_loss"])
        ax.axhline(base, color="#555555", linestyle=":", linewidth=1).set_gid("fp32")
        ax.axhline(base * (1 - tol), color="#555555", linestyle="--", linewidth=1).set_gid("target")
        most = 1
        for key, label, color, style, z in STRATEGIES:
            if key not in runs[f]:
                continue
            t = runs[f][key].rows
            x = t["trial"].to_numpy(int)
            y = 100 * t["accuracy"].to_numpy(float)
            most = max(most, int(x.max()))
            line, = ax.plot(x, y, marker="o", color=color, label=label, markerfacecolor="white",
                            linestyle=style, zorder=z)
            line.set_gid(key)
            met = t[t["passed"]]
            if len(met):
                m, = ax.plot(met["trial"].to_numpy(int), 100 * met["accuracy"].to_numpy(float),
                             linestyle="none", marker="o", color=color, markersize=6, zorder=z)
                m.set_gid(key + "|met")
        ax.set_xticks(range(1, most + 1, max(1, most // 8)))
        ax.set_xlim(0.5, most + 0.5)
        ax.set_title(f"{f}: tolerable loss {100 * tol:.3g} %")
        ax.set_xlabel("evaluations (trials)")
    axes[0][0].set_ylabel("test accuracy (%)")
    # One legend for all panels, below them (inside a panel it hides trials).
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles),
               frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="folder with exmy-tune tuning_<strategy>_<format>.json files")
    ap.add_argument("-o", "--out-dir", default="results/figures")
    a = ap.parse_args(argv)
    fig = build_figure(load_runs(a.folder))
    print("\n".join(rio.save_figure(fig, a.out_dir, "tuning")))
    return fig


if __name__ == "__main__":
    main()
