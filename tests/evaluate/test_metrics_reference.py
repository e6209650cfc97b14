"""Every metric against pure-Python brute force on many small random cases, on every backend."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from zshbench.evaluate import evaluate
from zshbench.evaluate import reference as ref
from zshbench.evaluate.kernels import jit_enabled

# "numba" runs the vector kernels (codes of <= 64 bits), "numba-scalar" the scalar ones
BACKENDS = ["numpy", "torch"] + (["numba", "numba-scalar"] if jit_enabled() else [])
try:
    import faiss  # noqa: F401

    BACKENDS += ["faiss", "faiss-scalar"]
except ImportError:  # pragma: no cover
    pass


def _run(*args, backend, **kwargs):
    name, _, kern = backend.partition("-")
    res = evaluate(*args, backend=name, kernels=kern or None, **kwargs)
    if name in ("numba", "faiss") and jit_enabled():
        assert res.info["kernels"] == (kern or "vector")
    return res


ALL = [
    "map@k",
    "map@all",
    "tie_aware_map@k",
    "tie_aware_map@all",
    "map@k:relevant_first",
    "map@k:relevant_last",
    "map@all:relevant_first",
    "map@all:relevant_last",
    "precision@hamming{r}",
    "pr_auc",
]


def _case(rng, trial):
    """Tiny random case; low bit counts give heavy ties, some queries have no relevant item."""
    nq, nd, nb = int(rng.integers(1, 5)), int(rng.integers(1, 10)), int(rng.integers(1, 6))
    q = rng.integers(0, 2, (nq, nb))
    d = rng.integers(0, 2, (nd, nb))
    if trial % 3 == 0:
        ql, dl = rng.integers(0, 4, nq), rng.integers(0, 4, nd)
    else:
        ql, dl = rng.integers(0, 2, (nq, 3)), (rng.random((nd, 3)) < 0.3).astype(int)
    k = int(rng.choice([1, 2, int(rng.integers(1, nd + 1)), nd, nd + 3]))
    return q, d, ql, dl, k


def _check(res, expected, k, r):
    m = res.metrics
    pairs = {
        f"map@{k}": expected["map@k"],
        "map@all": expected["map@all"],
        f"tie_aware_map@{k}": expected["tie@k"],
        "tie_aware_map@all": expected["tie@all"],
        f"map@{k}:relevant_first": expected["max@k"],
        f"map@{k}:relevant_last": expected["min@k"],
        "map@all:relevant_first": expected["max@all"],
        "map@all:relevant_last": expected["min@all"],
        f"precision@hamming{r}": expected["p@r"],
    }
    for name, value in pairs.items():
        assert m[name] == pytest.approx(value, abs=1e-12), name
    assert res.curves["pr_by_radius"]["precision"] == pytest.approx(expected["prec_r"], abs=1e-12)
    assert res.curves["pr_by_radius"]["recall"] == pytest.approx(expected["rec_r"], abs=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_metrics_match_brute_force(backend):
    rng = np.random.default_rng(1234)
    for trial in range(60):
        q, d, ql, dl, k = _case(rng, trial)
        r = min(2, q.shape[1])
        expected = ref.brute_force(q, d, ql, dl, k, radius=r)
        names = [n.format(r=r) for n in ALL]
        res = _run(q * 2 - 1, d * 2 - 1, ql, dl, k=k, metrics=names, backend=backend)
        _check(res, expected, k, r)


def test_no_relevant_item_anywhere_counts_as_zero():
    q = np.array([[0, 1, 1], [1, 1, 1]])
    d = np.array([[0, 1, 1], [0, 0, 0], [1, 1, 1]])
    res = evaluate(q, d, np.array([0, 9]), np.array([0, 1, 0]), k=2)
    # query 0: top 2 = items 0 (rel, d=0), 2 (rel, d=1) -> AP 1; query 1 has no relevant item -> 0
    assert res.metrics["map@2"] == pytest.approx(0.5)
    assert res.metrics["map@all"] == pytest.approx(0.5)


def test_precision_at_n_recall_at_n_are_expected_counts():
    rng = np.random.default_rng(7)
    q, d = rng.integers(0, 2, (4, 3)), rng.integers(0, 2, (12, 3))
    ql, dl = rng.integers(0, 3, 4), rng.integers(0, 3, 12)
    res = evaluate(q, d, ql, dl, k=5, metrics=["map@k"])
    curve = res.curves["precision_at_n"]
    assert curve["n"] == [1, 2, 5, 10, 12]
    for n_val, p in zip(curve["n"], curve["precision"]):
        exp = np.mean(
            [
                ref.expected_rel_at_n(
                    [ref._dist(q[i], d[j]) for j in range(12)], [ql[i] == dl[j] for j in range(12)], n_val
                )
                / n_val
                for i in range(4)
            ]
        )
        assert p == pytest.approx(exp, abs=1e-12)
    rec = res.curves["recall_at_n"]["recall"]
    assert np.all(np.diff(rec) >= -1e-15)
    n_rel = np.array([(ql[i] == dl).sum() for i in range(4)])
    assert rec[-1] == pytest.approx(np.mean(n_rel > 0))


def test_map_all_matches_sklearn_when_distances_are_distinct():
    rng = np.random.default_rng(3)
    n_bits, n_db = 12, 13
    for _ in range(20):
        # database at distances 0..12 from the query (distinct), in random index order
        qbits = rng.integers(0, 2, n_bits)
        dists = rng.permutation(n_db)
        d = np.array([np.where(np.arange(n_bits) < dist, 1 - qbits, qbits) for dist in dists])
        rel = rng.integers(0, 2, n_db)
        rel[rng.integers(n_db)] = 1
        res = evaluate(qbits[None, :], d, np.array([1]), rel, k=n_db, metrics=["map@all", "tie_aware_map@all"])
        expected = average_precision_score(rel, -dists)
        assert res.metrics["map@all"] == pytest.approx(expected, abs=1e-12)
        assert res.metrics["tie_aware_map@all"] == pytest.approx(expected, abs=1e-12)


def test_calc_top_map_reference_agrees_on_medium_case():
    rng = np.random.default_rng(11)
    q = rng.integers(0, 2, (40, 16))
    d = rng.integers(0, 2, (700, 16))
    ql, dl = rng.integers(0, 5, 40), rng.integers(0, 5, 700)
    onehot = np.eye(5, dtype=int)
    for k in (1, 37, 300, 700, 5000):
        expected = ref.calc_top_map(q * 2 - 1, d * 2 - 1, onehot[ql], onehot[dl], k)
        for backend in BACKENDS:
            res = _run(q, d, ql, dl, k=k, metrics=["map@k"], backend=backend)
            assert res.metrics[f"map@{k}"] == pytest.approx(expected, abs=1e-12), (backend, k)


def test_tie_aware_equals_stable_without_ties_and_sits_between_bounds():
    rng = np.random.default_rng(5)
    q = rng.integers(0, 2, (30, 4))
    d = rng.integers(0, 2, (200, 4))  # 4 bits, 200 items: huge tie groups
    ql, dl = rng.integers(0, 3, 30), rng.integers(0, 3, 200)
    m = evaluate(q, d, ql, dl, k=50).metrics
    assert m["map@50:relevant_last"] - 1e-12 <= m["tie_aware_map@50"] <= m["map@50:relevant_first"] + 1e-12
    assert m["map@50:relevant_last"] < m["map@50:relevant_first"]
    assert m["map@50:relevant_last"] - 1e-12 <= m["map@50"] <= m["map@50:relevant_first"] + 1e-12
