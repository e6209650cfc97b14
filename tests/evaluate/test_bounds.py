"""map@k:relevant_first / map@k:relevant_last are the max / min of AP@k over every order inside tie groups."""

import numpy as np
import pytest

from zshbench.evaluate import evaluate, ranking
from zshbench.evaluate import reference as ref


def _hist(dists, rels, n_bits):
    h_all = np.bincount(dists, minlength=n_bits + 1)[None, :]
    h_rel = np.bincount(dists, weights=np.asarray(rels, dtype=float), minlength=n_bits + 1).astype(np.int64)[None, :]
    return h_all, h_rel


def _plain(dists, rels, k, relevant_first):
    """AP@k of the relevant-first (relevant-last) order: what the bounds were before metric version 2."""
    order = sorted(range(len(dists)), key=lambda j: (dists[j], (not rels[j]) if relevant_first else rels[j], j))
    return ref.ap_at_k([rels[j] for j in order], k)


def test_review_counter_example():
    # evaluator review F1: distances [3, 4, 4, 2], relevant [0, 1, 0, 1], k = 3 cuts the tie group at d = 4
    q = np.array([[0, 0, 0, 0]])
    db = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]])
    m = evaluate(q, db, np.array([0]), np.array([1, 0, 1, 0]), k=3).metrics
    assert m["map@3"] == pytest.approx(5 / 6)  # stable: R(d=2), N(d=3), R(d=4)
    assert m["tie_aware_map@3"] == pytest.approx(11 / 12)
    assert m["map@3:relevant_first"] == pytest.approx(1.0)  # admitting the non-relevant item is best
    assert m["map@3:relevant_last"] == pytest.approx(5 / 6)
    assert m["map@3:relevant_last"] - 1e-12 <= m["map@3"] <= m["map@3:relevant_first"] + 1e-12


def test_bounds_equal_enumeration_of_every_order():
    """Exhaustive: max / min over all placements of relevant items inside every tie group, tiny random cases."""
    rng = np.random.default_rng(20261130)
    changed = {True: 0, False: 0}
    for trial in range(1500):
        n_bits = int(rng.integers(1, 5))
        n_db = int(rng.integers(1, 11))
        dists = rng.integers(0, n_bits + 1, n_db)
        rels = rng.random(n_db) < rng.choice([0.2, 0.5, 0.8])
        k = int(rng.integers(1, n_db + 2))
        hi, lo = ref.ap_range_enumerate(dists.tolist(), rels.tolist(), k)
        h_all, h_rel = _hist(dists, rels, n_bits)
        got_hi = ranking.bound_ap(h_all, h_rel, k, True)[0]
        got_lo = ranking.bound_ap(h_all, h_rel, k, False)[0]
        assert got_hi == pytest.approx(hi, abs=1e-14), (trial, dists, rels, k)
        assert got_lo == pytest.approx(lo, abs=1e-14), (trial, dists, rels, k)
        for first in (True, False):
            changed[first] += abs(_plain(dists, rels, k, first) - (hi if first else lo)) > 1e-12
    # the plain orders are not the bounds in a good share of these cases: the test can tell them apart
    assert changed[True] > 20 and changed[False] > 20, changed


def test_bounds_bracket_stable_and_tie_aware_per_query():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n_bits = int(rng.integers(2, 6))
        n_db = int(rng.integers(1, 60))
        q, d = rng.integers(0, 2, (1, n_bits)), rng.integers(0, 2, (n_db, n_bits))
        dl = rng.integers(0, 3, n_db)
        k = int(rng.integers(1, n_db + 3))
        m = evaluate(
            q,
            d,
            np.array([0]),
            dl,
            k=k,
            metrics=["map@k", "tie_aware_map@k", "map@k:relevant_first", "map@k:relevant_last"],
        ).metrics
        lo, hi = m[f"map@{k}:relevant_last"], m[f"map@{k}:relevant_first"]
        assert lo - 1e-12 <= m[f"map@{k}"] <= hi + 1e-12
        assert lo - 1e-12 <= m[f"tie_aware_map@{k}"] <= hi + 1e-12


def _scan(n, m, k, relevant_first):
    """max / min over every admitted count x by direct summation (no closed forms, no search)."""
    cum = np.cumsum(n)
    kk = min(k, int(cum[-1]))
    ds = int(np.argmax(cum >= kk))
    a, rb = int(cum[ds] - n[ds]), int(m[:ds].sum())
    s_before, pos, cnt = 0.0, 0, 0
    for d in range(ds):
        layout = [1] * m[d] + [0] * (n[d] - m[d]) if relevant_first else [0] * (n[d] - m[d]) + [1] * m[d]
        for r_ in layout:
            pos += 1
            if r_:
                cnt += 1
                s_before += cnt / pos
    r = kk - a
    vals = []
    for x in range(max(0, r - (n[ds] - m[ds])), min(r, m[ds]) + 1):
        layout = [1] * x + [0] * (r - x) if relevant_first else [0] * (r - x) + [1] * x
        s, c = s_before, rb
        for i, r_ in enumerate(layout, start=a + 1):
            if r_:
                c += 1
                s += c / i
        vals.append(s / (rb + x) if rb + x else 0.0)
    return max(vals) if relevant_first else min(vals)


def test_bisection_matches_full_scan_on_large_tie_groups():
    # tie groups of hundreds to thousands of items: the endpoint rule (max) and the bisection (min) against a
    # scan over every admitted count
    rng = np.random.default_rng(11)
    for _ in range(40):
        nb = int(rng.integers(2, 8))
        n = rng.integers(0, 3000, nb + 1)
        n[rng.integers(0, nb + 1)] += 1
        m = (n * rng.random(nb + 1) * rng.choice([0.1, 0.5, 1.0])).astype(np.int64)
        k = int(rng.integers(1, n.sum() + 1))
        for first in (True, False):
            got = ranking.bound_ap(n[None, :], m[None, :], k, first)[0]
            assert got == pytest.approx(_scan(n, m, k, first), rel=1e-12, abs=1e-14)


def test_map_all_bounds_are_the_plain_orders():
    rng = np.random.default_rng(5)
    q, d = rng.integers(0, 2, (20, 4)), rng.integers(0, 2, (150, 4))
    ql, dl = rng.integers(0, 3, 20), rng.integers(0, 3, 150)
    for k in (150, 5000):  # k >= N: no cut, the bounds are the relevant-first / relevant-last orders
        m = evaluate(q, d, ql, dl, k=k, metrics=["map@all:relevant_first", "map@all:relevant_last"]).metrics
        dist = (q[:, None, :] != d[None, :, :]).sum(axis=2)
        rel = ql[:, None] == dl[None, :]
        for name, first in (("map@all:relevant_first", True), ("map@all:relevant_last", False)):
            exp = np.mean([_plain(dist[i].tolist(), rel[i].tolist(), 150, first) for i in range(20)])
            assert m[name] == pytest.approx(exp, abs=1e-12)


def test_fast_harmonic_difference_of_the_bisection():
    # the bisection compares with a loop-free psi expansion; it must agree with harmonic_diff everywhere
    rng = np.random.default_rng(4)
    s = np.concatenate([rng.integers(0, 200, 500), rng.integers(64, 10**7, 500)])
    c = np.concatenate([rng.integers(0, 70, 500), rng.integers(0, 10**5, 500)])
    np.testing.assert_allclose(ranking._harmonic_diff_fast(s, c), ranking.harmonic_diff(s, c), rtol=1e-14, atol=0)
