"""Compiled kernels for codes of at most 64 bits: bit-sliced histograms, a vector filter, an index-order sweep.

All three produce exactly the numbers of the scalar kernels in `zshbench.evaluate.kernels` (same integer
counts, same floating point operations in the same order); they are faster because they avoid one scattered
counter increment per (query, item) pair wherever the result allows it.

* `bitsliced_hist`: per query, the histograms of distances over the relevant and non-relevant items. Eight
  items at a time (one 512-bit vector of database words) are XORed with the query word and popcounted; each
  distance ``d`` becomes a one-hot word ``1 << d`` (bins 0..63; bin 64 of 64-bit codes is what remains of the
  known totals), and the one-hot words are summed as *bit-sliced counters*: plane ``p`` holds bit ``p`` of every
  bin's count, per lane, so adding 16 vectors is a carry-save adder tree of bitwise operations (Harley-Seal) and
  no memory counter is touched. A carry out of the top plane (a bin reaching 2**PLANES in one lane) is added to
  an integer histogram. The database is sorted by label group so relevance is constant along a segment;
  `bitsliced_hist_grouped` instead reads the database in index order and selects the relevant items by a
  per-lane compare of group ids (for many short groups, when each query is relevant to one group at most).
* `filter_ap_k`: stable AP@k once the histograms are known. The cut distance ``d*`` is exact, so a vector pass
  compares 64 distances at a time with ``d*`` and only items at distance <= ``d*`` (a few per cent) reach the
  scalar update, in database-index order.
* `sweep_ap`: stable AP over the whole ranking (and AP@k on the way): every item's position inside its distance
  bucket counts, so this stays one scattered increment per pair, 64 items at a time: distances as a byte
  vector, the relevant items of the chunk as a bit mask (a vector compare of group ids when the query is
  relevant to a single group), and each relevant item's position is the bucket count after the chunk minus
  the later items of the chunk at the same distance (byte compare + popcount).

The vector code is generic LLVM IR emitted by the intrinsics of `vector_ir` (``<8 x i64>`` popcount, compare,
shifts), so it compiles on any CPU numba supports; AVX-512 (VPOPCNTQ) makes it fastest. The algorithm and how
to change it safely: ``README.md`` in this folder.
"""

from __future__ import annotations

import numpy as np

from .vector_ir import HAVE_IR, PLANES

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

__all__ = [
    "HAVE_SIMD",
    "PLANES",
    "PAD",
    "bitsliced_hist",
    "bitsliced_hist_grouped",
    "filter_ap_k",
    "sweep_ap",
    "padded_column",
    "padded_groups",
]

HAVE_SIMD = numba is not None and HAVE_IR
PAD = 64  # zero words after a column, so vector loads never read past the allocation
_TILE = 2048


def padded_groups(dbg: np.ndarray) -> np.ndarray:
    """``int32`` (N + PAD,) copy of the group ids, padded (the padding is never counted)."""
    out = np.zeros(dbg.shape[0] + PAD, dtype=np.int32)
    out[: dbg.shape[0]] = dbg
    return out


def padded_column(words: np.ndarray) -> np.ndarray:
    """``uint64`` (N + PAD,) copy of the single word column of (N, 1) codes, zero-padded."""
    out = np.zeros(words.shape[0] + PAD, dtype=np.uint64)
    out[: words.shape[0]] = words[:, 0]
    return out


