"""IMH: the inductive out-of-sample map by hand and against a direct formula, the kernel width rule, the fitted
pieces (base set = k-means centres, t-SNE embedding of the base set, centred codes), config errors, and the
learning claims (a fast synthetic check; the shapes comparison with LSH at 64 bits, slow)."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.methods.imh import inductive_embedding, neighbour_width
from zshbench.trainset import TrainSet


def test_inductive_embedding_by_hand():
    base = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    yb = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    x = np.array([[1.0, 0.0]])
    # k = 2 nearest base points: both at squared distance 1, equal weights -> the mean of their embeddings
    assert np.allclose(inductive_embedding(x, base, yb, k=2, sigma=1.0), [[0.5, 0.5]])
    # x at 0.5: squared distances 0.25 and 2.25, weights exp(-0.25), exp(-2.25) (sigma = 1)
    w = np.exp([-0.25, -2.25])
    w /= w.sum()
    assert np.allclose(inductive_embedding(np.array([[0.5, 0.0]]), base, yb, k=2, sigma=1.0), [w @ yb[:2]])
    # k = 1: the nearest base point's embedding
    assert np.allclose(inductive_embedding(np.array([[9.0, 0.0]]), base, yb, k=1, sigma=1.0), [[5.0, 5.0]])


def test_inductive_embedding_matches_the_direct_formula(rng):
    base, yb = rng.standard_normal((12, 5)), rng.standard_normal((12, 3))
    x = rng.standard_normal((7, 5))
    k, sigma = 4, 1.7
    want = np.empty((7, 3))
    for i, xi in enumerate(x):
        d2 = ((base - xi) ** 2).sum(1)
        near = np.argsort(d2)[:k]
        w = np.exp(-d2[near] / sigma**2)
        want[i] = (w[:, None] * yb[near]).sum(0) / w.sum()
    assert np.allclose(inductive_embedding(x, base, yb, k, sigma), want)


def test_far_items_keep_finite_weights():
    base, yb = np.array([[0.0], [1.0]]), np.array([[1.0], [3.0]])
    y = inductive_embedding(np.array([[1000.0]]), base, yb, k=2, sigma=1.0)
    assert np.isfinite(y).all() and np.allclose(y, [[3.0]])


def test_neighbour_width_by_hand():
    base = np.array([[0.0], [3.0]])
    x = np.array([[1.0], [3.0]])
    # k = 2: squared distances 1, 4 and 9, 0 -> mean 3.5
    assert np.isclose(neighbour_width(x, base, 2), np.sqrt(3.5))


def _clusters(rng, n_classes=6, per=40, d=10, spread=3.0):
    centres = rng.standard_normal((n_classes, d)) * spread
    labels = np.repeat(np.arange(n_classes), per)
    return centres[labels] + rng.standard_normal((len(labels), d)), labels


def test_fit_pieces_and_codes(rng):
    from sklearn.cluster import KMeans

    x, y = _clusters(rng)
    h = create_hasher("imh", n_bits=8, seed=0, n_base=30, tsne_iter=250).fit(TrainSet.from_arrays(y, features=x))
    # the base set is the seeded k-means of the training items
    km = KMeans(n_clusters=30, n_init=1, max_iter=100, random_state=0).fit(x)
    assert np.allclose(h.base_, km.cluster_centers_)
    assert h.base_embedding_.shape == (30, 8) and h.k_ == 5
    # codes: the centred inductive embedding, thresholded at 0; the training embeddings are centred
    emb = inductive_embedding(x, h.base_, h.base_embedding_, 5, h.sigma_)
    assert np.allclose(h.center_, emb.mean(0))
    assert np.array_equal(unpack_codes(h.encode(x), 8), emb - emb.mean(0) >= 0)
    info = h.run_info()
    assert info["n_base"] == 30 and info["perplexity"] == pytest.approx(29 / 3) and info["distinct_train_codes"] > 1


def test_labels_are_not_read():
    r = create_hasher("imh").requires
    assert not r.supervised and not r.attributes and r.inputs == "features"


@pytest.mark.parametrize(
    "params",
    [{"n_base": 1}, {"n_neighbors": 0}, {"sigma": -1.0}, {"perplexity": 0.0}, {"tsne_iter": 10}, {"kmeans_iter": 0}],
)
def test_bad_config_values_are_user_errors(rng, params):
    x, y = _clusters(rng, per=5)
    with pytest.raises(UserError, match=next(iter(params))):
        create_hasher("imh", n_bits=8, **params).fit(TrainSet.from_arrays(y, features=x))


def _map_all(codes_q, codes_db, yq, ydb, n_bits):
    from zshbench.evaluate import evaluate

    return float(evaluate(codes_q, codes_db, yq, ydb, n_bits=n_bits, k=len(ydb), device="cpu").metrics["map@all"])


def test_learns_fast_check_beats_lsh_on_held_out_items():
    """Fast learning check (unsupervised): on well separated clusters, IMH codes of held-out items retrieve their
    cluster better than LSH codes (map@all 0.996 vs 0.501 measured at seed 0)."""
    x, y = _clusters(np.random.default_rng(0), n_classes=8, per=60, d=30, spread=1.0)
    tr = np.arange(len(y)) % 4 != 0
    train = TrainSet.from_arrays(y[tr], features=x[tr])
    scores = {}
    for m in ("imh", "lsh"):
        h = create_hasher(m, n_bits=16, seed=0, **({"n_base": 60, "tsne_iter": 300} if m == "imh" else {}))
        h.fit(train)
        scores[m] = _map_all(h.encode(x[~tr]), h.encode(x[tr]), y[~tr], y[tr], 16)
    assert scores["imh"] > scores["lsh"] + 0.1, scores


def test_tsne_affinities_have_the_target_entropy(rng):
    from zshbench.methods.imh.tsne import binary_search_affinities

    x = rng.standard_normal((25, 4))
    p = binary_search_affinities(x, perplexity=5.0)
    assert np.allclose(p.sum(1), 1.0) and np.allclose(np.diag(p), 0.0)
    q = np.where(p > 0, p, 1.0)
    entropy = -(p * np.log(q)).sum(1)
    assert np.allclose(entropy, np.log(5.0), atol=1e-4)


def test_tsne_gradient_matches_finite_differences(rng):
    """The one-degree-of-freedom KL gradient against central differences of the KL itself."""
    from zshbench.methods.imh.tsne import kl_and_gradient

    n = 6
    p = rng.random((n, n))
    p = p + p.T
    np.fill_diagonal(p, 0.0)
    p /= p.sum()
    y = rng.standard_normal((n, 3))
    _, grad = kl_and_gradient(p, y)
    eps = 1e-6
    num = np.zeros_like(y)
    for i in range(n):
        for j in range(3):
            yp, ym = y.copy(), y.copy()
            yp[i, j] += eps
            ym[i, j] -= eps
            num[i, j] = (kl_and_gradient(p, yp)[0] - kl_and_gradient(p, ym)[0]) / (2 * eps)
    assert np.allclose(grad, num, atol=1e-6)


def test_tsne_separates_clusters_and_is_seeded(rng):
    from zshbench.methods.imh.tsne import tsne

    # 30 points: the reference rate 500 is tuned for hundreds of points and overshoots on so few; 50 here
    x = np.vstack([rng.standard_normal((15, 5)), rng.standard_normal((15, 5)) + 20.0])
    y, kl = tsne(x, 2, perplexity=5.0, max_iter=300, seed=1, learning_rate=50.0)
    y2, _ = tsne(x, 2, perplexity=5.0, max_iter=300, seed=1, learning_rate=50.0)
    assert np.array_equal(y, y2) and 0 <= kl < 1.0 and np.allclose(y.mean(0), 0.0, atol=1e-9)
    d = np.linalg.norm(y[:, None] - y[None], axis=2)
    within = np.r_[d[:15, :15][np.triu_indices(15, 1)], d[15:, 15:][np.triu_indices(15, 1)]].max()
    assert d[:15, 15:].min() > within  # every cross-cluster pair is farther apart than any within-cluster pair


def test_pca_reduce_keeps_the_leading_directions():
    from zshbench.methods.imh.tsne import pca_reduce

    x = np.array([[0.0, 0.0, 1.0], [2.0, 0.0, 1.0], [4.0, 1.0, 1.0]])
    z = pca_reduce(x, 1)
    # one direction: the centred data's top principal component; projections are centred, and 3-d input with
    # dims >= 3 is only centred
    assert z.shape == (3, 1) and np.isclose(z.sum(), 0.0) and np.allclose(pca_reduce(x, 5), x - x.mean(0))


@pytest.mark.slow
def test_on_shapes_at_64_bits_well_above_chance_below_lsh(tmp_path):
    """measured (seed 0, pixel features): imh 0.1114 map@5000 on shapes-zsh at 64 bits, lsh 0.1338, random codes
    0.038 (the unseen classes' share of the database: 0.036). IMH-tSNE does NOT beat LSH here (see the README's
    "Measured"); the test holds what it does: three times chance, and within 0.05 of LSH."""
    from zshbench.runner import run
    from zshbench.runner.prepare import prepare

    prep = prepare("imh", "shapes", device="cpu")
    labels, split = prep.dataset.labels, prep.split
    chance = float(np.mean([(labels[split.database] == c).mean() for c in labels[split.query]]))
    res = {}
    for m in ("lsh", "imh"):
        (rec,) = run(m, "shapes", bits=[64], seeds=[0], results_dir=tmp_path, progress=False, device="cpu")
        res[m] = rec.metrics["map@5000"]
    assert res["imh"] > 3 * chance and res["imh"] > res["lsh"] - 0.05, (res, chance)
