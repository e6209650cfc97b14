"""LSH: definition (Gaussian hyperplanes through the training mean), seeding, and the memory estimate of its
D x n_bits projection (H-01)."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.trainset import TrainSet


def _train(x):
    return TrainSet.from_arrays(np.zeros(len(x), int), features=x)


def test_codes_are_signs_of_seeded_gaussian_projections(rng):
    x = rng.standard_normal((100, 20)) + 5.0
    h = create_hasher("lsh", n_bits=16, seed=7).fit(_train(x))
    w = np.random.default_rng(7).standard_normal((20, 16))
    assert np.array_equal(h.projection_, w) and np.allclose(h.mean_, x.mean(axis=0))
    assert np.array_equal(unpack_codes(h.encode(x), 16), (x - x.mean(axis=0)) @ w >= 0)
    raw = create_hasher("lsh", n_bits=16, seed=7, center=False).fit(_train(x))
    assert not raw.mean_.any() and np.array_equal(unpack_codes(raw.encode(x), 16), x @ w >= 0)


def test_seeds_up_to_2_64_minus_1(rng):
    x = rng.standard_normal((50, 8))
    top = create_hasher("lsh", n_bits=8, seed=2**64 - 1).fit(_train(x))
    assert np.array_equal(top.projection_, np.random.default_rng(2**64 - 1).standard_normal((8, 8)))
    with pytest.raises(UserError, match=r"0 to 2\*\*64 - 1"):
        create_hasher("lsh", n_bits=8, seed=2**64)


def test_projection_memory_is_estimated_before_it_is_drawn(rng, monkeypatch):
    """H-01: 2048 px pixels at 256 bits need a 24 GiB projection; the estimate stops the run first."""
    x = rng.standard_normal((4, 3000)).astype(np.float32)
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", str(3000 * 256 * 8))  # 80% of it: less than the projection
    with pytest.raises(UserError, match=r"the 3000 x 256 float64 projection: 5\.9 MiB.*fewer --bits"):
        create_hasher("lsh", n_bits=256).fit(_train(x))
    create_hasher("lsh", n_bits=64).fit(_train(x))  # a quarter of it fits