if HAVE_SIMD:
    from .vector_ir import (
        acc1,
        acc1_64,
        acc1g,
        acc1g_64,
        acc16,
        acc16_64,
        acc16g,
        acc16g_64,
        cttz,
        dist_bytes64,
        eq_mask64,
        group_mask64,
        le_mask64,
        popcnt,
    )

    @numba.njit(nogil=True, cache=True)
    def _spill(state, so, hb):  # pragma: no cover - compiled
        """Add the carry vector stored after the planes (2**PLANES per set bit) to the histogram row."""
        for lane in range(8):
            w = state[so + 8 * PLANES + lane]
            while w != 0:
                hb[cttz(w)] += 1 << PLANES
                w &= w - np.uint64(1)

    @numba.njit(nogil=True, cache=True)
    def _read_planes(state, hist):  # pragma: no cover - compiled
        """Add the counts held in the planes: bin d gets 2**p for bit d of plane p, in every lane."""
        ss = 8 * (PLANES + 1)
        for b in range(hist.shape[0]):
            for r in range(2):
                so = (2 * b + r) * ss
                for p in range(PLANES):
                    for lane in range(8):
                        w = state[so + 8 * p + lane]
                        while w != 0:
                            hist[b, r, cttz(w)] += 1 << p
                            w &= w - np.uint64(1)

    @numba.njit(nogil=True, cache=True)
    def _bitsliced_hist_kernel(qcol, scol, seg, qrel, full64, state, hist):  # pragma: no cover - compiled
        nq = qcol.size
        ss = 8 * (PLANES + 1)
        for g in range(seg.size - 1):
            for c0 in range(seg[g], seg[g + 1], _TILE):
                c1 = min(seg[g + 1], c0 + _TILE)
                for b in range(nq):
                    r = qrel[b, g]
                    so = (2 * b + r) * ss
                    hb = hist[b, r]
                    q = qcol[b]
                    j = c0
                    while j + 128 <= c1:
                        if acc16_64(scol, j, q, state, so) if full64 else acc16(scol, j, q, state, so):
                            _spill(state, so, hb)
                        j += 128
                    while j < c1:
                        if acc1_64(scol, j, q, state, so, c1) if full64 else acc1(scol, j, q, state, so, c1):
                            _spill(state, so, hb)
                        j += 8
        _read_planes(state, hist)

    @numba.njit(nogil=True, cache=True)
    def _bitsliced_grouped_kernel(qcol, col, grp, n, qgroup, full64, state, hist):  # pragma: no cover
        # Database in index order; hist[b, 0] counts all items, hist[b, 1] those of the query's group.
        nq = qcol.size
        ss = 8 * (PLANES + 1)
        for c0 in range(0, n, _TILE):
            c1 = min(n, c0 + _TILE)
            for b in range(nq):
                q = qcol[b]
                g = qgroup[b]
                so = 2 * b * ss
                j = c0
                while j + 128 <= c1:
                    f = acc16g_64(col, grp, j, q, g, state, so) if full64 else acc16g(col, grp, j, q, g, state, so)
                    if f & 1:
                        _spill(state, so, hist[b, 0])
                    if f & 2:
                        _spill(state, so + ss, hist[b, 1])
                    j += 128
                while j < c1:
                    f = (
                        acc1g_64(col, grp, j, q, g, state, so, c1)
                        if full64
                        else acc1g(col, grp, j, q, g, state, so, c1)
                    )
                    if f & 1:
                        _spill(state, so, hist[b, 0])
                    if f & 2:
                        _spill(state, so + ss, hist[b, 1])
                    j += 8
        _read_planes(state, hist)

    @numba.njit(nogil=True, cache=True)
    def _filter_kernel(qcol, col, n, dbg, qrel, base_a, base_r, limit, k, ca, cr, sum_k, nrel_k):
        # pragma: no cover - compiled. Same updates as kernels._ap_kernel, only for items with d <= limit.
        nq = qcol.size
        for c0 in range(0, n, _TILE):
            c1 = min(n, c0 + _TILE)
            for b in range(nq):
                q = qcol[b]
                lim = limit[b]
                for j in range(c0, c1, 64):
                    m = le_mask64(col, j, q, lim)
                    if c1 - j < 64:
                        m &= (np.uint64(1) << np.uint64(c1 - j)) - np.uint64(1)
                    while m != 0:
                        jj = j + cttz(m)
                        m &= m - np.uint64(1)
                        d = popcnt(q ^ col[jj])
                        ca[b, d] += 1
                        if qrel[b, dbg[jj]]:
                            cr[b, d] += 1
                            pos = base_a[b, d] + ca[b, d]
                            prec = (base_r[b, d] + cr[b, d]) / pos
                            if pos <= k:
                                sum_k[b] += prec
                                nrel_k[b] += 1

    @numba.njit(nogil=True, cache=True)
    def _sweep_kernel(qcol, col, n, dbg, qrel, qgroup, base_a, base_r, k, ca, cr, sum_k, nrel_k, sum_all):
        # pragma: no cover - compiled. kernels._ap_kernel with no limit: every item's position within its
        # distance bucket is counted (one scattered increment per pair), 64 items at a time; the relevant items
        # of the chunk (a bit mask) are then scored in index order, their position being the bucket count after
        # the chunk minus the later items of the chunk at the same distance.
        nq = qcol.size
        dist = np.zeros(64, np.uint8)
        for c0 in range(0, n, _TILE):
            c1 = min(n, c0 + _TILE)
            for b in range(nq):
                g = qgroup[b]
                if g == -2:  # no relevant item: AP = 0, nothing to count
                    continue
                q = qcol[b]
                cab = ca[b]
                rel = qrel[b]
                for j in range(c0, c1, 64):
                    dist_bytes64(col, j, q, dist)
                    nv = min(64, c1 - j)
                    valid = np.uint64(0xFFFFFFFFFFFFFFFF)
                    if nv < 64:
                        valid = (np.uint64(1) << np.uint64(nv)) - np.uint64(1)
                    if g >= 0:  # the query is relevant to one group only
                        m = group_mask64(dbg, j, g) & valid
                    else:
                        m = np.uint64(0)
                        for i in range(nv):
                            m |= np.uint64(rel[dbg[j + i]]) << np.uint64(i)
                    for i in range(nv):
                        cab[dist[i]] += 1
                    while m != 0:
                        i = cttz(m)
                        m &= m - np.uint64(1)
                        d = np.int64(dist[i])
                        later = eq_mask64(dist, d) & valid & ~((np.uint64(2) << np.uint64(i)) - np.uint64(1))
                        cr[b, d] += 1
                        pos = base_a[b, d] + cab[d] - popcnt(later)
                        prec = (base_r[b, d] + cr[b, d]) / pos
                        sum_all[b] += prec
                        if pos <= k:
                            sum_k[b] += prec
                            nrel_k[b] += 1


