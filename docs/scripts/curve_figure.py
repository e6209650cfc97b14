"""docs/curves/all_64b.png: every learning curve of docs/curves on one page, one panel per method, shapes and
fashion as two lines, each method's CURRENT default budget (its ``tiny`` profile) as a dashed vertical line.

A reader sees at once where each default sits on its curve: on a flat part (the budget rule holds) or on a
rising one (a CPU cap). The numbers behind it: docs/scripts/curve_table.py.

Run from the repository root: .venv/bin/python docs/scripts/curve_figure.py [FOLDER]   (default docs/curves)
"""

import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402
from curve_table import default_epochs  # noqa: E402  (this folder: the same default the table reports)

COLORS = {"shapes": "#0072B2", "fashion": "#D55E00", "digits": "#009E73"}  # Okabe-Ito, colour-blind safe
MARKERS = {"shapes": "o", "fashion": "s", "digits": "^"}
FLAGSHIPS = ("razh", "comae")
MIN_SPAN = 0.1


def main(folder: str = "docs/curves") -> None:
    curves: dict[str, dict[str, dict]] = {}
    for f in sorted(Path(folder).glob("*_*b.json")):
        c = json.loads(f.read_text())
        if int(c["bits"]) == 64:
            curves.setdefault(c["method"], {})[c["dataset"]] = c
    if not curves:
        sys.exit(f"No 64-bit learning-curve reports in {folder}; make them with `zshbench curve`.")
    names = [m for m in FLAGSHIPS if m in curves] + sorted(m for m in curves if m not in FLAGSHIPS)
    cols = 5
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 1.9 * rows), dpi=150, squeeze=False)
    for ax, m in zip(axes.flat, names):
        for ds, c in sorted(curves[m].items()):
            xs = [p["epochs"] for p in c["points"]]
            ys = [p["map@5000"] for p in c["points"]]
            ax.plot(xs, ys, marker=MARKERS.get(ds, "o"), markersize=3, linewidth=1.2, color=COLORS.get(ds), label=ds)
        default = default_epochs(m)
        if default is not None:
            ax.axvline(default, color="0.35", linestyle="--", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ticks = sorted({p["epochs"] for c in curves[m].values() for p in c["points"]})
        ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        ax.set_title(f"{m} (default {default})", fontsize=7)
        ax.grid(alpha=0.3, linewidth=0.5)
        lo, hi = ax.get_ylim()
        if hi - lo < MIN_SPAN:  # a flat curve is drawn flat: an axis of at least 0.1 (the rule's 0.01 is 1/10 of it)
            mid = (lo + hi) / 2
            ax.set_ylim(mid - MIN_SPAN / 2, mid + MIN_SPAN / 2)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles = [
        plt.Line2D([], [], color=COLORS[d], marker=MARKERS[d], markersize=3, label=d)
        for d in ("shapes", "fashion")
        if any(d in v for v in curves.values())
    ]
    handles.append(plt.Line2D([], [], color="0.35", linestyle="--", linewidth=0.8, label="default budget"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=7, frameon=False)
    fig.supxlabel("training budget (epochs, log scale)", fontsize=7)
    fig.supylabel("seen-class validation map@5000 (64 bits, seed 0)", fontsize=7)
    fig.tight_layout(rect=(0.01, 0, 1, 0.95))
    out = Path(folder) / "all_64b.png"
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
