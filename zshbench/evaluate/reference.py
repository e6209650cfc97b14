"""Slow, obviously-correct references for tests and benchmarks.

* `calc_top_map`: the DeepHash-pytorch ``CalcTopMap`` convention (per query: +-1 inner-product Hamming
  distance, full argsort, relevance over the whole database), here with a *stable* sort.
* `brute_force`: every metric of `zshbench.evaluate` in pure Python on unpacked codes; tie-aware AP and the
  optimistic / pessimistic bounds by exhaustive enumeration of all orderings inside tie groups (tiny cases only).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

__all__ = [
    "calc_top_map",
    "stable_order",
    "ap_at_k",
    "tie_aware_ap_enumerate",
    "ap_range_enumerate",
    "brute_force",
    "expected_rel_at_n",
]


def calc_top_map(
    q_pm1: np.ndarray, db_pm1: np.ndarray, q_labels: np.ndarray, db_labels: np.ndarray, topk: int
) -> float:
    """DeepHash-style mAP@topk with a stable sort.

    Args:
        q_pm1: (n_query, n_bits) +-1 codes.
        db_pm1: (n_db, n_bits) +-1 codes.
        q_labels: (n_query, n_classes) 0/1 matrix.
        db_labels: (n_db, n_classes) 0/1 matrix.
        topk: cut-off.
    """
    n_bits = q_pm1.shape[1]
    total = 0.0
    dbf = db_pm1.astype(np.float32)
    dbl = db_labels.astype(np.float32).T
    for i in range(q_pm1.shape[0]):
        gnd = (q_labels[i].astype(np.float32) @ dbl > 0).astype(np.float32)
        hamm = 0.5 * (n_bits - dbf @ q_pm1[i].astype(np.float32))
        ind = np.argsort(hamm, kind="stable")
        tgnd = gnd[ind][:topk]
        tsum = int(tgnd.sum())
        if tsum == 0:
            continue
        count = np.linspace(1, tsum, tsum)
        tindex = np.asarray(np.where(tgnd == 1)).ravel() + 1.0
        total += float(np.mean(count / tindex))
    return total / q_pm1.shape[0]


def _dist(a, b) -> int:
    return sum(1 for x, y in zip(a, b) if x != y)


def _rel(qa, da) -> bool:
    if np.ndim(qa) == 0:
        return bool(qa == da)
    return any(int(x) and int(y) for x, y in zip(qa, da))


def stable_order(dists) -> list[int]:
    """Indices sorted by (distance, index)."""
    return sorted(range(len(dists)), key=lambda j: (dists[j], j))


def ap_at_k(rel_sorted, k: int) -> float:
    """AP of a ranked 0/1 relevance list, truncated at k (hashing convention)."""
    hits, s = 0, 0.0
    for i, r in enumerate(rel_sorted[:k], start=1):
        if r:
            hits += 1
            s += hits / i
    return s / hits if hits else 0.0


def tie_aware_ap_enumerate(dists, rels, k: int) -> float:
    """Mean AP@k over ALL orderings of the items inside every tie group (exact, exponential cost)."""
    groups = {}
    for j, d in enumerate(dists):
        groups.setdefault(d, []).append(rels[j])
    keys = sorted(groups)
    total, count = Fraction(0), 0
    for combo in itertools.product(*(itertools.permutations(groups[d]) for d in keys)):
        seq = [r for part in combo for r in part]
        hits, s = 0, Fraction(0)
        for i, r in enumerate(seq[:k], start=1):
            if r:
                hits += 1
                s += Fraction(hits, i)
        total += s / hits if hits else 0
        count += 1
    return float(total / count)


def ap_range_enumerate(dists, rels, k: int) -> tuple[float, float]:
    """(max, min) of AP@k over ALL orderings of the items inside every tie group (exact, exponential cost).

    AP depends only on where the relevant items sit, so each group contributes its C(n, m) placements of
    relevant items rather than its n! orders.
    """
    groups = {}
    for j, d in enumerate(dists):
        groups.setdefault(d, []).append(bool(rels[j]))
    layouts = []
    for d in sorted(groups):
        n, m = len(groups[d]), sum(groups[d])
        layouts.append([[i in pos for i in range(n)] for pos in itertools.combinations(range(n), m)])
    best, worst = None, None
    for combo in itertools.product(*layouts):
        seq = [r for part in combo for r in part]
        hits, s = 0, Fraction(0)
        for i, r in enumerate(seq[:k], start=1):
            if r:
                hits += 1
                s += Fraction(hits, i)
        ap = s / hits if hits else Fraction(0)
        best = ap if best is None else max(best, ap)
        worst = ap if worst is None else min(worst, ap)
    return float(best), float(worst)


def brute_force(q_bits, db_bits, q_labels, db_labels, k: int, radius: int = 2, enumerate_ties: bool = True):
    """All metrics in pure Python.

    Args:
        q_bits, db_bits: (n, n_bits) 0/1 arrays.
        q_labels, db_labels: 1-D classes or 2-D 0/1 matrices.
        k: map@k cut-off.
        radius: Hamming radius of precision@hamming.
        enumerate_ties: also compute tie-aware AP and the bounds by enumeration (skip for big tie groups).

    Returns:
        dict with per-metric means and the per-radius precision/recall curves: ``map@k``/``map@all`` (stable),
        ``first@k``/``last@k``/``first@all``/``last@all`` (the relevant-first / relevant-last orders),
        ``max@k``/``min@k``/``max@all``/``min@all`` (the bounds over all orders), ``tie@k``/``tie@all``,
        ``p@r``, ``prec_r`` and ``rec_r``.
    """
    n_bits = len(q_bits[0])
    n_db = len(db_bits)
    out = {
        key: 0.0
        for key in (
            "map@k",
            "map@all",
            "first@k",
            "last@k",
            "first@all",
            "last@all",
            "max@k",
            "min@k",
            "max@all",
            "min@all",
            "tie@k",
            "tie@all",
            "p@r",
        )
    }
    prec_r = [0.0] * (n_bits + 1)
    rec_r = [0.0] * (n_bits + 1)
    nq = len(q_bits)
    for i in range(nq):
        dists = [_dist(q_bits[i], db_bits[j]) for j in range(n_db)]
        rels = [_rel(q_labels[i], db_labels[j]) for j in range(n_db)]
        order = stable_order(dists)
        seq = [rels[j] for j in order]
        out["map@k"] += ap_at_k(seq, k)
        out["map@all"] += ap_at_k(seq, n_db)
        first = sorted(range(n_db), key=lambda j: (dists[j], not rels[j], j))
        last = sorted(range(n_db), key=lambda j: (dists[j], rels[j], j))
        out["first@k"] += ap_at_k([rels[j] for j in first], k)
        out["last@k"] += ap_at_k([rels[j] for j in last], k)
        out["first@all"] += ap_at_k([rels[j] for j in first], n_db)
        out["last@all"] += ap_at_k([rels[j] for j in last], n_db)
        if enumerate_ties:
            out["tie@k"] += tie_aware_ap_enumerate(dists, rels, k)
            out["tie@all"] += tie_aware_ap_enumerate(dists, rels, n_db)
            for cut, name in ((k, "@k"), (n_db, "@all")):
                hi, lo = ap_range_enumerate(dists, rels, cut)
                out["max" + name] += hi
                out["min" + name] += lo
        n_rel = sum(rels)
        for r in range(n_bits + 1):
            got = [j for j in range(n_db) if dists[j] <= r]
            good = sum(rels[j] for j in got)
            prec_r[r] += good / len(got) if got else 0.0
            rec_r[r] += good / n_rel if n_rel else 0.0
        within = [j for j in range(n_db) if dists[j] <= radius]
        out["p@r"] += sum(rels[j] for j in within) / len(within) if within else 0.0
    res = {key: v / nq for key, v in out.items()}
    res["prec_r"] = [v / nq for v in prec_r]
    res["rec_r"] = [v / nq for v in rec_r]
    return res


def expected_rel_at_n(dists, rels, n: int) -> float:
    """Expected number of relevant items in the top n when ties are ordered at random (exact)."""
    order = stable_order(dists)
    dn = dists[order[n - 1]]
    before = [j for j in range(len(dists)) if dists[j] < dn]
    group = [j for j in range(len(dists)) if dists[j] == dn]
    take = n - len(before)
    return sum(rels[j] for j in before) + take * sum(rels[j] for j in group) / len(group)
