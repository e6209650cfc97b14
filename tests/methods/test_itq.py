"""ITQ: the alternation (loss, rotation, Procrustes step), balance, edge cases, and the sanity ordering vs LSH."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.methods._linear import random_orthogonal
from zshbench.methods.itq import itq_rotation, quantization_loss
from zshbench.trainset import TrainSet


def _train(x, labels=None):
    return TrainSet.from_arrays(np.zeros(len(x), int) if labels is None else labels, features=x)


def _clustered(rng, n=400, d=24, k=6):
    centres = rng.standard_normal((k, d)) * 3
    return centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_is_non_increasing_and_rotation_orthogonal(rng, seed):
    x = _clustered(rng)
    h = create_hasher("itq", n_bits=16, seed=seed, n_iter=30).fit(_train(x))
    loss = np.asarray(h.loss_history_)
    assert loss.shape == (31,)
    assert (np.diff(loss) <= 1e-9 * loss[0]).all(), f"loss increased: {np.diff(loss).max()}"
    assert loss[-1] < loss[0]
    r = h.rotation_
    assert np.abs(r.T @ r - np.eye(16)).max() < 1e-5 and np.abs(r @ r.T - np.eye(16)).max() < 1e-5
    # the reported loss is the quantization loss of the final codes
    v = (x - h.mean_) @ h.projection_
    b = np.where(v >= 0, 1.0, -1.0)
    assert np.isclose(np.sum((b - v) ** 2), loss[-1])
    assert np.array_equal(unpack_codes(h.encode(x), 16), v >= 0)


def test_rotation_update_is_the_orthogonal_procrustes_solution(rng):
    from scipy.linalg import orthogonal_procrustes

    v = rng.standard_normal((200, 8)) * np.linspace(2, 1, 8)
    r0 = random_orthogonal(8, np.random.default_rng(3))
    r1, hist = itq_rotation(v, r0, 1)
    b0 = np.where(v @ r0 >= 0, 1.0, -1.0)
    assert np.allclose(r1, orthogonal_procrustes(v, b0)[0], atol=1e-10)
    assert hist == [quantization_loss(v, r0), quantization_loss(v, r1)]


def test_codes_better_balanced_than_pcah():
    """Independent exponential sources: PCA finds the axes, so a PCAH bit is 1 with probability e^-1 (balance
    error ~0.13 per bit); ITQ's rotation mixes the sources into more symmetric projections."""
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(2000, 16)) * np.linspace(2, 1, 16)

    def imbalance(m):
        p = unpack_codes(create_hasher(m, n_bits=16, seed=0).fit(_train(x)).encode(x), 16).mean(axis=0)
        return np.abs(p - 0.5).mean()

    pcah, itq = imbalance("pcah"), imbalance("itq")
    assert 0.07 < pcah < 0.13
    assert itq < pcah / 2, (itq, pcah)


def test_seed_drives_the_initial_rotation(rng):
    x = _clustered(rng)
    a = create_hasher("itq", n_bits=16, seed=0, n_iter=0).fit(_train(x))
    b = create_hasher("itq", n_bits=16, seed=1, n_iter=0).fit(_train(x))
    assert np.allclose(a.rotation_, random_orthogonal(16, np.random.default_rng(0)))
    assert not np.array_equal(a.encode(x), b.encode(x))
    assert len(a.loss_history_) == 1


def test_n_iter_out_of_range(rng):
    for bad in (-1, 10_001):
        with pytest.raises(UserError, match="n_iter"):
            create_hasher("itq", n_bits=8, n_iter=bad).fit(_train(_clustered(rng)))


def test_n_bits_larger_than_dimension_is_refused(rng):
    with pytest.raises(UserError, match=r"32-bit codes from 24-dimensional features"):
        create_hasher("itq", n_bits=32).fit(_train(_clustered(rng)))


def test_single_class_constant_and_duplicated_columns(rng):
    x = _clustered(rng)
    base = create_hasher("itq", n_bits=16).fit(_train(x))
    assert np.array_equal(base.encode(x), create_hasher("itq", n_bits=16).fit(_train(x, np.arange(400) % 4)).encode(x))
    xc = np.hstack([x, np.full((len(x), 1), -3.0)])
    withc = create_hasher("itq", n_bits=16).fit(_train(xc))
    assert np.abs(withc.projection_[-1]).max() < 1e-12
    assert np.array_equal(withc.encode(xc), base.encode(x))
    xd = np.hstack([x, x[:, 2:3]])
    dup = create_hasher("itq", n_bits=16).fit(_train(xd))
    assert np.allclose(dup.projection_[2], dup.projection_[-1], atol=1e-10)


def test_fewer_samples_than_bits(rng):
    x = rng.standard_normal((6, 32))
    h = create_hasher("itq", n_bits=16).fit(_train(x))
    assert (np.diff(h.loss_history_) <= 1e-9 * h.loss_history_[0]).all()
    assert h.encode(rng.standard_normal((20, 32))).shape == (20, 2)


def test_nan_inf_and_input_types(rng):
    import torch

    x = _clustered(rng).astype(np.float32)
    ref = create_hasher("itq", n_bits=16).fit(_train(x)).encode(x)
    for xx in (x.astype(np.float64), torch.from_numpy(x)):
        assert np.array_equal(create_hasher("itq", n_bits=16).fit(_train(xx)).encode(xx), ref)
    bad = x.copy()
    bad[5, 1] = np.inf
    with pytest.raises(UserError, match=r"1 row\(s\) \(first bad row: 5\)"):
        _train(bad)
    with pytest.raises(UserError, match=r"1 row\(s\) \(first bad row: 5\)"):
        create_hasher("itq", n_bits=16).fit(_train(x)).encode(bad)


def test_itq_beats_lsh_on_digits(tmp_path):
    """Sanity ordering on fixed seeds: digits pixels, 32 bits, digits-zsh, mean mAP@all over seeds 0, 1, 2
    (measured: ITQ 0.455, LSH 0.437)."""
    from zshbench.runner import run

    def mean_map(method):
        recs = run(
            method=method,
            dataset="digits",
            bits=[32],
            seeds=[0, 1, 2],
            results_dir=tmp_path / method,
            progress=False,
            device="cpu",
            features="pixels",
        )
        assert len(recs) == 3
        return float(np.mean([r["metrics"]["map@all"] for r in recs]))

    itq, lsh = mean_map("itq"), mean_map("lsh")
    assert itq > lsh + 0.005, (itq, lsh)


def test_wide_rank_deficient_features(rng):
    """D > n and n_bits > rank (10 items, 500-d, 32 bits): the Gram solver's null-space directions are rotated
    with the rest; no NaN, the loss still never increases, R stays orthogonal."""
    x = rng.standard_normal((10, 500))
    h = create_hasher("itq", n_bits=32).fit(_train(x))
    assert np.isfinite(h.projection_).all() and np.isfinite(h.loss_history_).all()
    assert (np.diff(h.loss_history_) <= 1e-9 * h.loss_history_[0]).all()
    assert np.abs(h.rotation_.T @ h.rotation_ - np.eye(32)).max() < 1e-5
    assert h.encode(rng.standard_normal((20, 500))).shape == (20, 4)
