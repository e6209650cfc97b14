"""Leaderboard figures (matplotlib, Agg backend, PNG), from the curves and metrics stored in records.

* ``pr_<dataset>_<protocol>.png``: precision-recall curve by Hamming radius at the figure code length (RAZH
  Fig. 4 / COMAE Fig. 3), one line per method, averaged over seeds;
* ``pn_...png`` / ``rn_...png``: precision@N and recall@N;
* ``map_vs_bits_...png``: map@5000 against code length (RAZH Fig. 3).

The Hamming-distance matrix between unseen and seen classes (RAZH Fig. 5) needs codes, which records do not
store; it is not drawn here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["write_figures", "FIGURE_BITS"]

FIGURE_BITS = 64


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "zshbench", "figure.dpi": 100})
    return plt


def _mean_curve(recs: list[dict], curve: str, x: str, y: str):
    xs = [np.asarray(r["curves"][curve][x], float) for r in recs if curve in r.get("curves", {})]
    ys = [np.asarray(r["curves"][curve][y], float) for r in recs if curve in r.get("curves", {})]
    if not xs or any(len(a) != len(xs[0]) for a in xs):
        return None
    return np.mean(xs, axis=0), np.mean(ys, axis=0)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def write_figures(records: list[dict], out: str | Path, bits: int = FIGURE_BITS) -> list[Path]:
    plt = _plt()
    out = Path(out)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        if r.get("source", "measured") == "measured":
            groups[(r["dataset"], r["protocol"]["name"])].append(r)
    written = []
    for (ds, proto), recs in sorted(groups.items()):
        avail = sorted({r["n_bits"] for r in recs})
        b = min(avail, key=lambda v: (abs(v - bits), v))
        by_method: dict[str, list[dict]] = defaultdict(list)
        for r in recs:
            by_method[r["method"]].append(r)
        specs = [
            ("pr", "pr_by_radius", "recall", "precision", "recall", "precision", f"PR by Hamming radius, {b} bits"),
            ("pn", "precision_at_n", "n", "precision", "N (top retrieved)", "precision@N", f"precision@N, {b} bits"),
            ("rn", "recall_at_n", "n", "recall", "N (top retrieved)", "recall@N", f"recall@N, {b} bits"),
        ]
        for prefix, curve, xk, yk, xl, yl, title in specs:
            fig, ax = plt.subplots(figsize=(5, 4))
            drawn = False
            for m in sorted(by_method):
                c = _mean_curve([r for r in by_method[m] if r["n_bits"] == b], curve, xk, yk)
                if c is not None:
                    ax.plot(c[0], c[1], marker=".", label=m)
                    drawn = True
            if prefix != "pr":
                ax.set_xscale("log")
            ax.set(xlabel=xl, ylabel=yl)
            ax.set_title(f"{ds} / {proto}: {title}", fontsize=9)
            if drawn:
                ax.legend(fontsize=8)
            written.append(_save(fig, out / f"{prefix}_{ds}_{proto}.png"))
            plt.close(fig)
        fig, ax = plt.subplots(figsize=(5, 4))
        for m in sorted(by_method):
            per_bits: dict[int, list[float]] = defaultdict(list)
            for r in by_method[m]:
                if "map@5000" in r["metrics"]:
                    per_bits[r["n_bits"]].append(r["metrics"]["map@5000"])
            if per_bits:
                xs = sorted(per_bits)
                ax.plot(xs, [np.mean(per_bits[x]) for x in xs], marker="o", label=m)
        ax.set(xlabel="code length (bits)", ylabel="map@5000")
        ax.set_title(f"{ds} / {proto}: mAP vs code length", fontsize=9)
        ax.legend(fontsize=8)
        written.append(_save(fig, out / f"map_vs_bits_{ds}_{proto}.png"))
        plt.close(fig)
    return written
