"""The shared PCA of the shallow methods (methods/_linear.py): the D > n Gram solver against the covariance
solver, rank deficiency, memory estimates before large allocations, and encoding in row blocks."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.methods import _linear
from zshbench.methods._linear import pca_directions, pca_memory, pca_solver
from zshbench.trainset import TrainSet

_PCA = _linear.pca_directions  # the original, for tests that force one solver through monkeypatch


def _train(x):
    return TrainSet.from_arrays(np.zeros(len(x), int), features=x)


def _wide(rng, n=60, d=400, scale=None):
    """n x d data (d > n) with distinct, well separated variances along random orthonormal directions."""
    k = min(n, d)
    basis = np.linalg.qr(rng.standard_normal((d, k)))[0]
    s = np.geomspace(10.0, 0.1, k) if scale is None else scale
    x = (rng.standard_normal((n, k)) * s) @ basis.T + 3.0
    return x


def _reference_covariance_pca(xc, k):
    """The covariance PCA exactly as it was before the Gram solver existed (the committed records' code)."""
    from scipy.linalg import eigh

    d = xc.shape[1]
    cov = (xc.T @ xc) / max(len(xc) - 1, 1)
    evals, evecs = eigh(cov, subset_by_index=[d - k, d - 1])
    order = np.argsort(evals, kind="stable")[::-1]
    w, v = evecs[:, order], np.maximum(evals[order], 0.0)
    flip = np.sign(w[np.abs(w).argmax(axis=0), np.arange(w.shape[1])])
    flip[flip == 0] = 1
    return w * flip, v


def test_switch_rule():
    assert pca_solver(400, 150_528) == "gram"
    assert pca_solver(4000, 3072) == "covariance"
    assert pca_solver(64, 64) == "covariance"  # D == n stays on the covariance path
    assert pca_solver(64, 65) == "gram"


@pytest.mark.parametrize("n, d, k", [(300, 20, 8), (4000, 64, 48), (65, 64, 64), (50, 50, 10)])
def test_covariance_path_is_bit_identical_when_d_le_n(rng, n, d, k):
    """D <= n: the same bits as the pre-Gram code, so committed records reproduce exactly."""
    xc = rng.standard_normal((n, d)) * np.linspace(3.0, 0.5, d)
    xc -= xc.mean(axis=0)
    w, v = pca_directions(xc, k)
    w_ref, v_ref = _reference_covariance_pca(xc, k)
    assert np.array_equal(w, w_ref) and np.array_equal(v, v_ref)


@pytest.mark.parametrize("k", [1, 16, 59])
def test_gram_solver_matches_the_covariance_solver(rng, k):
    """D > n: the top components agree with the covariance path (sign convention included) to ~1e-6."""
    x = _wide(rng)
    xc = x - x.mean(axis=0)
    wc, vc = pca_directions(xc, k, solver="covariance")
    wg, vg = pca_directions(xc, k)  # auto: the Gram solver
    assert np.abs(np.abs(np.sum(wc * wg, axis=0)) - 1).max() < 1e-6
    assert np.abs(wc - wg).max() < 1e-6  # same signs: the largest-magnitude entry of each direction is positive
    assert np.abs(vc - vg).max() < 1e-6 * vc[0]
    assert np.abs(wg.T @ wg - np.eye(k)).max() < 1e-10


@pytest.mark.parametrize("n, d, k", [(6, 500, 16), (2, 40, 8), (30, 31, 30)])
def test_gram_rank_deficiency_fills_the_null_space(rng, n, d, k):
    """Fewer non-zero components than k: directions r+1.. span part of the null space; no NaN, no crash."""
    x = rng.standard_normal((n, d))
    xc = x - x.mean(axis=0)
    w, v = pca_directions(xc, k)
    r = n - 1  # the rank of n centred rows
    assert np.isfinite(w).all() and np.isfinite(v).all()
    assert np.abs(w.T @ w - np.eye(k)).max() < 1e-10
    assert (v[:r] > 0).all() and (v[r:] == 0).all()
    assert np.abs(xc @ w[:, r:]).max() < 1e-9 * np.abs(xc @ w[:, :r]).max()
    again, _ = pca_directions(xc, k)
    assert np.array_equal(w, again)  # deterministic (fixed-seed fill)


def test_gram_data_of_rank_one_and_tiny_scale(rng):
    d = 300
    x = np.outer(rng.standard_normal(10), rng.standard_normal(d)) * 1e-100
    xc = x - x.mean(axis=0)
    w, v = pca_directions(xc, 8)
    assert np.isfinite(w).all() and v[0] > 0 and (v[1:] == 0).all()
    h = create_hasher("pcah", n_bits=8).fit(_train(x))
    assert np.isfinite(h.projection_).all()
    bits = unpack_codes(h.encode(x), 8)
    assert bits[:, 1:].all() and 0 < bits[:, 0].mean() < 1  # one informative bit, the rest on their hyperplanes


@pytest.mark.parametrize("method", ["pcah", "itq", "sh"])
def test_codes_agree_between_solvers(rng, monkeypatch, method):
    """On a small random D > n problem with distinct eigenvalues both solvers give the same codes."""
    x = _wide(rng, n=80, d=300)
    q = _wide(np.random.default_rng(1), n=200, d=300)
    gram = create_hasher(method, n_bits=16, seed=3).fit(_train(x))
    assert _linear.pca_solver(80, 300) == "gram"
    forced = lambda xc, k, solver="auto": _PCA(xc, k, "covariance")  # noqa: E731
    monkeypatch.setattr(_linear, "pca_directions", forced)
    monkeypatch.setattr("zshbench.methods.sh.pca_directions", forced)
    cov = create_hasher(method, n_bits=16, seed=3).fit(_train(x))
    assert np.array_equal(gram.encode(q), cov.encode(q))
    assert np.array_equal(gram.encode(x), cov.encode(x))


def test_pcah_itq_sh_fit_high_dimensional_features_with_little_memory(rng, monkeypatch):
    """The new user's case scaled down (fast): 20,000-d features, 100 items. The covariance would need
    6.0 GiB; with 1 GB allowed, the Gram solver fits."""
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "1e9")
    x = rng.standard_normal((100, 20_000)).astype(np.float32)
    with pytest.raises(UserError, match=r"20000 x 20000 float64 PCA covariance.*needs about 6\.0 GiB"):
        pca_directions(x - x.mean(axis=0), 16, solver="covariance")
    for method in ("pcah", "itq", "sh"):
        h = create_hasher(method, n_bits=64).fit(_train(x))
        codes = unpack_codes(h.encode(x), 64)
        assert 0.2 < codes.mean() < 0.8


