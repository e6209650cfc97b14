"""Leaderboard figures (matplotlib, Agg backend, PNG), from the curves and metrics stored in records.

* ``pr_<dataset>_<protocol>.png``: precision-recall curve by Hamming radius at the figure code length (RAZH
  Fig. 4 / COMAE Fig. 3), one line per method, averaged over seeds;
* ``pn_...png`` / ``rn_...png``: precision@N and recall@N;
* ``map_vs_bits_...png``: map@5000 against code length (RAZH Fig. 3);
* ``hamming_...png``: the mean Hamming distance between the codes of each unseen query class (rows) and each
  seen class (columns) at the figure code length (RAZH Fig. 5), one panel per method, averaged over seeds, from
  the records' ``class_distances`` (schema 2; see `zshbench.evaluate.class_distances`). Records without it (schema
  1) are left out; a dataset with none gets no such figure.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from zshbench.evaluate import HEADLINE_METRIC

__all__ = ["write_figures", "hamming_figure", "FIGURE_BITS", "HAMMING_PANEL_INCHES", "HAMMING_COLS"]

FIGURE_BITS = 64


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "zshbench", "figure.dpi": 100})
    return plt


def _mean_curve(recs: list, curve: str, x: str, y: str):
    xs = [np.asarray(r.curves[curve][x], float) for r in recs if curve in r.curves]
    ys = [np.asarray(r.curves[curve][y], float) for r in recs if curve in r.curves]
    if not xs or any(len(a) != len(xs[0]) for a in xs):
        return None
    return np.mean(xs, axis=0), np.mean(ys, axis=0)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


HAMMING_PANEL_INCHES = (4.0, 3.2)  # width, height of one method's panel (at figure.dpi = 100)
HAMMING_COLS = 3  # panels per row
_MAX_TICK_LABELS = 20  # name the classes on the axes only up to this many


def _mean_matrix(recs: list):
    """Seed-averaged ``class_distances`` of records sharing one class layout (None when none has it)."""
    cds = [r.class_distances for r in recs if isinstance(r.class_distances, dict)]
    if not cds:
        return None
    first = cds[0]
    same = [c for c in cds if c["unseen"] == first["unseen"] and c["seen"] == first["seen"]]
    return (
        first["unseen"],
        first["seen"],
        np.mean([np.asarray(c["mean_hamming"], float) for c in same], axis=0),
        len(same),
    )


def hamming_figure(by_method: dict[str, list], b: int, title: str, path: Path) -> Path | None:
    """Draw the unseen x seen mean-Hamming-distance panels of every method having them at ``b`` bits."""
    plt = _plt()
    panels = []
    for m in sorted(by_method):
        mm = _mean_matrix([r for r in by_method[m] if r.n_bits == b])
        if mm is not None:
            panels.append((m, *mm))
    if not panels:
        return None
    cols = min(HAMMING_COLS, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(HAMMING_PANEL_INCHES[0] * cols, HAMMING_PANEL_INCHES[1] * rows), squeeze=False
    )
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    lo = min(float(p[3].min()) for p in panels)
    hi = max(float(p[3].max()) for p in panels)
    for ax, (m, unseen, seen, mat, n) in zip(axes.ravel(), panels):
        # one colour scale for all panels (darker = closer), so methods compare at a glance
        im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=lo, vmax=max(hi, lo + 1e-9), interpolation="nearest")
        ax.set_title(f"{m} (n={n})", fontsize=8)
        ax.set_xlabel("seen class", fontsize=7)
        ax.set_ylabel("unseen class", fontsize=7)
        for names, set_ticks, set_labels in (
            (seen, ax.set_xticks, ax.set_xticklabels),
            (unseen, ax.set_yticks, ax.set_yticklabels),
        ):
            if len(names) <= _MAX_TICK_LABELS:
                set_ticks(range(len(names)))
                set_labels([str(x)[:14] for x in names], fontsize=5, **({"rotation": 90} if names is seen else {}))
            else:
                set_ticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle(f"{title}, {b} bits\nmean Hamming distance, unseen (rows) x seen (columns)", fontsize=8)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def write_figures(records: list, out: str | Path, bits: int = FIGURE_BITS) -> list[Path]:
    from zshbench.leaderboard.tables import row_labels, table_keys
    from zshbench.paths import inside, slug

    plt = _plt()
    out = Path(out)
    labels = dict(zip(map(id, records), row_labels(records)))

    groups: dict[tuple[str, str], list] = defaultdict(list)
    for key, r in zip(table_keys(records), records):
        groups[key].append(r)
    written = []
    for (ds, proto), recs in sorted(groups.items()):
        avail = sorted({r.n_bits for r in recs})
        b = min(avail, key=lambda v: (abs(v - bits), v))
        by_method: dict[str, list] = defaultdict(list)  # one line per row of the tables (method and config)
        for r in recs:
            by_method[labels[id(r)]].append(r)
        specs = [
            ("pr", "pr_by_radius", "recall", "precision", "recall", "precision", f"PR by Hamming radius, {b} bits"),
            ("pn", "precision_at_n", "n", "precision", "N (top retrieved)", "precision@N", f"precision@N, {b} bits"),
            ("rn", "recall_at_n", "n", "recall", "N (top retrieved)", "recall@N", f"recall@N, {b} bits"),
        ]
        for prefix, curve, xk, yk, xl, yl, title in specs:
            fig, ax = plt.subplots(figsize=(5, 4))
            drawn = False
            for m in sorted(by_method):
                c = _mean_curve([r for r in by_method[m] if r.n_bits == b], curve, xk, yk)
                if c is not None:
                    ax.plot(c[0], c[1], marker=".", label=m)
                    drawn = True
            if prefix != "pr":
                ax.set_xscale("log")
            ax.set(xlabel=xl, ylabel=yl)
            ax.set_title(f"{ds} / {proto}: {title}", fontsize=9)
            if drawn:
                ax.legend(fontsize=8)
            written.append(_save(fig, inside(out, f"{prefix}_{slug(ds)}_{slug(proto)}.png")))
            plt.close(fig)
        fig, ax = plt.subplots(figsize=(5, 4))
        for m in sorted(by_method):
            per_bits: dict[int, list[float]] = defaultdict(list)
            for r in by_method[m]:
                if HEADLINE_METRIC in r.metrics:
                    per_bits[r.n_bits].append(r.metrics[HEADLINE_METRIC])
            if per_bits:
                xs = sorted(per_bits)
                ax.plot(xs, [np.mean(per_bits[x]) for x in xs], marker="o", label=m)
        ax.set(xlabel="code length (bits)", ylabel=HEADLINE_METRIC)
        ax.set_title(f"{ds} / {proto}: mAP vs code length", fontsize=9)
        ax.legend(fontsize=8)
        written.append(_save(fig, inside(out, f"map_vs_bits_{slug(ds)}_{slug(proto)}.png")))
        plt.close(fig)
        hm = hamming_figure(by_method, b, f"{ds} / {proto}", inside(out, f"hamming_{slug(ds)}_{slug(proto)}.png"))
        if hm is not None:
            written.append(hm)
    return written
