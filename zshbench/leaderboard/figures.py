"""Leaderboard figures for print, drawn from the records alone (matplotlib `Figure` objects, no pyplot state).

Per table (dataset and protocol, `table_keys`), from the records of the **standard** evaluation variant only
(``evaluation["variant"] == "standard"``; leaky records belong to the "protocol effects" section), at
`FIGURE_BITS` (or the nearest code length present), each figure in every format of `FORMATS`:

* ``pr_<dataset>_<protocol>``: precision-recall by Hamming radius (RAZH Fig. 4 / COMAE Fig. 3); radii at which
  no query of any seed retrieves anything (precision and recall 0 by convention) are left out;
* ``pn_...`` / ``rn_...``: precision@N and recall@N, N on a log scale;
* ``map_vs_bits_...``: map@5000 against code length (RAZH Fig. 3), ticks at the code lengths run;
* ``settings_...`` (records with ``settings``): map@5000 in U→A, S→A, U→U, S→S and H, one row per table row;
* ``ap_vs_distance_...`` (records with ``per_class``): per unseen class, AP against the attribute distance to
  the nearest seen class, one panel per table row, Spearman's ρ in the legend;
* ``hamming_...`` (records with ``class_distances``): mean Hamming distance, unseen (rows) x seen (columns)
  classes, one panel per table row on one colour scale (RAZH Fig. 5).

Lines, rows and panels are the tables' rows, labelled exactly as the tables label them (`row_labels`). Values
are means over seeds with a band or error bars of ±1 sample standard deviation (the tables' `mean_std`); n,
the number of seeds, is in the legend, the panel title or beside the row. A row keeps one style in every figure:
an Okabe-Ito colour, a marker and a line style, cycled with periods 8, 9 and 4, so that colour and marker differ
up to 72 rows, and marker and dash (what greyscale leaves) up to 36. Legends sit below the axes. Line figures
are `COLUMN_INCHES` wide (one column of a two-column paper), panel figures `PAGE_INCHES`, with text of 7 to 8 pt
at that size.

The same records give byte-identical files: matplotlib's default style plus `_RC` whatever the user's
matplotlibrc, its bundled DejaVu Sans (TrueType in PDF), no dates or version strings in the metadata, a fixed
SVG hash salt (`figure_files`).

This module is longer than 450 lines because the shared style (palette, sizes, fonts, file metadata) and every
figure that must follow it are kept together; split it into a package (style, line figures, panel figures,
files) when another kind of figure arrives.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from io import BytesIO
from pathlib import Path

import numpy as np

from zshbench.evaluate import HEADLINE_METRIC
from zshbench.leaderboard.tables import mean_std, row_labels, table_keys

__all__ = [
    "FIGURE_BITS",
    "FORMATS",
    "DPI",
    "COLUMN_INCHES",
    "PAGE_INCHES",
    "PALETTE",
    "SETTINGS",
    "line_styles",
    "unique_labels",
    "standard_records",
    "curve_figure",
    "map_vs_bits_figure",
    "settings_figure",
    "per_class_figure",
    "hamming_figure",
    "iter_figures",
    "figure_files",
    "write_figures",
]

FIGURE_BITS = 64
FORMATS = ("png", "pdf", "svg")
DPI = 300  # PNG resolution
COLUMN_INCHES = 3.3  # one column of a two-column paper
PAGE_INCHES = 7.0  # both columns
# Okabe & Ito (2008), colour-blind safe; yellow last, as it is the faintest on white
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")
_DASHES = ("-", (0, (4, 1.5)), (0, (1, 1.2)), (0, (5, 1.5, 1, 1.5)))
# the retrieval settings (`zshbench.evaluate.settings`) as drawn: key in the record, label, colour, marker
SETTINGS = (
    ("U->A", "U→A (headline)", "#000000", "o"),
    ("S->A", "S→A", "#E69F00", "s"),
    ("U->U", "U→U", "#56B4E9", "^"),
    ("S->S", "S→S", "#009E73", "D"),
    ("H", "H of U→A and S→A", "#D55E00", "*"),
)
_MAX_TICK_LABELS = 20  # name the classes on a heatmap axis only up to this many
_TICK_CHARS = 28  # longest class name shown in full on a heatmap axis
_BAND = "±1 s.d. over seeds"
_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "figure.titlesize": 8,
    "figure.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.4,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.1,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "image.cmap": "viridis",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,  # TrueType: publishers refuse Type 3 fonts
    "svg.fonttype": "path",  # glyphs as paths: the same look without the font installed
    "svg.hashsalt": "zshbench",
}
_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": "zshbench", "Producer": "zshbench", "CreationDate": None},
    "svg": {"Creator": "zshbench", "Date": None},
}


def _style():
    """matplotlib's defaults plus `_RC`, whatever the user's matplotlibrc or earlier code changed."""
    import matplotlib.style

    return matplotlib.style.context(["default", _RC])


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _stats(values) -> tuple[float, float, int]:
    return (*mean_std([float(v) for v in values]), len(values))


def _n_text(ns) -> str:
    """The seed count as shown: "n=3", or "n=2-3" when the counts differ."""
    ns = sorted(set(ns))
    return f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}"


def _nearest(avail, bits: int) -> int | None:
    return min(sorted(set(avail)), key=lambda v: (abs(v - bits), v)) if avail else None


def line_styles(labels: Sequence[str]) -> dict[str, dict]:
    """Style (``color``, ``marker``, ``linestyle``) of each label, by its position i among the sorted labels:
    colour i mod 8, marker i mod 9, dash i mod 4."""
    return {
        label: {"color": PALETTE[i % 8], "marker": _MARKERS[i % 9], "linestyle": _DASHES[i % 4]}
        for i, label in enumerate(sorted(set(labels)))
    }


def unique_labels(names: Sequence[str], width: int = _TICK_CHARS) -> list[str]:
    """Tick labels of at most ``width`` characters (more only when needed to stay unique): a longer name keeps its
    start and its end around "…", the cut as central as uniqueness allows.

    Example:
        >>> unique_labels(["small_red_vstripes_circle", "small_red_vstripes_square"], width=14)
        ['small_r…circle', 'small_r…square']

    Raises:
        ValueError: when ``names`` repeat (no labelling can tell them apart).
    """
    names = [str(x) for x in names]
    if len(set(names)) != len(names):
        raise ValueError(f"class names repeat: {sorted({x for x in names if names.count(x) > 1})}")
    for w in range(max(width, 5), max(map(len, names), default=0)):
        for tail in sorted(range(1, w - 1), key=lambda t: (abs(t - (w - 1) // 2), -t)):
            out = [x if len(x) <= w else x[: w - 1 - tail] + "…" + x[len(x) - tail :] for x in names]
            if len(set(out)) == len(out):
                return out
    return names


def standard_records(records: Sequence) -> list:
    """The leaderboard's records (the main figures and tables): those of the leaky evaluation variant and of
    resampled class splits are left out (`zshbench.leaderboard.tables.split_records`)."""
    from zshbench.leaderboard.tables import split_records

    return split_records(list(records))[0]


def _legend_cols(labels, width: float) -> int:
    """Columns of a legend of 7 pt ``labels`` across ``width`` inches (at most 3)."""
    return 1 if len(labels) < 3 else max(1, min(3, int(width * 17 // (max(map(len, labels)) + 6))))


def _legend_inches(labels, width: float) -> float:
    """Height of a legend below the axes, with its title."""
    return 0.14 * (-(-len(labels) // _legend_cols(labels, width)) + 1) if labels else 0.0


def _legend_below(fig, axes, title: str | None = None):
    pairs = [hl for ax in axes for hl in zip(*ax.get_legend_handles_labels())]
    if pairs:
        handles, labels = zip(*pairs)
        ncols = _legend_cols(labels, fig.get_figwidth())
        fig.legend(handles, labels, loc="outside lower center", ncols=ncols, title=title)


def _panels(fig, n: int, cols: int, xlabel: str = "", ylabel: str = ""):
    """A grid of ``n`` panels sharing both axes; tick labels and axis labels on the outer panels only."""
    grid = fig.subplots(-(-n // cols), cols, sharex=True, sharey=True, squeeze=False)
    flat = grid.ravel()
    for i, ax in enumerate(flat):
        ax.set_visible(i < n)
        ax.tick_params(labelbottom=i + cols >= n, labelleft=i % cols == 0)
        ax.set(xlabel=xlabel if i + cols >= n else "", ylabel=ylabel if i % cols == 0 else "")
    return grid, flat[:n]


# ------------------------------------------------------------------------------------------ line figures
_CURVES = {
    "pr": ("pr_by_radius", "recall", "precision", "recall", "precision", "PR by Hamming radius"),
    "pn": ("precision_at_n", "n", "precision", "N (top retrieved)", "precision@N", "precision@N"),
    "rn": ("recall_at_n", "n", "recall", "N (top retrieved)", "recall@N", "recall@N"),
}


def _curve(recs: list, curve: str, xk: str, yk: str):
    """(x mean, y mean, y s.d., n) over the records holding ``curve`` on the first one's grid; None if none."""
    pts = [(r.curves[curve][xk], r.curves[curve][yk]) for r in recs if curve in (r.curves or {})]
    pts = [p for p in pts if len(p[0]) == len(pts[0][0])]
    if not pts:
        return None
    x, y = np.asarray([p[0] for p in pts], float), np.asarray([p[1] for p in pts], float)
    return x.mean(0), y.mean(0), (y.std(0, ddof=1) if len(y) > 1 else np.zeros(y.shape[1])), len(pts)


