"""Rank statistics computed in closed form from per-query distance histograms.

For one query let ``n[d]`` be the number of database items at Hamming distance ``d`` and ``m[d]`` the number of
relevant ones; ``A[d] = sum(n[:d])`` and ``Rb[d] = sum(m[:d])`` count what precedes bucket ``d`` in the ranking.
Everything here is vectorised over a block of queries: histograms are ``(B, K + 1)`` integer arrays.
The derivations are in ``docs/metrics.md``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "harmonic_diff",
    "run_sum",
    "group_sum",
    "cut_point",
    "bound_ap",
    "tie_aware_ap",
    "expected_rel_at",
    "radius_pr",
]

_SMALL = 64
_H_SMALL = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, _SMALL + 1, dtype=np.float64))])
_EULER = 0.57721566490153286061


def _harmonic_big(n: np.ndarray) -> np.ndarray:
    """H_n = psi(n + 1) + gamma for n >= _SMALL (asymptotic series, error < 1e-17)."""
    x = n + 1.0
    x2 = 1.0 / (x * x)
    return np.log(x) - 0.5 / x - x2 * (1 / 12 - x2 * (1 / 120 - x2 * (1 / 252 - x2 / 240))) + _EULER


def harmonic_diff(s, c) -> np.ndarray:
    """``sum_{i=s+1}^{s+c} 1/i`` to near machine precision, also when it is tiny compared with ``H_s``.

    Short sums (c <= 64) are added term by term; long ones use ``H_{s+c} - H_s`` (no cancellation: the
    difference is >= 0.6) when s < 64, and a cancellation-free psi asymptotic expansion otherwise.

    Args:
        s: offsets (>= 0), array-like.
        c: counts (>= 0), array-like, broadcastable with ``s``.

    Returns:
        float64 array.
    """
    s = np.asarray(s, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    s, c = np.broadcast_arrays(s, c)
    out = np.zeros(s.shape)
    short = c <= _SMALL
    if short.any():
        ss, cc = s[short], c[short]
        acc = np.zeros(ss.shape)
        for i in range(int(cc.max()), 0, -1):  # smallest terms first
            acc += np.where(cc >= i, 1.0 / (ss + i), 0.0)
        out[short] = acc
    small = ~short & (s < _SMALL)
    if small.any():
        out[small] = _harmonic_big(s[small] + c[small]) - _H_SMALL[s[small].astype(np.int64)]
    big = ~short & ~small
    if big.any():
        out[big] = _psi_diff(s[big] + 1.0, c[big])
    return out


def _psi_diff(a: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """psi(a + c) - psi(a) for a >= 65 (asymptotic expansion, every difference written without cancellation);
    accurate for any c >= 0, short sums included."""
    el = np.log1p(cc / a)
    val = el + cc / (2.0 * a * (a + cc))
    for coef, p in ((-1 / 12, 2), (1 / 120, 4), (-1 / 252, 6), (1 / 240, 8)):
        val += coef * a ** (-p) * np.expm1(-p * el)
    return val


def _harmonic_diff_fast(s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """`harmonic_diff` without the term-by-term loop wherever s >= 64 (`_psi_diff` is as accurate there), for
    the comparisons of the bisection in `bound_ap`; no reported value is computed with it."""
    s = np.asarray(s, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    out = np.zeros(s.shape)
    far = s >= _SMALL
    out[far] = _psi_diff(s[far] + 1.0, c[far])
    if not far.all():
        out[~far] = harmonic_diff(s[~far], c[~far])
    return out


def run_sum(r0, s, c) -> np.ndarray:
    """``sum_{i=1}^{c} (r0 + i) / (s + i)``: precisions of ``c`` consecutive relevant items after ``s`` items,
    ``r0`` of them relevant (requires ``s >= r0``)."""
    r0 = np.asarray(r0, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    return c - (s - r0) * harmonic_diff(s, c)


def group_sum(a, rb, n, m) -> np.ndarray:
    """Expected sum of precisions at the relevant items of a tie group under a uniformly random order.

    The group holds ``n`` items, ``m`` relevant, after ``a`` items of which ``rb`` are relevant. The item at
    group position j is relevant with probability m/n and, given that, has (j-1)(m-1)/(n-1) relevant items
    before it inside the group in expectation (He et al., CVPR 2018), so the sum is
    ``(m/n) * sum_j (rb + 1 + (j-1)(m-1)/(n-1)) / (a + j)``.
    """
    a = np.asarray(a, dtype=np.float64)
    rb = np.asarray(rb, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    h = harmonic_diff(a, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n > 1, (m - 1.0) / np.maximum(n - 1.0, 1.0), 0.0)
        val = (m / n) * ((rb + 1.0) * h + frac * (n - (a + 1.0) * h))
    return np.where((m > 0) & (n > 0), val, 0.0)


def cut_point(hist_all: np.ndarray, k: int):
    """Bucket where the cut-off ``k`` falls.

    Returns:
        ``(dstar, r, before)``: per query the bucket index ``d*`` holding position ``min(k, N)``, the number
        ``r >= 1`` of its items inside the top k, and the (B, K+1) mask of buckets ``d < d*``.
    """
    cum = np.cumsum(hist_all, axis=1)
    kk = min(int(k), int(cum[0, -1]))
    dstar = np.argmax(cum >= kk, axis=1)
    rows = np.arange(hist_all.shape[0])
    r = kk - (cum[rows, dstar] - hist_all[rows, dstar])
    before = np.arange(hist_all.shape[1])[None, :] < dstar[:, None]
    return dstar, r, before


def _prefix(hist: np.ndarray) -> np.ndarray:
    return np.cumsum(hist, axis=1) - hist


def _ratio(num, den):
    return np.where(den > 0, num / np.maximum(den, 1), 0.0)


def bound_ap(hist_all: np.ndarray, hist_rel: np.ndarray, k: int, relevant_first: bool) -> np.ndarray:
    """Largest (``relevant_first``) or smallest AP@k over every order of the items inside the tie groups.

    Inside a tie group wholly within the top k' = min(k, N), relevant items first (last) is optimal whatever
    the other groups do: it maximises (minimises) the precision at each of the group's relevant items and
    changes nothing else. In the group cut by k, ``r`` positions are admitted and the number ``x`` of relevant
    items among them can range over ``[lo, hi] = [max(0, r - (n* - m*)), min(r, m*)]``; with the hashing
    normaliser (relevant items retrieved) admitting a relevant item at a low precision *lowers* AP@k, so the
    bound is an optimum over ``x``, with relevant first (last) inside the admitted part:

    * max: ``f(x) = (S_first + run_sum(Rb*, A*, x)) / (Rb* + x)``, whose increments ``(Rb* + x + 1)/(A* + x + 1)``
      do not decrease, so ``f`` falls then rises and its maximum is at ``lo`` or ``hi``;
    * min: ``g(x) = (S_last + run_sum(Rb*, T - x, x)) / (Rb* + x)`` with ``T = A* + r``, whose numerator has
      non-decreasing increments ``(Rb* + 1)/(T - x) + sum_{T-x < i <= T} 1/i``, so ``g`` falls then rises
      and its minimum is the first ``x`` where the increment reaches ``g(x)`` (bisection).

    When the cut does not split a group (k on a group boundary, k >= N) ``lo == hi`` and the value is the
    plain relevant-first (relevant-last) order, computed exactly as before the search was added. See
    ``docs/metrics.md``; ``tests/evaluate`` checks the bounds against enumeration of every order.
    """
    n, m = hist_all.astype(np.int64), hist_rel.astype(np.int64)
    dstar, r, before = cut_point(n, k)
    at = np.arange(n.shape[1])[None, :] == dstar[:, None]
    a, rb = _prefix(n), _prefix(m)
    s = a if relevant_first else a + n - m
    if relevant_first:
        c = np.where(before, m, np.where(at, np.minimum(r[:, None], m), 0))
    else:
        c = np.where(before, m, np.where(at, np.maximum(0, r[:, None] - (n - m)), 0))
    terms = run_sum(rb, s, c)
    total = terms.sum(axis=1)
    n_rel = c.sum(axis=1)
    plain = _ratio(total, n_rel)  # relevant first (last) in every group, the cut group included
    rows = np.arange(n.shape[0])
    nc, mc, ac, rbc = n[rows, dstar], m[rows, dstar], a[rows, dstar], rb[rows, dstar]
    lo, hi = np.maximum(0, r - (nc - mc)), np.minimum(r, mc)
    sel = np.nonzero(lo < hi)[0]  # queries with a choice in the cut group
    if sel.size == 0:
        return plain
    s_before = np.where(before[sel], terms[sel], 0.0).sum(axis=1)  # the groups wholly inside the top k'
    lo, hi, r, ac, rbc = lo[sel], hi[sel], r[sel], ac[sel], rbc[sel]
    out = plain.copy()
    if relevant_first:  # plain is f(hi); the other candidate is f(lo)
        f_lo = _ratio(s_before + run_sum(rbc, ac, lo), rbc + lo)
        out[sel] = np.where(f_lo > plain[sel], f_lo, plain[sel])
        return out
    t_end = ac + r
    # bisection for the first x in [lo, hi] where g rises, g(x + 1) >= g(x), i.e. where the increment of the
    # numerator reaches g(x) (hi if none); only the rows still open are evaluated
    left, right = lo.copy(), hi.copy()
    open_ = np.nonzero(left < right)[0]
    while open_.size:
        lft, rgt = left[open_], right[open_]
        mid = (lft + rgt) // 2
        sb, rc, te = s_before[open_], rbc[open_], t_end[open_]
        h = _harmonic_diff_fast(te - mid, mid)
        g_mid = _ratio(sb + mid - (te - mid - rc) * h, rc + mid)
        up = (rc + 1.0) / (te - mid) + h >= g_mid
        right[open_] = np.where(up, mid, rgt)
        left[open_] = np.where(up, lft, mid + 1)
        open_ = open_[left[open_] < right[open_]]
    # g at the point found and its neighbours (a guard against rounding in the comparisons), in one call;
    # x = lo is `plain`, kept as computed there
    xs = np.stack([left - 1, left, left + 1])
    ok = (xs > lo) & (xs <= hi)
    xs = np.clip(xs, lo, hi)
    g = _ratio(s_before + run_sum(rbc, t_end - xs, xs), rbc + xs)
    best = np.where(ok, g, np.inf).min(axis=0)
    out[sel] = np.where(best < plain[sel], best, plain[sel])
    return out


def _log_comb(n, k):
    from scipy.special import gammaln  # here, not at the top: importing the package stays light

    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)


def tie_aware_ap(hist_all: np.ndarray, hist_rel: np.ndarray, k: int) -> np.ndarray:
    """Exact expected AP@k when every tie group is ordered uniformly at random.

    Full groups before the cut contribute ``E[S] = sum group_sum`` whatever the normaliser; the cut group
    admits ``X ~ Hypergeometric(n*, m*, r)`` relevant items, uniformly placed among its first ``r`` positions,
    so ``E[AP@k] = sum_x P(X=x) (E[S] + group_sum(A*, Rb*, r, x)) / (Rb* + x)`` (terms with a zero
    normaliser are 0).
    """
    n, m = hist_all.astype(np.int64), hist_rel.astype(np.int64)
    bsz = n.shape[0]
    rows = np.arange(bsz)
    dstar, r, before = cut_point(n, k)
    a, rb = _prefix(n), _prefix(m)
    es = np.where(before, group_sum(a, rb, n, m), 0.0).sum(axis=1)
    nc, mc, ac, rbc = n[rows, dstar], m[rows, dstar], a[rows, dstar], rb[rows, dstar]
    lo = np.maximum(0, r - (nc - mc))
    hi = np.minimum(r, mc)
    length = hi - lo + 1
    qi = np.repeat(rows, length)
    start = np.cumsum(length) - length
    x = lo[qi] + (np.arange(qi.size) - start[qi])
    logp = _log_comb(mc[qi], x) + _log_comb(nc[qi] - mc[qi], r[qi] - x) - _log_comb(nc[qi], r[qi])
    p = np.exp(logp)
    p /= np.bincount(qi, weights=p, minlength=bsz)[qi]  # removes the rounding of the normalising constant
    g = group_sum(ac[qi], rbc[qi], r[qi], x)
    den = rbc[qi] + x
    val = np.where(den > 0, p * (es[qi] + g) / np.maximum(den, 1), 0.0)
    return np.bincount(qi, weights=val, minlength=bsz)


def expected_rel_at(hist_all: np.ndarray, hist_rel: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Expected number of relevant items in the top N (ties in random order) for every N of ``grid``.

    Returns:
        float64 (B, len(grid)).
    """
    n, m = hist_all.astype(np.int64), hist_rel.astype(np.int64)
    cum, cumr = np.cumsum(n, axis=1), np.cumsum(m, axis=1)
    rows = np.arange(n.shape[0])[:, None]
    grid = np.asarray(grid, dtype=np.int64)[None, :]
    d = (cum[:, :, None] < grid[:, None, :]).sum(axis=1)  # (B, G) bucket of position N
    d = np.minimum(d, n.shape[1] - 1)
    a = cum[rows, d] - n[rows, d]
    rb = cumr[rows, d] - m[rows, d]
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(n[rows, d] > 0, (grid - a) * m[rows, d] / np.maximum(n[rows, d], 1), 0.0)
    return rb + part


def radius_pr(hist_all: np.ndarray, hist_rel: np.ndarray):
    """Per-query precision and recall of retrieving everything within Hamming radius 0..K.

    Precision is 0 when nothing lies within the radius, recall is 0 for a query with no relevant item.

    Returns:
        ``(precision, recall)``, float64 (B, K+1) each.
    """
    cum, cumr = np.cumsum(hist_all, axis=1), np.cumsum(hist_rel, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(cum > 0, cumr / np.maximum(cum, 1), 0.0)
        total = cumr[:, -1:]
        rec = np.where(total > 0, cumr / np.maximum(total, 1), 0.0)
    return prec, rec
