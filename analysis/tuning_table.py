#!/usr/bin/env python3
"""Markdown tables of results/tuning/ (exmy-tune JSON, schema_version 1) for the README section
"Accuracy-driven tuning" (issue 6).

    python3 analysis/tuning_table.py results/tuning > results/tuning/table.md

Table 1: test accuracy of each format under each BatchNorm / activation mode (accuracy_*.json).
Table 2: evaluations each strategy needed per format (tuning_<strategy>_<format>.json).
"""
import glob
import json
import os
import sys

SUPPORTED_SCHEMA_VERSIONS = (1,)
MODES = [("fold", "static"), ("fold", "dynamic"), ("keep", "static"), ("reestimate", "static")]
STRATEGIES = [("inc-fp8", "INC fp8 op-type"), ("sensitivity-output", "exmy sensitivity (logits SQNR)"),
              ("sensitivity-tensor", "exmy sensitivity (own-tensor SQNR)")]
TUNED = ["e4m3", "e3m4", "e2m5", "int8"]


def load(path):
    with open(path) as f:
        d = json.load(f)
    if d.get("schema_version") not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValueError(f"{path}: unsupported schema_version {d.get('schema_version')!r}")
    return d


def main(folder):
    out = []
    acc = {m: load(os.path.join(folder, f"accuracy_{m[0]}_{m[1]}.json")) for m in MODES
           if os.path.exists(os.path.join(folder, f"accuracy_{m[0]}_{m[1]}.json"))}
    if acc:
        any_run = next(iter(acc.values()))
        base = any_run["baseline"]
        out.append(f"FP32 test accuracy {100 * base['accuracy']:.2f} % "
                   f"({base['images_per_second']:.0f} images/s, {any_run['threads']} threads). "
                   "Weights per channel, activations per tensor, min-max ranges, 300 calibration "
                   "images, 10 000 test images.\n")
        out.append("| format | " + " | ".join(f"BN {b}, {a}" for b, a in acc) + " | fake-quant images/s |")
        out.append("|---|" + "---|" * (len(acc) + 1))
        formats = [r["format"] for r in next(iter(acc.values()))["evaluations"]]
        for f in formats:
            cells, ips = [], ""
            for m, d in acc.items():
                r = next(r for r in d["evaluations"] if r["format"] == f)
                cells.append(f"{100 * r['accuracy']:.2f} ({-100 * (base['accuracy'] - r['accuracy']):+.2f})")
                if m == ("fold", "static"):
                    ips = f"{r['images_per_second']:.0f}"
            out.append(f"| {f} | " + " | ".join(cells) + f" | {ips} |")
        out.append("")

    rows = []
    for f in TUNED:
        runs = {}
        for key, _ in STRATEGIES:
            p = os.path.join(folder, f"tuning_{key}_{f}.json")
            if os.path.exists(p):
                runs[key] = load(p)
        if not runs:
            continue
        any_run = next(iter(runs.values()))
        first = any_run["trials"][0]
        cells = []
        for key, _ in STRATEGIES:
            if key not in runs:
                cells.append("—")
                continue
            r = runs[key]["runs"][0]
            fb = ", ".join(r["best_fp32_units"]) or "none"
            cells.append(f"**{r['evaluations']}** ({100 * r['best_accuracy']:.2f} %; fp32: {fb}; "
                         f"{r['seconds']:.0f} s)" + ("" if r["met"] else " not met"))
        rows.append(f"| {f} | {100 * any_run['settings']['tolerable_loss']:.3g} % | "
                    f"{100 * first['accuracy']:.2f} % | " + " | ".join(cells) + " |")
    if rows:
        out.append("Evaluations to reach the tolerable loss (each a full 10 000-image evaluation); in "
                   "brackets the accuracy reached, the units left in fp32 and the tuning wall time.\n")
        out.append("| format | tolerable loss | all quantized | " +
                   " | ".join(name for _, name in STRATEGIES) + " |")
        out.append("|---|---|---|" + "---|" * len(STRATEGIES))
        out.extend(rows)
        out.append("")
    ex = os.path.join(folder, "tuning_example.json")
    if os.path.exists(ex):
        d = load(ex)
        out.append(f"Example run (`{d['command']}`):\n")
        out.append("| trial | step | accuracy | relative loss | passed |")
        out.append("|---|---|---|---|---|")
        for t in d["trials"]:
            out.append(f"| {t['trial']} | {t['base']}: {t['step']} | {100 * t['accuracy']:.2f} % | "
                       f"{100 * t['relative_loss']:+.3f} % | {'yes' if t['passed'] else 'no'} |")
        out.append(f"\nWall time of the whole run: {d['total_seconds']:.0f} s.")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/tuning")
