"""Leaderboard figures (`zshbench.leaderboard.figures`) from hand-made records: what is drawn (one line per table
row with the tables' labels, the standard variant only, legends outside the axes, text of at least 7 pt, unique
class labels), the rendered files (PNG at 300 dpi and not blank, PDF and SVG) and byte-for-byte determinism."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import make_record
from matplotlib.text import Text
from PIL import Image

from zshbench.leaderboard import aggregate, write_report
from zshbench.leaderboard.figures import (
    COLUMN_INCHES,
    DPI,
    FORMATS,
    curve_figure,
    figure_files,
    hamming_figure,
    iter_figures,
    line_styles,
    per_class_figure,
    standard_records,
    unique_labels,
    write_figures,
)
from zshbench.records import Record

UNSEEN = ["small_red_vstripes_circle", "small_red_vstripes_square", "large_cyan_solid_diamond"]
SEEN = ["one", "two", "three", "four"]


def _curves(rng, bits: int) -> dict:
    recall = np.concatenate([[0.0, 0.0], np.sort(rng.uniform(0, 1, bits - 2)), [1.0]])
    precision = np.where(recall > 0, 0.9 - 0.6 * recall + rng.uniform(0, 0.05, bits + 1), 0.0)
    n = [1, 2, 5, 10, 20, 50, 100]
    pn = np.sort(rng.uniform(0.2, 0.9, len(n)))[::-1]
    return {
        "pr_by_radius": {"radius": list(range(bits + 1)), "precision": precision.tolist(), "recall": recall.tolist()},
        "precision_at_n": {"n": n, "precision": pn.tolist()},
        "recall_at_n": {"n": n, "recall": np.sort(rng.uniform(0, 1, len(n))).tolist()},
    }


def _record(method, seed, bits, *, params=None, settings=True, variant="standard", unseen=tuple(UNSEEN)) -> Record:
    rng = np.random.default_rng([seed, bits, len(method), len(params or {})])
    ua = float(rng.uniform(0.2, 0.6))
    rec = make_record(
        method,
        n_bits=bits,
        seed=seed,
        params=params,
        metrics={"map@5000": ua, "map@all": ua / 2},
        curves=_curves(rng, bits),
        class_distances={
            "unseen": list(unseen),
            "seen": SEEN,
            "mean_hamming": rng.uniform(0, bits, (len(unseen), len(SEEN))).tolist(),
            "n_bits": bits,
            "n_query": 6,
            "n_seen_sample": 8,
        },
        settings={
            "S->A": {"map@5000": ua + 0.2},
            "U->U": {"map@5000": ua + 0.1},
            "S->S": {"map@5000": ua + 0.3},
            "H": {"map@5000": 2 * ua * (ua + 0.2) / (2 * ua + 0.2)},
        }
        if settings
        else None,
    )
    if variant == "standard":
        return rec
    ident = dict(rec.identity, evaluation=dict(rec.identity["evaluation"], variant=variant))
    return Record.create(
        identity=ident,
        **{f: getattr(rec, f) for f in ("params", "config_hash", "split_fingerprint", "metrics", "curves")},
        **{f: getattr(rec, f) for f in ("metric_conventions", "timings", "complexity", "environment", "features")},
        zshbench_version=rec.zshbench_version,
    )


@pytest.fixture(scope="module")
def records():
    """lsh in two configs (two table rows), itq, each with 2 seeds at 32 and 64 bits; a leaky sh run."""
    out = [
        _record(m, seed, bits, params=p)
        for m, p in (("lsh", None), ("lsh", {"center": False}), ("itq", None))
        for seed in (0, 1)
        for bits in (32, 64)
    ]
    return out + [_record("sh", 0, 64, variant="leaky")]


@pytest.fixture(scope="module")
def figures(records):
    return dict(iter_figures(records))


def _table_labels(records) -> list[str]:
    (table,) = aggregate(standard_records(records))
    return [label for label, _ in table.rows]


def test_leaky_records_stay_out(records):
    assert [r.method for r in records if r not in standard_records(records)] == ["sh"]


def test_figure_names(figures):
    stem = "toy_toy-zsh"
    assert list(figures) == [f"{k}_{stem}" for k in ("pr", "pn", "rn", "map_vs_bits", "settings", "hamming")]


def test_one_line_per_table_row_labelled_as_the_tables(records, figures):
    labels = _table_labels(records)
    assert len(labels) == 3 and sum(x.startswith("lsh [") for x in labels) == 2  # the two configs stay apart
    for name in ("pr", "pn", "rn", "map_vs_bits"):
        (ax,) = [a for a in figures[f"{name}_toy_toy-zsh"].axes if a.get_visible()]
        # one drawn series per row: a line (curves) or an error-bar container (map against bits)
        series = [a for a in [*ax.get_lines(), *ax.containers] if not a.get_label().startswith("_")]
        assert [a.get_label() for a in series] == [f"{x} (n=2)" for x in labels], name
        (legend,) = figures[f"{name}_toy_toy-zsh"].legends
        assert [t.get_text() for t in legend.get_texts()] == [f"{x} (n=2)" for x in labels]
        assert "s.d. over seeds" in legend.get_title().get_text()
        # seed spread drawn: a band (curves) or error bars (map against bits)
        assert ax.collections, name
    # lines are told apart by colour, marker and dash
    (ax,) = figures["pr_toy_toy-zsh"].axes
    assert len({(ln.get_color(), ln.get_marker(), str(ln.get_linestyle())) for ln in ax.get_lines()}) == 3


def test_pr_curve_leaves_out_radii_that_retrieve_nothing(figures):
    (ax,) = figures["pr_toy_toy-zsh"].axes
    for ln in ax.get_lines():
        assert np.all(ln.get_xdata() > 0)
    with pytest.raises(ValueError, match="Unknown curve kind 'roc'"):
        curve_figure({}, "roc", 64, "toy")


def test_legends_lie_outside_every_axes(figures, records):
    pcs = {"lsh": [_per_class(0)], "itq": [_per_class(1)]}
    figs = [*figures.values(), per_class_figure(pcs, "toy")]
    for fig in figs:
        fig.draw_without_rendering()  # lays out the figure
        for legend in fig.legends:
            box = legend.get_window_extent()
            for ax in fig.axes:
                if ax.get_visible():
                    assert not box.overlaps(ax.get_window_extent()), fig
        assert not any(ax.get_legend() for ax in fig.axes)  # no legend inside an axes


def test_text_is_at_least_7_points(figures):
    for name, fig in figures.items():
        fig.draw_without_rendering()
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert texts and min(t.get_fontsize() for t in texts) >= 7, name


def test_line_figures_fit_one_paper_column(figures):
    for name in ("pr", "pn", "rn", "map_vs_bits", "settings"):
        assert figures[f"{name}_toy_toy-zsh"].get_figwidth() == COLUMN_INCHES


def test_hamming_tick_labels_unique_and_readable(records, figures):
    fig = figures["hamming_toy_toy-zsh"]
    fig.draw_without_rendering()
    first = fig.axes[0]
    ys = [t.get_text() for t in first.get_yticklabels()]
    assert ys == UNSEEN  # short enough to stay whole
    assert [t.get_text() for t in first.get_xticklabels()] == SEEN
    assert [a.get_title() for a in fig.axes if a.get_visible() and a.get_title()] == [
        f"{x} (n=2)" for x in _table_labels(records)
    ]
    assert all(t.get_fontsize() >= 7 for t in first.get_yticklabels())
    # names too long to show whole, alike at both ends, get distinct labels
    long = ["a_very_long_attribute_prefix_" + s for s in UNSEEN]
    fig = hamming_figure({"lsh": [_record("lsh", 0, 32, unseen=long)]}, 32, "toy")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(set(labels)) == len(labels) == 3 and all(len(x) <= 28 and "…" in x for x in labels)


def test_unique_labels():
    assert unique_labels(["short", "names"]) == ["short", "names"]
    out = unique_labels(["small_red_vstripes_circle", "small_red_vstripes_square"], width=14)
    assert len(set(out)) == 2 and all(len(x) <= 14 for x in out)
    assert out == ["small_r…circle", "small_r…square"]
    # a shared head and tail: the cut moves until the labels differ
    out = unique_labels(["abcdefXghijkl", "abcdefYghijkl"], width=8)
    assert len(set(out)) == 2
    with pytest.raises(ValueError, match="repeat"):
        unique_labels(["a", "a"])


def test_line_styles_stay_distinct_past_eight_rows():
    labels = [f"m{i:02d}" for i in range(72)]
    st = [line_styles(labels)[x] for x in labels]
    assert len({s["color"] for s in st[:8]}) == 8 and len({str(s["linestyle"]) for s in st[:4]}) == 4
    assert len({(s["color"], s["marker"]) for s in st}) == 72
    assert len({(s["marker"], str(s["linestyle"])) for s in st[:36]}) == 36  # what greyscale leaves


def test_settings_figure(records, figures):
    fig = figures["settings_toy_toy-zsh"]
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == _table_labels(records)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "U→A (headline)",
        "S→A",
        "U→U",
        "S→S",
        "H of U→A and S→A",
    ]
    no_settings = [_record("lsh", s, 64, settings=False) for s in (0, 1)]
    assert "settings_toy_toy-zsh" not in dict(iter_figures(no_settings))


def _per_class(seed: int) -> dict:
    dist = [0.1, 0.4, 0.7, 1.0]
    return {
        "unseen": ["c0", "c1", "c2", "c3"],
        "map@5000": [0.9 - 0.5 * d + 0.01 * seed for d in dist],
        "attribute_distance": dist,
    }


def test_per_class_figure_spearman_in_the_legend():
    rising = dict(_per_class(0), **{"map@5000": [0.1, 0.3, 0.2, 0.6]})  # rank correlation 0.8
    fig = per_class_figure({"lsh": [_per_class(0), _per_class(1)], "itq": [rising]}, "toy / toy-zsh, 64 bits")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["itq: ρ = +0.80 (n=1, 4 classes)", "lsh: ρ = −1.00 (n=2, 4 classes)"]
    assert [a.get_title() for a in fig.axes if a.get_visible()] == ["itq", "lsh"]
    with pytest.raises(ValueError, match="one value per class"):
        per_class_figure({"lsh": [dict(_per_class(0), attribute_distance=[0.1])]}, "toy")
    assert per_class_figure({"lsh": []}, "toy") is None


def test_files_are_byte_identical_across_processes_and_carry_no_dates(tmp_path):
    """Another process (another hash seed, the user's rcParams changed here) writes the same bytes."""
    import matplotlib

    recs = [_record("itq", seed, 64) for seed in (0, 1)]
    with matplotlib.rc_context({"font.size": 20, "lines.linewidth": 5, "axes.grid": False}):
        here = figure_files(recs)
    code = (
        "import sys; sys.path.insert(0, '.'); from test_figures import _record; "
        "from zshbench.leaderboard.figures import write_figures; "
        "write_figures([_record('itq', s, 64) for s in (0, 1)], sys.argv[1])"
    )
    env = dict(os.environ, PYTHONHASHSEED="4321", OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env, cwd=Path(__file__).parent)
    assert here == {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}
    assert sorted({name.rsplit(".", 1)[1] for name in here}) == sorted(FORMATS) and len(here) == 6 * 3
    pdf, svg = here["hamming_toy_toy-zsh.pdf"], here["hamming_toy_toy-zsh.svg"].decode()
    assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf and b"Matplotlib" not in pdf
    assert b"/Producer (zshbench)" in pdf
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in here["hamming_toy_toy-zsh.png"]


def test_png_is_print_resolution_and_not_blank(records):
    fig = curve_figure({"itq": [r for r in records if r.method == "itq"]}, "pr", 64, "toy / toy-zsh")
    png = figure_files([r for r in records if r.method == "itq"], formats=("png",))["pr_toy_toy-zsh.png"]
    img = Image.open(io.BytesIO(png))
    w, h = fig.get_size_inches()
    assert img.size == (round(w * DPI), round(h * DPI)) and img.size[0] == round(COLUMN_INCHES * DPI)
    assert round(img.info["dpi"][0]) == DPI
    px = np.asarray(img.convert("L"), float)
    assert px.std() > 20  # drawn, not blank
    assert (px < 100).mean() > 0.01  # dark ink: lines, text


def test_write_figures_returns_the_written_paths(records, tmp_path):
    recs = [r for r in records if r.method == "itq" and r.n_bits == 64]
    paths = write_figures(recs, tmp_path / "figs", formats=("svg",))
    assert [p.name for p in paths] == [
        f"{k}_toy_toy-zsh.svg" for k in ("pr", "pn", "rn", "map_vs_bits", "settings", "hamming")
    ]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)
    with pytest.raises(ValueError, match="Unknown figure format"):
        write_figures(recs, tmp_path / "figs", formats=("jpg",))


def test_report_writes_every_figure_in_every_format(records, tmp_path):
    recs = [r for r in records if r.method == "lsh" and r.seed == 0 and r.n_bits == 32]
    write_report(recs, tmp_path)
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    kinds = ("hamming", "map_vs_bits", "pn", "pr", "rn", "settings")
    assert names == sorted(f"{k}_toy_toy-zsh.{f}" for k in kinds for f in FORMATS)
