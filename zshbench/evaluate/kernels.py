"""CPU kernels: per-query distance histograms and stable AP, without sorting the database.

Both kernels take a block of queries and return the same `BlockStats`:

* ``hist_all[b, d]`` / ``hist_rel[b, d]``: database items (all / relevant) at Hamming distance ``d``;
* ``ap_k[b]`` / ``ap_all[b]``: AP@k and AP over the whole ranking with ties broken by database index.

Stable AP needs no sort: after the histograms give ``A[d]`` (items closer than ``d``) and ``Rb[d]`` (relevant
ones), a second sweep over the database in index order keeps running counts ``ca[d]``, ``cr[d]`` per distance;
an item at distance ``d`` sits at rank ``A[d] + ca[d]`` and, if relevant, has precision
``(Rb[d] + cr[d]) / (A[d] + ca[d])`` there. It is inside the top k iff that rank is <= k, which also handles
the truncated tie group at the cut-off exactly (its first items by database index).

`block_stats_numba` fuses XOR + popcount + counting in compiled loops over cache-sized database tiles and needs
O(B * K) extra memory. For codes of at most 64 bits it uses the vector kernels of `simd` (bit-sliced
histograms, a vector filter up to the exact cut distance for AP@k, a branch-free index-order sweep for AP over
the whole ranking), which give the same integers and the same floating-point sums as the scalar kernels here;
the scalar kernels remain for longer codes and as the reference of the vector ones. `block_stats_numpy` is the
pure-numpy reference and fallback (O(B * N) memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import simd

try:  # optional compiled path
    import numba
    from numba import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

__all__ = ["BlockStats", "HAVE_NUMBA", "SortedDB", "block_stats_numba", "block_stats_numpy", "NUMPY_BYTES_PER_PAIR"]

HAVE_NUMBA = numba is not None
NUMPY_BYTES_PER_PAIR = 48
_MIN_SEGMENT = 256  # bit-sliced histograms when label groups hold this many items on average


@dataclass
class BlockStats:
    """Per-query statistics of one block of queries (see module docstring)."""

    hist_all: np.ndarray
    hist_rel: np.ndarray
    ap_k: np.ndarray | None = None
    ap_all: np.ndarray | None = None


def _finish_ap(sum_k, nrel_k, sum_all, hist_rel):
    total = hist_rel.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ap_k = np.where(nrel_k > 0, sum_k / np.maximum(nrel_k, 1), 0.0)
        ap_all = np.where(total > 0, sum_all / np.maximum(total, 1), 0.0)
    return ap_k, ap_all


def _limits(hist_all: np.ndarray, k: int, need_all: bool) -> np.ndarray:
    """Largest distance a stable-AP sweep must visit: the cut bucket d*, or K for the whole ranking."""
    if need_all:
        return np.full(hist_all.shape[0], hist_all.shape[1] - 1, dtype=np.int64)
    cum = np.cumsum(hist_all, axis=1)
    kk = min(int(k), int(cum[0, -1]))
    return np.argmax(cum >= kk, axis=1).astype(np.int64)


# ----------------------------------------------------------------------------------------------- numba path
if HAVE_NUMBA:

    @intrinsic
    def _popcnt(typingctx, x):
        sig = types.int64(types.uint64)  # popcount of a 64-bit word, as a signed index

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return sig, codegen

    _TILE = 2048

    @numba.njit(nogil=True, cache=True)
    def _hist_kernel(qw, dbw_sorted, seg, qrel, h_rel, h_non):  # pragma: no cover - compiled
        # The database is sorted by group, so relevance is constant over a segment: the hot loop is
        # XOR + popcount + one increment into the query's relevant or non-relevant histogram.
        nq, nw = qw.shape
        for g in range(seg.size - 1):
            for c0 in range(seg[g], seg[g + 1], _TILE):
                c1 = min(seg[g + 1], c0 + _TILE)
                for b in range(nq):
                    h = h_rel[b] if qrel[b, g] else h_non[b]
                    if nw == 1:
                        q0 = qw[b, 0]
                        for j in range(c0, c1):
                            h[_popcnt(q0 ^ dbw_sorted[j, 0])] += 1
                    else:
                        for j in range(c0, c1):
                            d = 0
                            for w in range(nw):
                                d += _popcnt(qw[b, w] ^ dbw_sorted[j, w])
                            h[d] += 1

    @numba.njit(nogil=True, cache=True)
    def _ap_kernel(qw, dbw, dbg, qrel, hist_all, hist_rel, limit, k, out_sum_k, out_nrel_k, out_sum_all):
        # pragma: no cover - compiled. Sweep in database-index order (see the module docstring) over tiles
        # shared by the block of queries; items beyond `limit` (the cut bucket d*, or K) are skipped.
        nq, nw = qw.shape
        n = dbw.shape[0]
        nd = hist_all.shape[1]
        base_a = np.zeros((nq, nd), np.int64)
        base_r = np.zeros((nq, nd), np.int64)
        for b in range(nq):
            sa = 0
            sr = 0
            for d in range(nd):
                base_a[b, d] = sa
                base_r[b, d] = sr
                sa += hist_all[b, d]
                sr += hist_rel[b, d]
        ca = np.zeros((nq, nd), np.int64)
        cr = np.zeros((nq, nd), np.int64)
        for c0 in range(0, n, _TILE):
            c1 = min(n, c0 + _TILE)
            for b in range(nq):
                lim = limit[b]
                q0 = qw[b, 0]
                for j in range(c0, c1):
                    if nw == 1:
                        d = _popcnt(q0 ^ dbw[j, 0])
                    else:
                        d = 0
                        for w in range(nw):
                            d += _popcnt(qw[b, w] ^ dbw[j, w])
                    if d > lim:
                        continue
                    ca[b, d] += 1
                    if qrel[b, dbg[j]]:
                        cr[b, d] += 1
                        pos = base_a[b, d] + ca[b, d]
                        prec = (base_r[b, d] + cr[b, d]) / pos
                        out_sum_all[b] += prec
                        if pos <= k:
                            out_sum_k[b] += prec
                            out_nrel_k[b] += 1


class SortedDB:
    """Database words sorted by label group (stable), with segment starts, for the histogram kernels.

    For codes of at most 64 bits it also holds what the `simd` kernels read: the zero-padded single-word
    columns in index order (``col``) and sorted by group (``scol``; ``None`` when groups are too small on
    average for the bit-sliced histogram), and the padded group ids (``groups``); else all three are ``None``.
    """

    def __init__(self, dbw: np.ndarray, dbg: np.ndarray, n_groups: int):
        order = np.argsort(dbg, kind="stable")
        self.words = np.ascontiguousarray(dbw[order])
        self.group_size = np.bincount(dbg, minlength=n_groups).astype(np.int64)
        self.seg = np.concatenate([[0], np.cumsum(self.group_size)]).astype(np.int64)
        self.scol = self.col = self.groups = None
        if simd.HAVE_SIMD and dbw.shape[1] == 1:
            self.col = simd.padded_column(dbw)
            self.groups = simd.padded_groups(dbg)
            if n_groups <= max(1, dbw.shape[0] // _MIN_SEGMENT):  # short segments: scalar kernel is better
                self.scol = simd.padded_column(self.words)


def block_stats_numba(qw, dbw, dbg, qrel, n_bits: int, k: int, need_ap: bool, need_all: bool,
                      sorted_db: SortedDB | None = None, use_simd: bool = True) -> BlockStats:
    """Fused compiled kernel (requires numba).

    Args:
        qw: ``uint64`` (B, W) query words.
        dbw: ``uint64`` (N, W) database words.
        dbg: ``int32`` (N,) database group ids.
        qrel: ``uint8`` (B, n_groups) relevance of each query to each group.
        n_bits: code length K.
        k: map@k cut-off.
        need_ap: compute stable AP@k (and AP@all when ``need_all``).
        need_all: compute stable AP over the whole ranking.
        sorted_db: `SortedDB` of ``dbw``/``dbg`` (built here when omitted; build it once for many blocks).
        use_simd: use the `simd` kernels where they apply (codes of <= 64 bits); False forces the scalar
            kernels (same results; for tests and comparisons).
    """
    nq = qw.shape[0]
    if sorted_db is None:
        sorted_db = SortedDB(dbw, dbg, qrel.shape[1])
    n_rel_groups = qrel.sum(axis=1)
    if sorted_db.scol is not None and use_simd:
        rel_total = qrel.astype(np.int64) @ sorted_db.group_size
        hist_all, hist_rel = simd.bitsliced_hist(qw, sorted_db.scol, sorted_db.seg, qrel, n_bits, rel_total,
                                                 dbw.shape[0])
    elif sorted_db.col is not None and use_simd and n_rel_groups.max() <= 1:  # e.g. single-label, many classes
        rel_total = qrel.astype(np.int64) @ sorted_db.group_size
        qgroup = np.where(n_rel_groups == 1, np.argmax(qrel, axis=1), -1)
        hist_all, hist_rel = simd.bitsliced_hist_grouped(qw, sorted_db.col, sorted_db.groups, qgroup, n_bits,
                                                         rel_total)
    else:
        hist_rel = np.zeros((nq, n_bits + 1), np.int64)
        hist_non = np.zeros((nq, n_bits + 1), np.int64)
        _hist_kernel(qw, sorted_db.words, sorted_db.seg, qrel, hist_rel, hist_non)
        hist_all = hist_rel + hist_non
    if not need_ap:
        return BlockStats(hist_all, hist_rel)
    sum_all = np.zeros(nq)
    if sorted_db.col is not None and use_simd and need_all:
        sum_k, nrel_k, sum_all = simd.sweep_ap(qw, sorted_db.col, sorted_db.groups, qrel, hist_all, hist_rel, k)
    elif sorted_db.col is not None and use_simd:
        sum_k, nrel_k = simd.filter_ap_k(qw, sorted_db.col, dbg, qrel, hist_all, hist_rel,
                                         _limits(hist_all, k, False), k)
    else:
        sum_k, nrel_k = np.zeros(nq), np.zeros(nq, np.int64)
        _ap_kernel(qw, dbw, dbg, qrel, hist_all, hist_rel, _limits(hist_all, k, need_all), int(k), sum_k, nrel_k,
                   sum_all)
    ap_k, ap_all = _finish_ap(sum_k, nrel_k, sum_all, hist_rel)
    return BlockStats(hist_all, hist_rel, ap_k, ap_all if need_all else None)


# ----------------------------------------------------------------------------------------------- numpy path
def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)  # pragma: no cover - numpy < 2
    return table[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1, dtype=np.uint8)  # pragma: no cover


def distances_numpy(qw: np.ndarray, dbw: np.ndarray, n_bits: int, tile: int = 1 << 16) -> np.ndarray:
    """Hamming distances (B, N), uint8 (uint16 above 255 bits), XOR + popcount over database tiles."""
    nq, nw = qw.shape
    n = dbw.shape[0]
    dist = np.zeros((nq, n), dtype=np.uint8 if n_bits < 256 else np.uint16)
    for c0 in range(0, n, tile):
        c1 = min(n, c0 + tile)
        for w in range(nw):
            dist[:, c0:c1] += _popcount(qw[:, None, w] ^ dbw[None, c0:c1, w]).astype(dist.dtype, copy=False)
    return dist


def _sorted_rel_ap(rows, cols_rank, rel, nq):
    """Sum of precisions at relevant entries; ``cols_rank`` is the 0-based rank of each entry in its row."""
    cum = np.cumsum(rel, dtype=np.int64)
    start = np.searchsorted(rows, np.arange(nq))
    before = np.concatenate([[0], cum])[start]  # relevant count before each row
    hit = rel.astype(bool)
    prec = (cum[hit] - before[rows[hit]]) / (cols_rank[hit] + 1.0)
    return rows[hit], prec


def block_stats_numpy(qw, dbw, dbg, qrel, n_bits: int, k: int, need_ap: bool, need_all: bool) -> BlockStats:
    """Pure-numpy equivalent of `block_stats_numba` (same arguments and results)."""
    nq, nd = qw.shape[0], n_bits + 1
    dist = distances_numpy(qw, dbw, n_bits)
    rel = qrel[:, dbg]
    key = dist.astype(np.int64) * 2 + rel + (np.arange(nq, dtype=np.int64) * 2 * nd)[:, None]
    h = np.bincount(key.ravel(), minlength=nq * 2 * nd).reshape(nq, nd, 2)
    del key
    hist_all, hist_rel = h.sum(axis=2), h[:, :, 1].copy()
    if not need_ap:
        return BlockStats(hist_all, hist_rel)
    if need_all:  # full stable order (radix sort of small integers)
        order = np.argsort(dist, axis=1, kind="stable")
        rs = np.take_along_axis(rel, order, axis=1).ravel()
        rows = np.repeat(np.arange(nq), dist.shape[1])
        ranks = np.tile(np.arange(dist.shape[1]), nq)
    else:  # only candidates up to the cut bucket d*, then a counting sort by (query, distance)
        limit = _limits(hist_all, k, False)
        rows, cols = np.nonzero(dist <= limit[:, None])
        dd = dist[rows, cols].astype(np.int64)
        o = np.argsort(rows * nd + dd, kind="stable")
        rows, cols = rows[o], cols[o]
        start = np.searchsorted(rows, np.arange(nq))
        ranks = np.arange(rows.size) - start[rows]
        keep = ranks < k
        rows, cols, ranks = rows[keep], cols[keep], ranks[keep]
        rs = qrel[rows, dbg[cols]]
    r_hit, prec = _sorted_rel_ap(rows, ranks, rs, nq)
    in_k = ranks[rs.astype(bool)] < k
    sum_all = np.bincount(r_hit, weights=prec, minlength=nq)
    sum_k = np.bincount(r_hit[in_k], weights=prec[in_k], minlength=nq)
    nrel_k = np.bincount(r_hit[in_k], minlength=nq)
    ap_k, ap_all = _finish_ap(sum_k, nrel_k, sum_all, hist_rel)
    return BlockStats(hist_all, hist_rel, ap_k, ap_all if need_all else None)
