"""Training budgets from measured learning curves, never from unseen classes.

A deep method's default budget (its ``tiny`` profile's ``epochs``) is chosen from a learning curve measured on a
**seen-class validation split**: for every seen class of the protocol, ``val_per_class`` of its TRAINING items
(drawn with a fixed seed) are held out. The method trains on the other training items for E epochs; the held-out
items are then queries against the method's own training items (the database), both of seen classes only. The
unseen classes, the protocol's queries and its database are never touched, so no number of the leaderboard can
leak into the choice of budget.

`learning_curve` measures map@5000 at each budget of a doubling sequence (separate runs: a budget is a complete
training, learning-rate schedule included); `choose_budget` returns the smallest budget E for which doubling to
2E raises the validation map@5000 by less than ``tol`` (0.01: the leaderboard issue's criterion). The CLI is
``zshbench curve`` (a JSON report and a PNG figure), e.g.::

    zshbench curve --method razh --dataset shapes --bits 64 --epochs 1,2,4,8 --out docs/curves
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import UserError

__all__ = ["validation_split", "learning_curve", "choose_budget", "write_curve", "VAL_SEED", "TOLERANCE"]

VAL_SEED = 12345  # the validation items are the same for every method, bits and seed
TOLERANCE = 0.01


def validation_split(split, labels: np.ndarray, val_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """(training items kept for fitting, held-out validation items): ``val_per_class`` training items of every
    seen class, drawn with `VAL_SEED`. Only training (seen-class) items are involved.

    Raises:
        UserError: a seen class with too few training items to hold ``val_per_class`` out and keep two.
    """
    rng = np.random.default_rng(VAL_SEED)
    train = np.asarray(split.train)
    keep, val = [], []
    for c in np.unique(labels[train]):
        items = np.sort(train[labels[train] == c])
        if len(items) < val_per_class + 2:
            raise UserError(
                f"A seen class has {len(items)} training items; holding out {val_per_class} for validation needs at "
                f"least {val_per_class + 2}. Use a smaller --val-per-class."
            )
        perm = rng.permutation(items)
        val.append(perm[:val_per_class])
        keep.append(perm[val_per_class:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(val))


def learning_curve(
    method: str,
    dataset: str,
    epochs: Sequence[int],
    *,
    bits: int = 64,
    seed: int = 0,
    overrides: Sequence[str] | dict | None = None,
    val_per_class: int = 20,
    protocol: str | None = None,
    data_root: str | None = None,
    device: str = "cpu",
    progress=None,
) -> dict[str, Any]:
    """map@5000 of seen-class validation retrieval after each budget in ``epochs`` (see the module docstring).

    Returns:
        {"method", "dataset", "protocol", "bits", "seed", "val_per_class", "n_fit", "n_val", "overrides",
        "points": [{"epochs", "map@5000", "fit_s", "steps"}], "chosen_epochs", "tolerance"}
    """
    import dataclasses

    from zshbench.evaluate import HEADLINE_K, HEADLINE_METRIC, evaluate
    from zshbench.runner import build_trainset, prepare
    from zshbench.runner.execute import seed_everything

    epochs = sorted({int(e) for e in epochs})
    if not epochs or epochs[0] < 1:
        raise UserError(f"--epochs needs positive integers (a doubling sequence such as 1,2,4,8), got {epochs}.")
    ov = dict(overrides) if isinstance(overrides, dict) else {}
    if not isinstance(overrides, dict):
        for item in overrides or ():
            key, _, value = str(item).partition("=")
            ov[key.strip()] = value.strip()
    if "epochs" in ov or "max_steps" in ov:
        raise UserError("The curve sets the budget itself: drop epochs / max_steps from --set.")
    prep = prepare(
        method, dataset, protocol=protocol, bits=[bits], seeds=[seed], device=device, overrides=ov, data_root=data_root
    )
    if prep.method_cls.requires.inputs != "images":
        raise UserError(f"Method '{method}' fits in one pass (no epochs): learning curves are for deep methods.")
    ds, split = prep.dataset, prep.split
    fit_idx, val_idx = validation_split(split, ds.labels, val_per_class)
    fit_split = dataclasses.replace(split, train=fit_idx)
    train = build_trainset(ds, fit_split)
    q, db = ds.image_view(val_idx), ds.image_view(fit_idx)
    points = []
    for e in epochs:
        hasher = prep.method_cls(
            n_bits=int(bits), seed=int(seed), device=prep.device, **{**prep.overrides, "epochs": e}
        )
        seed_everything(int(seed), torch_too=True)
        t0 = time.perf_counter()
        hasher.fit(train)
        fit_s = time.perf_counter() - t0
        res = evaluate(
            hasher.encode(q), hasher.encode(db), ds.labels[val_idx], ds.labels[fit_idx], n_bits=int(bits), k=HEADLINE_K
        )
        info = hasher.run_info()
        steps = (info.get("train") or {}).get("steps") if isinstance(info.get("train"), dict) else None
        point = {
            "epochs": e,
            HEADLINE_METRIC: float(res.metrics[HEADLINE_METRIC]),
            "fit_s": round(fit_s, 2),
            "steps": steps,
        }
        points.append(point)
        if progress:
            progress(point)
    out = {
        "method": prep.method_cls.name,
        "method_version": str(prep.method_cls.version),
        "dataset": ds.name,
        "protocol": prep.protocol.name,
        "bits": int(bits),
        "seed": int(seed),
        "val_per_class": int(val_per_class),
        "n_fit": int(len(fit_idx)),
        "n_val": int(len(val_idx)),
        "overrides": {k: v for k, v in prep.overrides.items()},
        "points": points,
        "tolerance": TOLERANCE,
    }
    out["chosen_epochs"] = choose_budget(points)
    return out


def choose_budget(points: Sequence[dict], tol: float = TOLERANCE, metric: str = "map@5000") -> int | None:
    """The smallest budget E whose doubling (a point at 2E) raises ``metric`` by less than ``tol``; None when no
    measured pair (E, 2E) shows it (the curve is still rising: measure longer budgets)."""
    by = {int(p["epochs"]): float(p[metric]) for p in points}
    for e in sorted(by):
        if 2 * e in by and by[2 * e] - by[e] < tol:
            return e
    return None


def write_curve(curve: dict, out: str | Path) -> list[Path]:
    """``<method>_<dataset>_<bits>b.json`` and ``.png`` (validation map@5000 against epochs) under ``out``."""
    from zshbench.fileio import atomic_write_bytes
    from zshbench.paths import check_writable_dir, inside, slug

    out = check_writable_dir(out, "--out")
    stem = f"{slug(curve['method'])}_{slug(curve['dataset'])}_{curve['bits']}b"
    j = inside(out, stem + ".json")
    atomic_write_bytes(j, (json.dumps(curve, indent=2, sort_keys=True) + "\n").encode())
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    xs = [p["epochs"] for p in curve["points"]]
    ys = [p["map@5000"] for p in curve["points"]]
    fig, ax = plt.subplots(figsize=(4.2, 3.0), dpi=150)
    ax.plot(xs, ys, marker="o", color="#0072B2")
    if curve.get("chosen_epochs"):
        ax.axvline(
            curve["chosen_epochs"],
            color="#D55E00",
            linestyle="--",
            linewidth=1,
            label=f"chosen: {curve['chosen_epochs']} epoch{'' if curve['chosen_epochs'] == 1 else 's'}",
        )
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("training budget (epochs)", fontsize=8)
    ax.set_ylabel("seen-class validation map@5000", fontsize=8)
    ax.set_title(f"{curve['method']} on {curve['dataset']}, {curve['bits']} bits (seed {curve['seed']})", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = inside(out, stem + ".png")
    fig.savefig(png, metadata={"Software": None})
    plt.close(fig)
    return [j, png]