@pytest.mark.slow
def test_fit_400_items_of_150528_dimensions_within_4_gb(monkeypatch):
    """The issue's case: 224 px RGB pixels (150,528-d), 400 items, 64 bits, with 4 GB allowed (the covariance
    path needed 169 GiB). Measured: about 4-6 s per method, peak ~0.7 GB above the features
    (docs/methods/shallow.md)."""
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "4e9")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 150_528), dtype=np.float32)
    for method in ("pcah", "itq", "sh"):
        h = create_hasher(method, n_bits=64).fit(_train(x))
        assert np.isfinite(h._get_state()["mean_"]).all()
        assert h.encode(x[:10]).shape == (10, 8)


def test_gram_memory_estimate_is_close_to_the_traced_peak(rng):
    n, d, k = 200, 20_000, 32
    xc = rng.standard_normal((n, d))
    xc -= xc.mean(axis=0)
    est, what = pca_memory(n, d, k)
    assert "200 x 200 float64 PCA Gram" in what
    tracemalloc.start()
    pca_directions(xc, k)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert 0.5 * est < peak < 2 * est, (peak, est)


@pytest.mark.parametrize(
    "method, fragment",
    [
        ("lsh", r"the 500 x 256 float64 projection: 1000\.0 KiB"),
        ("pcah", r"the 500 x 500 float64 PCA covariance and the eigensolver's copy of it: 3\.8 MiB"),
        ("itq", r"the 500 x 500 float64 PCA covariance .*4 float64 600 x 64 arrays of the alternation"),
        ("sh", r"the 500 x 500 float64 PCA covariance .*the 600 x 64 projected training data"),
    ],
)
def test_fit_memory_check_states_estimate_available_and_fix(rng, monkeypatch, method, fragment):
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "2e5")
    x = rng.standard_normal((600, 500)).astype(np.float32)
    with pytest.raises(UserError) as e:
        create_hasher(method, n_bits=256 if method == "lsh" else 64).fit(_train(x))
    msg = str(e.value)
    assert msg.startswith(f"Not enough memory: fitting '{method}'") and "600 x 500 features" in msg
    assert "the centred float64 copy of the 600 x 500 training features: 2.3 MiB" in msg
    assert re.search(fragment, msg), msg
    assert "this machine has 195.3 KiB available to this process" in msg
    assert "--features timm:resnet50" in msg and "\n" not in msg


def test_check_fit_memory_can_run_before_any_features_exist(monkeypatch):
    """A runner that knows the feature dimension can ask before extracting features (H-01: 2048 px images)."""
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "16e9")
    h = create_hasher("lsh", n_bits=256)
    with pytest.raises(UserError, match=r"the 12582912 x 256 float64 projection: 24\.0 GiB"):
        h.check_fit_memory(12, 2048 * 2048 * 3)
    h.check_fit_memory(12, 224 * 224 * 3)  # 224 px: fine
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "1e11")
    create_hasher("pcah", n_bits=64).check_fit_memory(400, 150_528)  # Gram: small
    with pytest.raises(UserError, match="150528 x 150528 float64 PCA covariance"):  # as many items as dims
        create_hasher("pcah", n_bits=64).check_fit_memory(150_528, 150_528)


@pytest.mark.parametrize("method", ["lsh", "pcah", "itq", "sh"])
def test_encoding_in_row_blocks_gives_the_same_codes(rng, monkeypatch, method):
    x = rng.standard_normal((300, 40)) * np.linspace(3, 0.5, 40)
    h = create_hasher(method, n_bits=16).fit(_train(x))
    whole = h.encode(x)
    monkeypatch.setattr(_linear, "ENCODE_BLOCK_BYTES", 7 * 40 * 8)  # blocks of 7 rows
    assert np.array_equal(h.encode(x), whole)
    assert np.allclose(h._project(x, np.eye(40)), x - h.mean_, atol=1e-12)