def bitsliced_hist(
    qw: np.ndarray, scol: np.ndarray, seg: np.ndarray, qrel: np.ndarray, n_bits: int, rel_total: np.ndarray, n_db: int
) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of a block of queries against a group-sorted database (codes of <= 64 bits).

    Args:
        qw: ``uint64`` (B, 1) query words.
        scol: `padded_column` of the database words sorted by group.
        seg: ``int64`` (n_groups + 1,) segment starts of the groups in ``scol``.
        qrel: ``uint8`` (B, n_groups) relevance of each query to each group.
        n_bits: code length K <= 64.
        rel_total: ``int64`` (B,) number of relevant items of each query.
        n_db: database size.

    Returns:
        ``(hist_all, hist_rel)``, ``int64`` (B, K + 1) each.
    """
    nq = qw.shape[0]
    state = np.zeros(nq * 2 * 8 * (PLANES + 1), dtype=np.uint64)
    hist = np.zeros((nq, 2, 64), dtype=np.int64)
    _bitsliced_hist_kernel(np.ascontiguousarray(qw[:, 0]), scol, seg, qrel, n_bits == 64, state, hist)
    nd = n_bits + 1
    out = np.zeros((nq, 2, nd), dtype=np.int64)
    out[:, :, : min(nd, 64)] = hist[:, :, : min(nd, 64)]
    if n_bits == 64:  # bin 64 is what the other bins leave of each total
        totals = np.stack([n_db - rel_total, rel_total], axis=1)
        out[:, :, 64] = totals - out[:, :, :64].sum(axis=2)
    return out[:, 0] + out[:, 1], out[:, 1]


def bitsliced_hist_grouped(
    qw: np.ndarray, col: np.ndarray, groups: np.ndarray, qgroup: np.ndarray, n_bits: int, rel_total: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Like `bitsliced_hist` on the database in index order, for queries relevant to one group at most.

    Every item is counted, and a per-lane compare of group ids selects the relevant ones, so short label groups
    (many classes with few items each) cost nothing extra.

    Args:
        qw: ``uint64`` (B, 1) query words.
        col: `padded_column` of the database words in index order.
        groups: `padded_groups` of the database group ids.
        qgroup: ``int64`` (B,) the group each query is relevant to, -1 for none.
        n_bits: code length K <= 64.
        rel_total: ``int64`` (B,) number of relevant items of each query.

    Returns:
        ``(hist_all, hist_rel)``, ``int64`` (B, K + 1) each.
    """
    nq, n_db = qw.shape[0], groups.shape[0] - PAD
    state = np.zeros(nq * 2 * 8 * (PLANES + 1), dtype=np.uint64)
    hist = np.zeros((nq, 2, 64), dtype=np.int64)
    _bitsliced_grouped_kernel(
        np.ascontiguousarray(qw[:, 0]),
        col,
        groups,
        n_db,
        np.ascontiguousarray(qgroup, dtype=np.int64),
        n_bits == 64,
        state,
        hist,
    )
    nd = n_bits + 1
    out = np.zeros((nq, 2, nd), dtype=np.int64)
    out[:, :, : min(nd, 64)] = hist[:, :, : min(nd, 64)]
    if n_bits == 64:
        totals = np.stack([np.full(nq, n_db), rel_total], axis=1)
        out[:, :, 64] = totals - out[:, :, :64].sum(axis=2)
    return out[:, 0], out[:, 1]


