"""COMAE learns on the built-in `shapes` dataset (tiny profile, fixed seed, CPU): trained codes retrieve unseen
classes clearly better than the codes of the same, untrained network."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher

MARGIN = 0.1


def _data():
    from zshbench.protocols import load_protocol, resolve
    from zshbench.runner import build_trainset, load_dataset

    ds = load_dataset("shapes")
    split = resolve(load_protocol("shapes-zsh"), ds)
    train = build_trainset(ds, split)
    # a smaller database (60 items of each unseen class) keeps encoding cheap; queries are all of them
    db_lab = ds.labels[split.database]
    db = np.concatenate([split.database[db_lab == c][:60] for c in split.unseen_classes])
    return ds, split, train, db


def _map_all(h, ds, split, db) -> float:
    from zshbench.evaluate import evaluate

    cq = h.encode(ds.image_view(split.query))
    cdb = h.encode(ds.image_view(db))
    res = evaluate(cq, cdb, ds.labels[split.query], ds.labels[db], n_bits=h.n_bits, k=len(db), device="cpu")
    return float(res.metrics["map@all"])


def _learning(name: str, steps: int | None, **over) -> tuple[float, float, dict]:
    ds, split, train, db = _data()
    base = create_hasher(name, n_bits=32, seed=0, lr=1e-12, max_steps=1).fit(train)  # = the untrained network
    trained = create_hasher(name, n_bits=32, seed=0, max_steps=steps, **over).fit(train)
    return _map_all(base, ds, split, db), _map_all(trained, ds, split, db), trained.run_info()


def test_comae_learns_short():
    # measured (seed 0, 2 shared cores): untrained 0.340, 20 steps 0.538, 40 steps 0.805
    before, after, info = _learning("comae", 20)
    assert info["train"]["steps"] == 20
    assert after > before + MARGIN, (before, after, info["train"]["epochs"])


@pytest.mark.slow
def test_comae_learns_default_budget():
    before, after, info = _learning("comae", None)
    assert after > before + 3 * MARGIN, (before, after, info["train"]["epochs"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["comae-v1", "comae-v2", "comae-v3"])
def test_comae_variants_learn(name):
    before, after, info = _learning(name, 40)
    assert after > before + MARGIN, (name, before, after, info["train"]["epochs"])