def _line_axes(labels, title: str):
    fig = _figure(COLUMN_INCHES, 2.0 + 0.85 + _legend_inches(labels, COLUMN_INCHES))
    ax = fig.add_subplot()
    ax.set_title(title)
    return fig, ax


def curve_figure(rows: Mapping[str, list], kind: str, bits: int, title: str, styles: Mapping | None = None):
    """One curve per row label: the mean over its records at ``bits``, with a ±1 s.d. band.

    Args:
        rows: row label (`row_labels`) -> its records; records at other code lengths are ignored.
        kind: "pr" (precision-recall by Hamming radius), "pn" (precision@N) or "rn" (recall@N).
        bits: the code length drawn.
        title: the table's name ("digits / digits-zsh").
        styles: label -> style (`line_styles`); default: from the labels of ``rows``.

    Returns:
        The figure, or None when no record has the curve.

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind not in _CURVES:
        raise ValueError(f"Unknown curve kind {kind!r}; choose one of {', '.join(_CURVES)}.")
    curve, xk, yk, xlabel, ylabel, what = _CURVES[kind]
    styles = styles or line_styles(list(rows))
    data = [
        (lab, c) for lab in sorted(rows) if (c := _curve([r for r in rows[lab] if r.n_bits == bits], curve, xk, yk))
    ]
    if not data:
        return None
    with _style():
        fig, ax = _line_axes([f"{lab} (n=1)" for lab, _ in data], f"{title}, {bits} bits\n{what}")
        for i, (label, (x, y, sd, n)) in enumerate(data):
            keep = x > 0 if kind == "pr" else slice(None)  # nothing retrieved: (0, 0) by convention
            x, y, sd = x[keep], y[keep], sd[keep]
            step = max(1, len(x) // 8)  # about 8 markers a line, staggered between lines
            ax.plot(x, y, label=f"{label} (n={n})", markevery=(i % step, step), **styles[label])
            if n > 1:
                ax.fill_between(x, y - sd, y + sd, color=styles[label]["color"], alpha=0.15, linewidth=0)
        if kind != "pr":
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter("{x:g}")  # 1, 10, 100 rather than powers of ten
        ax.set(xlabel=xlabel, ylabel=ylabel)
        _legend_below(fig, [ax], f"mean {_BAND} (band)")
    return fig


def map_vs_bits_figure(rows: Mapping[str, list], title: str, styles: Mapping | None = None):
    """map@5000 against code length, one line per row label: mean over seeds with ±1 s.d. error bars, nudged
    sideways so that they do not hide each other; None if no record has the metric."""
    styles = styles or line_styles(list(rows))
    data = []
    for label in sorted(rows):
        per_bits: dict[int, list[float]] = defaultdict(list)
        for r in rows[label]:
            if HEADLINE_METRIC in r.metrics:
                per_bits[r.n_bits].append(r.metrics[HEADLINE_METRIC])
        if per_bits:
            data.append((label, sorted(per_bits), [_stats(per_bits[b]) for b in sorted(per_bits)]))
    if not data:
        return None
    bits = sorted({b for _, xs, _ in data for b in xs})
    with _style():
        fig, ax = _line_axes([f"{lab} (n=1-3)" for lab, _, _ in data], f"{title}\n{HEADLINE_METRIC} by code length")
        for i, (label, xs, st) in enumerate(data):
            nudge = 2 ** (0.02 * (i - (len(data) - 1) / 2))
            n = _n_text(s[2] for s in st)
            ax.errorbar([x * nudge for x in xs], [s[0] for s in st], yerr=[s[1] for s in st],
                        label=f"{label} ({n})", elinewidth=0.6, **styles[label])  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xticks(bits, [str(b) for b in bits])
        ax.minorticks_off()
        ax.set(xlabel="code length (bits)", ylabel=HEADLINE_METRIC)
        _legend_below(fig, [ax], f"mean {_BAND} (error bars)")
    return fig


def _setting_values(recs: list, key: str) -> list[float]:
    blocks = [r.metrics if key == "U->A" else (r.settings or {}).get(key) or {} for r in recs]
    return [b[HEADLINE_METRIC] for b in blocks if HEADLINE_METRIC in b]


def settings_figure(rows: Mapping[str, list], bits: int, title: str):
    """The generalized setting: map@5000 of each row label at ``bits`` in U→A, S→A, U→U, S→S and H, as markers
    with ±1 s.d. error bars over seeds, one row per label (top to bottom in table order), n at the right.

    Returns:
        The figure, or None when no record at ``bits`` has ``settings``.
    """
    data = []
    for label in sorted(rows):
        recs = [r for r in rows[label] if r.n_bits == bits]
        if any(r.settings for r in recs):
            vals = {key: _setting_values(recs, key) for key, *_ in SETTINGS}
            data.append((label, vals, _n_text(len(v) for v in vals.values() if v)))
    if not data:
        return None
    shown = [s for s in SETTINGS if any(vals[s[0]] for _, vals, _ in data)]
    with _style():
        fig = _figure(COLUMN_INCHES, 0.95 + 0.22 * len(data) + _legend_inches([s[1] for s in shown], COLUMN_INCHES))
        ax = fig.add_subplot()
        for j, (key, name, colour, marker) in enumerate(shown):
            dy = 0.6 * (j - (len(shown) - 1) / 2) / len(shown)  # dodge the settings within a row
            pts = [(i + dy, *_stats(vals[key])) for i, (_, vals, _) in enumerate(data) if vals[key]]
            y, m, sd, _ = zip(*pts)
            ms = 4.5 if marker == "*" else 3
            ax.errorbar(m, y, xerr=sd, fmt=marker, color=colour, ms=ms, elinewidth=0.6, label=name)
        ax.set_yticks(range(len(data)), [label for label, _, _ in data])
        ax.set_ylim(len(data) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        for i, (_, _, n) in enumerate(data):
            ax.annotate(n, (1, i), xycoords=("axes fraction", "data"), xytext=(2, 0),
                        textcoords="offset points", va="center", size=7)  # fmt: skip
        ax.set_xlabel(f"{HEADLINE_METRIC} (mean {_BAND})")
        ax.set_title(f"{title}, {bits} bits\nretrieval settings (queries→database)")
        _legend_below(fig, [ax])
    return fig


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    from zshbench.leaderboard.effects import MIN_CLASSES_FOR_RHO

    if len(x) < MIN_CLASSES_FOR_RHO or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def _per_class(blocks: list[dict], label: str):
    """(distances, AP means, AP s.d.s, n seeds) over the classes present in every block; None if none."""
    aps: dict[str, list[float]] = defaultdict(list)
    dist: dict[str, float] = {}
    blocks = [b for b in blocks if b.get(HEADLINE_METRIC) is not None and b.get("attribute_distance") is not None]
    for b in blocks:
        names, ap, d = b.get("unseen", []), b[HEADLINE_METRIC], b["attribute_distance"]
        if not len(names) == len(ap) == len(d):
            raise ValueError(
                f"per_class of {label!r}: 'unseen', '{HEADLINE_METRIC}' and 'attribute_distance' need one value "
                f"per class (got {len(names)}, {len(ap)} and {len(d)} values)"
            )
        for c, a, x in zip(map(str, names), ap, d):
            aps[c].append(a)
            dist.setdefault(c, float(x))
    classes = sorted((c for c in aps if len(aps[c]) == len(blocks)), key=lambda c: (dist[c], c))
    if not classes:
        return None
    st = [_stats(aps[c]) for c in classes]
    return np.array([dist[c] for c in classes]), np.array([s[0] for s in st]), [s[1] for s in st], len(blocks)


def per_class_figure(rows: Mapping[str, list[dict]], title: str, styles: Mapping | None = None):
    """Per unseen class, AP (mean ±1 s.d. over seeds) against the attribute distance to the nearest seen class,
    one panel per row label (shared axes), with Spearman's ρ (class means against distance) and n in the legend.

    Args:
        rows: row label -> the ``per_class`` blocks of its records (one per seed) at one code length, each
            ``{"unseen": [class names], "map@5000": [per-class mean AP], "attribute_distance": [distances]}``.
        title: the table's name and code length ("shapes / shapes-zsh, 64 bits").
        styles: label -> style (`line_styles`); default: from the labels of ``rows``.

    Returns:
        The figure, or None when no block has values.

    Raises:
        ValueError: a block whose lists differ in length.
    """
    styles = styles or line_styles(list(rows))
    data = [(label, pc) for label in sorted(rows) if (pc := _per_class(rows[label], label))]
    if not data:
        return None
    cols = min(len(data), 4)
    width = COLUMN_INCHES if cols <= 2 else PAGE_INCHES
    legend = [f"{label}: ρ = +0.00 (n=1, 10 classes)" for label, _ in data]
    with _style():
        fig = _figure(width, 1.1 + 1.3 * -(-len(data) // cols) + _legend_inches(legend, width))
        xlabel = "attribute distance"
        _, axes = _panels(fig, len(data), cols, xlabel, f"per-class {HEADLINE_METRIC}")
        for ax, (label, (x, y, sd, n)) in zip(axes, data):
            rho = _spearman(x, y)
            rho = "n/a" if math.isnan(rho) else f"{rho:+.2f}".replace("-", "−")
            ax.errorbar(x, y, yerr=sd, fmt=styles[label]["marker"], color=styles[label]["color"], elinewidth=0.6,
                        label=f"{label}: ρ = {rho} (n={n}, {len(x)} classes)")  # fmt: skip
            ax.set_title(label)
        fig.suptitle(f"{title}\nper-class AP against the attribute distance to the nearest seen class")
        _legend_below(fig, axes, f"Spearman ρ of class means against distance; mean {_BAND}")
    return fig


# ------------------------------------------------------------------------------------------ heatmap
def _mean_matrix(recs: list):
    """(unseen, seen, seed mean of ``class_distances``, n) of the records sharing the first one's class layout."""
    cds = [r.class_distances for r in recs if isinstance(r.class_distances, dict)]
    if not cds:
        return None
    same = [c for c in cds if (c["unseen"], c["seen"]) == (cds[0]["unseen"], cds[0]["seen"])]
    return cds[0]["unseen"], cds[0]["seen"], np.mean([c["mean_hamming"] for c in same], axis=0), len(same)


