"""RAZH learns on the built-in `shapes` dataset (tiny profile, fixed seed, CPU): trained codes retrieve unseen
classes clearly better than the codes of the same, untrained network."""

from __future__ import annotations

import pytest

from zshbench.testing import learning_check

MARGIN = 0.15


def _learning(steps: int | None, **over) -> tuple[float, float, dict]:
    return learning_check("razh", steps, **over)


def test_razh_learns_short():
    before, after, info = _learning(45)
    assert info["train"]["steps"] == 45
    assert after > before + MARGIN, (
        before,
        after,
        info["train"]["epochs"],
    )  # measured: 0.20 -> 0.62 (version 2; 0.61 in version 1)


@pytest.mark.slow
def test_razh_learns_default_budget():
    before, after, info = _learning(None)
    # measured with the default budget: 0.10 -> 0.40 map@all on the full shapes-zsh database
    assert after > before + 2 * MARGIN, (before, after, info["train"]["epochs"])
