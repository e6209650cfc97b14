"""RAZH learns on the built-in `shapes` dataset (tiny profile, fixed seed, CPU): trained codes retrieve unseen
classes clearly better than the codes of the same, untrained network."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher

MARGIN = 0.15


def _data():
    from zshbench.protocols import load_protocol, resolve
    from zshbench.runner import build_trainset, load_dataset

    ds = load_dataset("shapes")
    split = resolve(load_protocol("shapes-zsh"), ds)
    train = build_trainset(ds, split)
    # a smaller database (60 items of each unseen class) keeps encoding cheap; queries are all 200 of them
    db_lab = ds.labels[split.database]
    db = np.concatenate([split.database[db_lab == c][:60] for c in split.unseen_classes])
    return ds, split, train, db


def _map_all(h, ds, split, db) -> float:
    from zshbench.evaluate import evaluate

    cq = h.encode(ds.image_view(split.query))
    cdb = h.encode(ds.image_view(db))
    res = evaluate(cq, cdb, ds.labels[split.query], ds.labels[db], n_bits=h.n_bits, k=len(db), device="cpu")
    return float(res.metrics["map@all"])


def _learning(steps: int | None, **over) -> tuple[float, float, dict]:
    ds, split, train, db = _data()
    base = create_hasher("razh", n_bits=32, seed=0, lr=1e-12, max_steps=1).fit(train)  # = untrained network
    trained = create_hasher("razh", n_bits=32, seed=0, max_steps=steps, **over).fit(train)
    return _map_all(base, ds, split, db), _map_all(trained, ds, split, db), trained.run_info()


def test_razh_learns_short():
    before, after, info = _learning(45)
    assert info["train"]["steps"] == 45
    assert after > before + MARGIN, (before, after, info["train"]["epochs"])  # measured: 0.20 -> 0.61


@pytest.mark.slow
def test_razh_learns_default_budget():
    before, after, info = _learning(None)
    # measured with the default budget: 0.10 -> 0.40 map@all on the full shapes-zsh database
    assert after > before + 2 * MARGIN, (before, after, info["train"]["epochs"])
