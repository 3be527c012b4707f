"""Each figure script writes its PNG and PDF, and the plotted data are the fixture's numbers.

The numbers are read back from the matplotlib artists (bar heights, line xdata/ydata), never from
pixels, and compared with the fixture files read independently with the json module.
"""
import json
import os

import numpy as np
import pytest

import fig_mse_vs_maxval
import fig_sqnr_formats
import fig_sqnr_vs_nu
import results_io as rio
from conftest import FIXTURES


def fixture(name):
    return os.path.join(FIXTURES, name)


def records(name):
    return json.load(open(fixture(name)))["records"]


def assert_files(out_dir, stem):
    png = os.path.join(out_dir, stem + ".png")
    pdf = os.path.join(out_dir, stem + ".pdf")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-"


def axes_by_gid(fig):
    return {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}


def test_sqnr_formats(tmp_path):
    fig = fig_sqnr_formats.main([fixture("analytic_reference.json"),
                                 fixture("analytic_optimal.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "sqnr_formats")
    recs = records("analytic_reference.json") + records("analytic_optimal.json")
    dists = list(dict.fromkeys(r["distribution"] for r in recs))
    formats = sorted({r["format"] for r in recs}, key=rio.format_sort_key)
    axes = axes_by_gid(fig)
    assert len(axes) == 2 * len(dists)
    checked = 0
    for col in ("sqnr_db", "paper_db"):
        for d in dists:
            ax = axes[f"{col}|{d}"]
            assert ax.xaxis.get_major_formatter().format_ticks(ax.get_xticks()) == formats
            by_method = {c.get_label(): [b.get_height() for b in c] for c in ax.containers}
            assert set(by_method) == {"reference", "optimal"}
            for m, heights in by_method.items():
                want = {r["format"]: r[col] for r in recs
                        if r["distribution"] == d and r["range_method"] == m}
                assert heights == [want[f] for f in formats]
                checked += len(heights)
    assert checked == 2 * len(recs)


def test_mse_vs_maxval(tmp_path):
    fig = fig_mse_vs_maxval.main([fixture("mse_sweep.json"), "--chosen",
                                  fixture("analytic_reference.json"),
                                  fixture("analytic_optimal.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "mse_vs_maxval")
    sweep = records("mse_sweep.json")
    chosen = records("analytic_reference.json") + records("analytic_optimal.json")
    axes = axes_by_gid(fig)
    assert set(axes) == {r["distribution"] for r in sweep}
    for d, ax in axes.items():
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        lines = {ln.get_gid(): ln for ln in ax.get_lines()}
        formats = {r["format"] for r in sweep if r["distribution"] == d}
        for f in formats:
            pts = sorted((r["maxval"], r["mse"]) for r in sweep
                         if r["distribution"] == d and r["format"] == f)
            ln = lines[f"sweep|{f}"]
            assert list(ln.get_xdata()) == [p[0] for p in pts]
            assert list(ln.get_ydata()) == [p[1] for p in pts]
            for m in ("reference", "optimal"):
                want = [(r["maxval"], r["mse"]) for r in chosen if r["distribution"] == d
                        and r["format"] == f and r["range_method"] == m]
                mk = lines[f"{m}|{f}"]
                assert list(zip(mk.get_xdata(), mk.get_ydata())) == want


def test_sweep_shows_periodic_plateaus():
    # The fixture samples the uniform law at 4 maxvals per octave, past the data (|x| <= 1). There
    # E4M3's grid at 2m is its grid at m shifted by one binade: the MSE repeats (reference-spec
    # Q4) except for the subnormal range, which coarsens — measured 9e-11 … 4e-8 relative here.
    sweep = [r for r in records("mse_sweep.json")
             if r["format"] == "e4m3" and r["distribution"].startswith("uniform")]
    by_m = {r["maxval"]: r["mse"] for r in sweep}
    pairs = [(a, b) for a in by_m for b in by_m if a >= 4 and b == pytest.approx(2 * a, rel=1e-12)]
    assert len(pairs) >= 4, "fixture must hold octave pairs beyond the data"
    for a, b in pairs:
        assert by_m[b] == pytest.approx(by_m[a], rel=1e-7)
    # ... while int8 pays for every octave of range: its step doubles, MSE ≈ step²/12 grows ×4
    # (measured 3.56 … 4.21: where ±1 falls between levels changes with the maxval).
    i8 = {r["maxval"]: r["mse"] for r in records("mse_sweep.json")
          if r["format"] == "int8" and r["distribution"].startswith("uniform")}
    for a, b in pairs:
        assert 3.4 < i8[b] / i8[a] < 4.4


def test_sqnr_vs_nu(tmp_path):
    fig = fig_sqnr_vs_nu.main([fixture("sqnr_vs_nu.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "sqnr_vs_nu")
    recs = records("sqnr_vs_nu.json")
    nu_of = {r["distribution"]: rio.spec_param(r["distribution"], "nu") for r in recs}
    axes = axes_by_gid(fig)
    lines = {ln.get_gid(): ln for ln in axes["sqnr"].get_lines()}
    formats = sorted({r["format"] for r in recs}, key=rio.format_sort_key)
    assert set(formats) <= set(lines)
    for f in formats:
        pts = sorted((nu_of[r["distribution"]], r["sqnr_db"]) for r in recs if r["format"] == f)
        assert list(lines[f].get_xdata()) == [p[0] for p in pts]
        assert list(lines[f].get_ydata()) == [p[1] for p in pts]
    # Bottom panel: the best format per ν, computed here independently.
    best = {}
    for r in recs:
        nu = nu_of[r["distribution"]]
        if nu not in best or r["sqnr_db"] > best[nu][1]:
            best[nu] = (r["format"], r["sqnr_db"])
    (bl,) = [ln for ln in axes["best"].get_lines() if ln.get_gid() == "best"]
    labels = [t.get_text() for t in axes["best"].get_yticklabels()]
    got = [(float(x), labels[int(y)]) for x, y in zip(bl.get_xdata(), bl.get_ydata())]
    assert got == [(nu, best[nu][0]) for nu in sorted(best)]
    # The fixture is chosen so that the winner changes ("outliers → exponent bits").
    assert len({f for _, f in got}) >= 2
    assert rio.exp_bits_of(got[0][1]) > rio.exp_bits_of(got[-1][1])


def test_figure_refuses_unknown_schema(tmp_path):
    raw = json.load(open(fixture("analytic_optimal.json")))
    raw["schema_version"] = 2
    p = tmp_path / "v2.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(rio.UnsupportedSchema):
        fig_sqnr_formats.main([str(p), "-o", str(tmp_path)])
    assert not os.path.exists(tmp_path / "sqnr_formats.png")


def test_mc_vs_analytic(tmp_path):
    import fig_mc_vs_analytic

    fig = fig_mc_vs_analytic.main([fixture("mc_vs_analytic.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "mc_vs_analytic")
    recs = records("mc_vs_analytic.json")
    axes = axes_by_gid(fig)
    assert set(axes) == {r["distribution"] for r in recs}
    for d, ax in axes.items():
        rows = sorted((r for r in recs if r["distribution"] == d),
                      key=lambda r: rio.format_sort_key(r["format"]))
        assert ax.xaxis.get_major_formatter().format_ticks(ax.get_xticks()) == \
            [r["format"] for r in rows]
        (eb,) = [c for c in ax.containers if c.get_label() == "monte-carlo"]
        segs = eb.lines[2][0].get_segments()
        assert len(segs) == len(rows)
        for k, (r, seg) in enumerate(zip(rows, segs)):
            want_y = 100 * (r["mc_mse"] / r["mse"] - 1)
            (x0, y0), (x1, y1) = seg
            assert x0 == x1 == k
            assert y0 == pytest.approx(100 * (r["mc_ci95_lo"] / r["mse"] - 1), rel=1e-12, abs=1e-12)
            assert y1 == pytest.approx(100 * (r["mc_ci95_hi"] / r["mse"] - 1), rel=1e-12, abs=1e-12)
            assert y0 <= want_y <= y1
        pts = ax.collections[-1].get_offsets()
        assert [tuple(p) for p in pts] == [(k, 100 * (r["mc_mse"] / r["mse"] - 1))
                                           for k, r in enumerate(rows)]


def test_mc_figure_needs_mc_columns(tmp_path):
    import fig_mc_vs_analytic

    with pytest.raises(ValueError, match="--method both"):
        fig_mc_vs_analytic.main([fixture("analytic_optimal.json"), "-o", str(tmp_path)])


def test_ptq_heatmap_and_scatter(tmp_path):
    import fig_ptq

    fig = fig_ptq.main([fixture("ptq_fashion_cnn.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "ptq_fashion_cnn")
    tensors = json.load(open(fixture("ptq_fashion_cnn.json")))["tensors"]
    axes = axes_by_gid(fig)
    # Heat map: rows sorted by excess kurtosis, columns in the shared format order.
    rows = sorted((t for t in tensors if any(isinstance(f["sqnr_db"], float) for f in t["formats"])),
                  key=lambda t: (t["excess_kurtosis"], t["name"]))
    assert len(rows) == len(tensors)  # the fixture has no exactly represented tensor
    formats = sorted({f["format"] for t in tensors for f in t["formats"]}, key=rio.format_sort_key)
    hx = axes["heatmap"]
    assert [t.get_text() for t in hx.get_yticklabels()] == [t["name"] for t in rows]
    assert hx.xaxis.get_major_formatter().format_ticks(hx.get_xticks()) == formats
    want = np.array([[{f["format"]: f["sqnr_db"] for f in t["formats"]}[c] for c in formats]
                     for t in rows])
    assert np.array_equal(np.asarray(hx.get_images()[0].get_array()), want)
    (best,) = [ln for ln in hx.get_lines() if ln.get_gid() == "best"]
    assert [formats[int(x)] for x in best.get_xdata()] == [t["best"] for t in rows]
    # Scatter: (predicted, measured) per (tensor, format), grouped by format.
    sx = axes["scatter"]
    by_fmt = {pc.get_gid(): pc for pc in sx.collections if pc.get_gid()}
    for f in formats:
        want_pts = [(c["predicted_db"], c["sqnr_db"]) for t in tensors for c in t["formats"]
                    if c["format"] == f and c["predicted_db"] is not None]
        got = [tuple(p) for p in by_fmt[f].get_offsets()]
        assert sorted(got) == sorted(want_pts)


def test_tuning_accuracy_vs_trials(tmp_path):
    import fig_tuning

    folder = fixture("tuning")
    fig = fig_tuning.main([folder, "-o", str(tmp_path)])
    assert_files(tmp_path, "tuning")
    axes = axes_by_gid(fig)
    assert set(axes) == {"e4m3", "int8"}
    checked = 0
    for name in os.listdir(folder):
        d = json.load(open(os.path.join(folder, name)))
        strategy, fmt = name[len("tuning_"):-len(".json")].rsplit("_", 1)
        ax = axes[fmt]
        lines = {ln.get_gid(): ln for ln in ax.get_lines()}
        line = lines[strategy]
        assert list(line.get_xdata()) == [t["trial"] for t in d["trials"]]
        assert np.allclose(line.get_ydata(), [100 * t["accuracy"] for t in d["trials"]], rtol=0, atol=1e-12)
        met = [t for t in d["trials"] if t["passed"]]
        if met:
            assert list(lines[strategy + "|met"].get_xdata()) == [t["trial"] for t in met]
        base = 100 * d["baseline"]["accuracy"]
        assert lines["fp32"].get_ydata()[0] == pytest.approx(base)
        assert lines["target"].get_ydata()[0] == pytest.approx(base * (1 - d["settings"]["tolerable_loss"]))
        checked += 1
    assert checked == 4


def test_tuning_figure_needs_runs(tmp_path):
    import fig_tuning

    with pytest.raises(ValueError):
        fig_tuning.main([str(tmp_path), "-o", str(tmp_path)])


def test_mx_bars_and_monte_carlo(tmp_path):
    import fig_mx

    fig = fig_mx.main([fixture("mx_floor.json"), fixture("mx_ceil.json"), "-o", str(tmp_path)])
    assert_files(tmp_path, "mx_sqnr")
    recs = records("mx_floor.json") + records("mx_ceil.json")
    axes = axes_by_gid(fig)
    assert set(axes) == {r["distribution"] for r in recs}
    checked = 0
    for d, ax in axes.items():
        rows = [r for r in recs if r["distribution"] == d]
        elements = list(dict.fromkeys(r["element_format"] for r in rows))
        assert ax.xaxis.get_major_formatter().format_ticks(ax.get_xticks()) == elements
        bars = {c.get_label(): [b.get_height() for b in c] for c in ax.containers
                if not c.get_label().startswith("monte-carlo")}
        assert set(bars) == {"floor", "ceil"}
        for rule, heights in bars.items():
            want = {r["element_format"]: r["sqnr_db"] for r in rows if r["block_rule"] == rule}
            assert heights == [want[e] for e in elements]
            checked += len(heights)
        for rule in ("floor", "ceil"):
            (eb,) = [c for c in ax.containers if c.get_label() == f"monte-carlo {rule}"]
            ys = list(eb.lines[0].get_ydata())
            want = {r["element_format"]: 10 * np.log10(r["second_moment"] / r["mc_mse"])
                    for r in rows if r["block_rule"] == rule}
            assert ys == pytest.approx([want[e] for e in elements], rel=1e-12)
            # the analytic bar lies inside (or within a few CI widths of) the Monte-Carlo interval
            for seg, e in zip(eb.lines[2][0].get_segments(), elements):
                (_, lo), (_, hi) = seg
                a = {r["element_format"]: r["sqnr_db"] for r in rows if r["block_rule"] == rule}[e]
                assert lo - 2 * (hi - lo) <= a <= hi + 2 * (hi - lo)
    assert checked == len(recs)


def test_mx_figure_needs_block_columns(tmp_path):
    import fig_mx

    with pytest.raises(ValueError, match="--block"):
        fig_mx.main([fixture("analytic_optimal.json"), "-o", str(tmp_path)])
