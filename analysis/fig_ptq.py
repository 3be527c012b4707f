#!/usr/bin/python3
"""Figure: PTQ on a real model — per-tensor SQNR heat map and predicted-vs-measured scatter.

Left: measured SQNR of every tensor (rows, sorted by excess kurtosis: heavier tails lower down)
in every format (columns); a dot marks each tensor's best format. Right: the analytic engine's
prediction (a normal or Student-t law fitted to the tensor, at the scale actually used) against
the measurement, one point per (tensor, format), with the y = x line.

    python3 analysis/fig_ptq.py results/ptq_fashion_cnn.json -o results/figures

Input: exmy-ptq --output json (per-tensor granularity for the predictions). Output:
<out>/ptq_<model>.png/.pdf, <model> from the input file name (ptq_ prefix not repeated).
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_io as rio  # noqa: E402


def flatten(tensors):
    """One row per (tensor, format): tensor, excess_kurtosis, best, format, sqnr_db, predicted_db."""
    rows = []
    for _, t in tensors.iterrows():
        for f in t["formats"]:
            rows.append({"tensor": t["name"], "excess_kurtosis": t["excess_kurtosis"],
                         "best": t["best"], "format": f["format"], "sqnr_db": f["sqnr_db"],
                         "predicted_db": f.get("predicted_db")})
    df = pd.DataFrame(rows)
    df["predicted_db"] = pd.to_numeric(df["predicted_db"], errors="coerce")
    df["sqnr_db"] = pd.to_numeric(df["sqnr_db"], errors="coerce")  # "inf" for exact tensors
    return df


def layout(df):
    """(tensors sorted by excess kurtosis, formats in the shared order, SQNR matrix). Tensors that
    every format represents exactly (SQNR +inf: shape constants, 1-element biases) are left out."""
    finite = df[np.isfinite(df["sqnr_db"])]
    order = (finite.drop_duplicates("tensor").sort_values(["excess_kurtosis", "tensor"])["tensor"])
    tensors = list(order)
    formats = sorted(dict.fromkeys(df["format"]), key=rio.format_sort_key)
    m = df.pivot(index="tensor", columns="format", values="sqnr_db").loc[tensors, formats]
    return tensors, formats, m.to_numpy(float)


def build_figure(tensors_df, title=""):
    """Heat map Axes gid 'heatmap' (AxesImage array = SQNR matrix of the tensors with a finite
    SQNR, rows as the y tick labels,
    columns as the x tick labels; best-format markers gid 'best'); scatter Axes gid 'scatter'
    (one PathCollection per format, gid = format, offsets = (predicted_db, sqnr_db))."""
    import matplotlib.pyplot as plt

    rio.apply_style()
    df = flatten(tensors_df)
    tensors, formats, m = layout(df)
    exact = df["tensor"].nunique() - len(tensors)
    height = max(3.5, 0.16 * len(tensors) + 1.2)
    fig, (hx, sx) = plt.subplots(1, 2, figsize=(10, height),
                                 gridspec_kw={"width_ratios": [1.1, 1]})
    hx.set_gid("heatmap")
    finite = np.where(np.isfinite(m), m, np.nan)
    im = hx.imshow(finite, aspect="auto", cmap="viridis", interpolation="nearest")
    hx.set_xticks(range(len(formats)))
    hx.set_xticklabels(formats, rotation=45, ha="right")
    hx.set_yticks(range(len(tensors)))
    hx.set_yticklabels(tensors, fontsize=6 if len(tensors) > 30 else 7)
    hx.grid(False)
    best = df.drop_duplicates("tensor").set_index("tensor").loc[tensors, "best"]
    bx = [formats.index(b) if b in formats else np.nan for b in best]
    mk, = hx.plot(bx, range(len(tensors)), linestyle="none", marker="o", markersize=4,
                  markerfacecolor="white", markeredgecolor="black", markeredgewidth=0.6)
    mk.set_gid("best")
    hx.set_title("measured SQNR (dB); ○ best format" +
                 (f"\n({exact} exactly represented tensors not shown)" if exact else ""))
    hx.set_ylabel("tensor (by excess kurtosis ↓)")
    fig.colorbar(im, ax=hx, fraction=0.05, pad=0.02)

    sx.set_gid("scatter")
    pred = df.dropna(subset=["predicted_db"])
    pred = pred[np.isfinite(pred["sqnr_db"])]
    for f in formats:
        g = pred[pred["format"] == f]
        if g.empty:
            continue
        pc = sx.scatter(g["predicted_db"].to_numpy(float), g["sqnr_db"].to_numpy(float), s=10,
                        color=rio.format_color(f), label=f, alpha=0.8)
        pc.set_gid(f)
    if len(pred):
        lo = float(min(pred["predicted_db"].min(), pred["sqnr_db"].min())) - 1
        hi = float(max(pred["predicted_db"].max(), pred["sqnr_db"].max())) + 1
        sx.plot([lo, hi], [lo, hi], color="#555555", linewidth=1, linestyle=":")
        d = (pred["sqnr_db"] - pred["predicted_db"]).to_numpy(float)
        sx.text(0.02, 0.98, f"measured − predicted: median {np.median(d):+.2f} dB,\n"
                f"10–90 %: {np.percentile(d, 10):+.2f} … {np.percentile(d, 90):+.2f} dB",
                transform=sx.transAxes, va="top", fontsize=7)
    sx.set_xlabel("predicted SQNR (dB), fitted law")
    sx.set_ylabel("measured SQNR (dB)")
    sx.set_title("analytic prediction vs measurement")
    sx.legend(loc="lower right", ncol=2)
    sx.set_aspect("equal", adjustable="box")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / height) if title else None)
    return fig


def stem_of(path):
    base = os.path.splitext(os.path.basename(path))[0].replace(".", "_")
    return base if base.startswith("ptq_") else "ptq_" + base


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="exmy-ptq --output json results")
    ap.add_argument("-o", "--out-dir", default="results/figures")
    a = ap.parse_args(argv)
    r = rio.load(a.input)
    if "formats" not in r.rows.columns or "excess_kurtosis" not in r.rows.columns:
        raise ValueError(f"{a.input}: not an exmy-ptq report (no per-tensor formats)")
    title = f"{r.extra.get('model', '')} — {r.extra.get('settings', {}).get('granularity', '')}"
    fig = build_figure(r.rows, title.strip(" —"))
    print("\n".join(rio.save_figure(fig, a.out_dir, stem_of(a.input))))
    return fig


if __name__ == "__main__":
    main()