def _bases(hist_all, hist_rel):
    return np.cumsum(hist_all, axis=1) - hist_all, np.cumsum(hist_rel, axis=1) - hist_rel


def filter_ap_k(qw, col, dbg, qrel, hist_all, hist_rel, limit, k):
    """Sum of precisions and count of relevant items in the stable top k (items at distance <= ``limit``).

    Args:
        qw: ``uint64`` (B, 1) query words; ``col``: `padded_column` of the database in index order.
        dbg: ``int32`` (N,) group ids; ``qrel``: ``uint8`` (B, n_groups).
        hist_all, hist_rel: ``int64`` (B, K + 1) exact histograms.
        limit: ``int64`` (B,) cut bucket d* of each query.
        k: the cut-off.

    Returns:
        ``(sum_k, nrel_k)``, float64 and int64 (B,).
    """
    nq, nd = hist_all.shape
    base_a, base_r = _bases(hist_all, hist_rel)
    ca, cr = np.zeros((nq, nd), np.int64), np.zeros((nq, nd), np.int64)
    sum_k, nrel_k = np.zeros(nq), np.zeros(nq, np.int64)
    _filter_kernel(
        np.ascontiguousarray(qw[:, 0]),
        col,
        dbg.shape[0],
        dbg,
        qrel,
        base_a,
        base_r,
        np.ascontiguousarray(limit, dtype=np.int64),
        int(k),
        ca,
        cr,
        sum_k,
        nrel_k,
    )
    return sum_k, nrel_k


def sweep_ap(qw, col, dbg, qrel, hist_all, hist_rel, k):
    """Like `filter_ap_k` over the whole ranking; also returns the sum of precisions over all relevant items.

    Here ``dbg`` must be zero-padded by `PAD` entries (`padded_groups`).

    Returns:
        ``(sum_k, nrel_k, sum_all)``.
    """
    nq, nd = hist_all.shape
    base_a, base_r = _bases(hist_all, hist_rel)
    ca, cr = np.zeros((nq, nd), np.int64), np.zeros((nq, nd), np.int64)
    sum_k, nrel_k, sum_all = np.zeros(nq), np.zeros(nq, np.int64), np.zeros(nq)
    n_rel_groups = qrel.sum(axis=1)
    qgroup = np.where(n_rel_groups == 0, -2, np.where(n_rel_groups == 1, np.argmax(qrel, axis=1), -1))
    _sweep_kernel(
        np.ascontiguousarray(qw[:, 0]),
        col,
        hist_all[0].sum(),
        dbg,
        qrel,
        qgroup.astype(np.int64),
        base_a,
        base_r,
        int(k),
        ca,
        cr,
        sum_k,
        nrel_k,
        sum_all,
    )
    return sum_k, nrel_k, sum_all
