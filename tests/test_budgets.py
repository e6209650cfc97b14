"""Budgets from learning curves on a seen-class validation split (zshbench.budgets)."""

import numpy as np
import pytest

from zshbench.budgets import choose_budget, learning_curve, validation_split
from zshbench.errors import UserError


def _pts(pairs):
    return [{"epochs": e, "map@5000": m} for e, m in pairs]


def test_choose_budget_is_the_first_doubling_that_gains_less_than_the_tolerance():
    assert choose_budget(_pts([(1, 0.2), (2, 0.4), (4, 0.5), (8, 0.505), (16, 0.51)])) == 4
    assert choose_budget(_pts([(1, 0.2), (2, 0.4), (4, 0.6)])) is None  # still rising: measure longer
    assert choose_budget(_pts([(1, 0.5), (2, 0.49)])) == 1  # a fall counts as "no gain"
    assert choose_budget(_pts([(1, 0.2), (3, 0.2)])) is None  # no doubling pair


def test_validation_split_holds_out_seen_training_items_only():
    from zshbench.protocols import load_protocol, resolve
    from zshbench.registry import get_dataset

    ds = get_dataset("shapes")()
    split = resolve(load_protocol("shapes-zsh"), ds)
    fit, val = validation_split(split, ds.labels, 20)
    assert len(val) == 20 * len(split.seen_classes) and len(fit) + len(val) == len(split.train)
    assert not np.intersect1d(fit, val).size and set(np.concatenate([fit, val])) == set(split.train)
    assert not np.intersect1d(val, split.query).size and not np.intersect1d(val, split.database).size
    again = validation_split(split, ds.labels, 20)
    assert np.array_equal(again[1], val)  # the same items for every method and seed
    with pytest.raises(UserError, match="needs at least"):
        validation_split(split, ds.labels, 99)


def test_curve_refuses_shallow_methods_and_budget_overrides():
    with pytest.raises(UserError, match="fits in one pass"):
        learning_curve("lsh", "digits", [1, 2])
    with pytest.raises(UserError, match="sets the budget itself"):
        learning_curve("comae", "digits", [1, 2], overrides=["epochs=3"])


@pytest.mark.slow
def test_curve_on_digits_rises_with_the_budget(tmp_path):
    from zshbench.budgets import write_curve

    curve = learning_curve("comae", "digits", [1, 2], bits=32)
    assert [p["epochs"] for p in curve["points"]] == [1, 2]
    assert curve["points"][1]["map@5000"] > curve["points"][0]["map@5000"]
    paths = write_curve(curve, tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)