def hamming_figure(rows: Mapping[str, list], bits: int, title: str):
    """The unseen x seen mean-Hamming-distance panels of every row label having them at ``bits`` (RAZH Fig. 5), on
    one colour scale; the classes are named (`unique_labels`) when an axis has at most 20.

    Returns:
        The figure, or None when no record at ``bits`` has ``class_distances``.
    """
    panels = [(lab, *mm) for lab in sorted(rows) if (mm := _mean_matrix([r for r in rows[lab] if r.n_bits == bits]))]
    if not panels:
        return None
    unseen, seen = panels[0][1], panels[0][2]
    panels = [p for p in panels if (p[1], p[2]) == (unseen, seen)]  # one protocol gives one class layout
    name_x, name_y = len(seen) <= _MAX_TICK_LABELS, len(unseen) <= _MAX_TICK_LABELS
    cols = min(4, len(panels))
    panel_h = max(0.9, 0.105 * len(unseen) + 0.3) if name_y else 1.3
    label_h = 0.06 * max(map(len, unique_labels(seen))) if name_x else 0.0
    lo = min(float(p[3].min()) for p in panels)
    hi = max(float(p[3].max()) for p in panels)
    with _style():
        fig = _figure(COLUMN_INCHES if cols == 1 else PAGE_INCHES, 0.6 + -(-len(panels) // cols) * panel_h + label_h)
        grid, axes = _panels(fig, len(panels), cols)
        for ax, (label, _, _, mat, n) in zip(axes, panels):
            im = ax.imshow(mat, aspect="auto", vmin=lo, vmax=max(hi, lo + 1e-9), interpolation="nearest")
            ax.set_title(f"{label} (n={n})")
            ax.grid(False)
            ax.tick_params(length=1.5)
            ax.tick_params(axis="x", labelrotation=90)
        axes[0].set_xticks(range(len(seen)) if name_x else [], unique_labels(seen) if name_x else [])
        axes[0].set_yticks(range(len(unseen)) if name_y else [], unique_labels(unseen) if name_y else [])
        fig.supxlabel(f"seen class ({len(seen)})")
        fig.supylabel(f"unseen class ({len(unseen)})")
        fig.colorbar(im, ax=grid, shrink=0.9, aspect=30, pad=0.01).set_label("mean Hamming distance (bits)")
        fig.suptitle(f"{title}, {bits} bits: mean Hamming distance between classes (darker = closer)")
    return fig


# ------------------------------------------------------------------------------------------ files
def _pc(r):
    return getattr(r, "per_class", None)  # a new field: older records (and code) have none


def iter_figures(records: Sequence, bits: int = FIGURE_BITS) -> Iterator[tuple[str, object]]:
    """(file stem, matplotlib `Figure`) of every leaderboard figure of ``records`` in a fixed order (see the module
    docstring), from the standard evaluation variant only; figures without data are skipped."""
    from zshbench.paths import slug

    records = standard_records(records)
    labels = row_labels(records)
    styles = line_styles(labels)  # one style per label in every figure
    tables: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for key, label, r in zip(table_keys(records), labels, records):
        tables[key][label].append(r)
    for (ds, proto), rows in sorted(tables.items()):
        name, stem = f"{ds} / {proto}", f"{slug(ds)}_{slug(proto)}"
        recs = [r for rs in rows.values() for r in rs]
        b = _nearest([r.n_bits for r in recs], bits)
        figs = [(f"{kind}_{stem}", curve_figure(rows, kind, b, name, styles)) for kind in ("pr", "pn", "rn")]
        figs.append((f"map_vs_bits_{stem}", map_vs_bits_figure(rows, name, styles)))
        if (b_s := _nearest([r.n_bits for r in recs if r.settings], bits)) is not None:
            figs.append((f"settings_{stem}", settings_figure(rows, b_s, name)))
        if (b_c := _nearest([r.n_bits for r in recs if _pc(r)], bits)) is not None:
            pcs = {lab: [_pc(r) for r in rs if r.n_bits == b_c and _pc(r)] for lab, rs in rows.items()}
            figs.append((f"ap_vs_distance_{stem}", per_class_figure(pcs, f"{name}, {b_c} bits", styles)))
        if (b_h := _nearest([r.n_bits for r in recs if r.class_distances], bits)) is not None:
            figs.append((f"hamming_{stem}", hamming_figure(rows, b_h, name)))
        yield from ((s, f) for s, f in figs if f is not None)


def _encode(fig, fmt: str) -> bytes:
    buf = BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()


def figure_files(records: Sequence, bits: int = FIGURE_BITS, formats: Sequence[str] = FORMATS) -> dict[str, bytes]:
    """Every figure's bytes by file name (``pr_digits_digits-zsh.pdf``, ...), as `write_figures` writes them. The
    same records give the same bytes, so ``zshbench leaderboard --check`` can compare files with these.

    Raises:
        ValueError: an unknown format.
    """
    bad = [f for f in formats if f not in _METADATA]
    if bad:
        raise ValueError(f"Unknown figure format(s) {bad}; choose from {', '.join(FORMATS)}.")
    return {f"{stem}.{fmt}": _encode(fig, fmt) for stem, fig in iter_figures(records, bits) for fmt in formats}


def write_figures(
    records: Sequence, out: str | Path, bits: int = FIGURE_BITS, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write `figure_files` under ``out`` (atomically, creating it) and return the written paths, in order.

    Example:
        >>> records, _ = load_records("leaderboard/results")  # doctest: +SKIP
        >>> write_figures(records, "leaderboard/figures")  # doctest: +SKIP
    """
    from zshbench.fileio import atomic_write_bytes
    from zshbench.paths import inside

    written = []
    for name, data in figure_files(records, bits, formats).items():
        p = inside(out, name)
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(p, data)
        written.append(p)
    return written
