"""PCAH: definition, determinism and the edge cases of the shared feature path (methods/_linear.py)."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.trainset import TrainSet


def _train(x, labels=None):
    return TrainSet.from_arrays(np.zeros(len(x), int) if labels is None else labels, features=x)


def _aniso(rng, n=300, d=20):
    return rng.standard_normal((n, d)) * np.linspace(3.0, 0.5, d) + 7.0


def test_projection_is_the_top_principal_directions(rng):
    from sklearn.decomposition import PCA

    x = _aniso(rng) @ np.linalg.qr(rng.standard_normal((20, 20)))[0]
    h = create_hasher("pcah", n_bits=8).fit(_train(x))
    ref = PCA(n_components=8, svd_solver="full").fit(x).components_.T
    assert np.allclose(np.abs(np.sum(h.projection_ * ref, axis=0)), 1.0, atol=1e-8)  # same directions up to sign
    assert np.allclose(h.mean_, x.mean(axis=0))
    # sign convention: the largest-magnitude entry of each direction is positive
    assert (h.projection_[np.abs(h.projection_).argmax(axis=0), np.arange(8)] > 0).all()
    expected = (x - x.mean(axis=0)) @ h.projection_ >= 0
    assert np.array_equal(unpack_codes(h.encode(x), 8), expected)


def test_deterministic_ignores_seed_and_labels(rng):
    """Unsupervised: a single training class, other labels or another seed give the same codes."""
    x = _aniso(rng)
    one_class = create_hasher("pcah", n_bits=16, seed=0).fit(_train(x)).encode(x)
    labels = np.arange(len(x)) % 5
    other = create_hasher("pcah", n_bits=16, seed=9).fit(_train(x, labels)).encode(x)
    assert np.array_equal(one_class, other)


def test_n_bits_larger_than_dimension_is_refused(rng):
    x = _aniso(rng, d=16)
    with pytest.raises(UserError, match=r"24-bit codes from 16-dimensional features.*--bits 16 or fewer"):
        create_hasher("pcah", n_bits=24).fit(_train(x))
    create_hasher("pcah", n_bits=16).fit(_train(x))  # n_bits == D is fine


def test_constant_column_changes_nothing(rng):
    x = _aniso(rng)
    xc = np.hstack([x[:, :5], np.full((len(x), 1), 0.1), x[:, 5:]])
    a = create_hasher("pcah", n_bits=16).fit(_train(x))
    b = create_hasher("pcah", n_bits=16).fit(_train(xc))
    assert np.abs(b.projection_[5]).max() < 1e-12
    q = _aniso(np.random.default_rng(1))
    qc = np.hstack([q[:, :5], np.full((len(q), 1), 0.1), q[:, 5:]])
    assert np.array_equal(a.encode(q), b.encode(qc))


def test_duplicated_column_gets_equal_weights(rng):
    x = _aniso(rng)
    xd = np.hstack([x, x[:, :1]])
    h = create_hasher("pcah", n_bits=16).fit(_train(xd))
    assert np.allclose(h.projection_[0], h.projection_[-1], atol=1e-10)


def test_fewer_samples_than_bits(rng):
    """Rank 5 < 16 bits: the null-space bits are 1 for every training item, informative for other data."""
    x = rng.standard_normal((6, 32))
    h = create_hasher("pcah", n_bits=16).fit(_train(x))
    bits = unpack_codes(h.encode(x), 16)
    assert bits[:, 5:].all()
    assert len(np.unique(bits[:, :5], axis=0)) == 6
    other = unpack_codes(h.encode(rng.standard_normal((50, 32))), 16)
    assert 0 < other[:, 5:].mean() < 1


def test_untrainable_data_refused(rng):
    with pytest.raises(UserError, match="all identical"):
        create_hasher("pcah", n_bits=8).fit(_train(np.ones((10, 12))))
    with pytest.raises(UserError, match="at least 2 training samples"):
        create_hasher("pcah", n_bits=8).fit(_train(rng.standard_normal((1, 12))))


def test_nan_inf_refused_with_count_and_first_row(rng):
    x = _aniso(rng)
    x[3, 2], x[7, 0] = np.nan, np.inf
    raw = TrainSet(
        labels=np.zeros(len(x), np.int64),
        class_names=("a",),
        class_attributes=np.eye(1, dtype=np.float32),
        attribute_names=("a",),
        features=x,
    )  # built directly: no validation on the way in
    with pytest.raises(UserError, match=r"2 row\(s\) \(first bad row: 3\)"):
        create_hasher("pcah", n_bits=8).fit(raw)
    h = create_hasher("pcah", n_bits=8).fit(_train(np.nan_to_num(x, posinf=0.0)))
    with pytest.raises(UserError, match=r"2 row\(s\) \(first bad row: 3\)"):
        h.encode(x)


def test_float32_float64_numpy_and_torch_give_the_same_codes(rng):
    import torch

    x32 = _aniso(rng).astype(np.float32)
    ref = create_hasher("pcah", n_bits=16).fit(_train(x32)).encode(x32)
    for x in (x32.astype(np.float64), torch.from_numpy(x32), torch.from_numpy(x32.astype(np.float64))):
        h = create_hasher("pcah", n_bits=16).fit(_train(x))
        assert np.array_equal(h.encode(x), ref)


def test_wide_features_match_sklearn_pca(rng):
    """D > n (the Gram solver): the directions are sklearn's principal axes up to sign, codes their signs."""
    from sklearn.decomposition import PCA

    basis = np.linalg.qr(rng.standard_normal((400, 50)))[0]
    x = (rng.standard_normal((50, 50)) * np.geomspace(5, 0.2, 50)) @ basis.T + 2.0
    h = create_hasher("pcah", n_bits=24).fit(_train(x))
    ref = PCA(n_components=24, svd_solver="full").fit(x).components_.T
    assert np.allclose(np.abs(np.sum(h.projection_ * ref, axis=0)), 1.0, atol=1e-8)
    q = rng.standard_normal((30, 400))
    assert np.array_equal(unpack_codes(h.encode(q), 24), (q - x.mean(axis=0)) @ h.projection_ >= 0)
