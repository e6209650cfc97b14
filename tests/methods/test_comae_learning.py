"""COMAE learns on the built-in `shapes` dataset (tiny profile, fixed seed, CPU): trained codes retrieve unseen
classes clearly better than the codes of the same, untrained network."""

from __future__ import annotations

import pytest

from zshbench.testing import learning_check

MARGIN = 0.1


def _learning(name: str, steps: int | None, **over) -> tuple[float, float, dict]:
    return learning_check(name, steps, **over)


def test_comae_learns_short():
    # measured (version 2 defaults, seed 0, 32 bits, 2 shared cores): untrained 0.328, 20 steps 0.562,
    # 40 steps 0.762 (version 1: 0.340, 0.538, 0.805)
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
