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
O(B * K) extra memory. For codes of at most 64 bits it uses the vector kernels of `_accel.simd` (bit-sliced
histograms, a vector filter up to the exact cut distance for AP@k, a branch-free index-order sweep for AP over
the whole ranking), which give the same integers and the same floating-point sums as the scalar kernels here;
the scalar kernels remain for longer codes and as the reference of the vector ones. `block_stats_numpy` is the
pure-numpy reference and fallback (O(B * N) memory). The vector kernels, their LLVM IR and how to change them
safely are described in ``zshbench/evaluate/_accel/README.md``.

Which kernels run (`select_kernels`): ``"vector"`` (default) or ``"scalar"``, chosen by the ``kernels=``
argument of `zshbench.evaluate.evaluate` or the ``ZSHBENCH_EVAL_KERNELS`` environment variable. The first use
of a compiled kernel set in a process runs it on a small fixed case against `block_stats_numpy` (every vector
or scalar kernel, 20- and 64-bit codes, well under a second with numba's cache); if compiling or running it
raises, or a count differs, the evaluator warns once (`KernelFallbackWarning`) and uses the next set: vector
-> scalar -> numpy. With ``NUMBA_DISABLE_JIT=1`` (the kernels cannot run as Python) the numpy path is used.
A crash inside LLVM itself aborts the process and cannot be caught: ``ZSHBENCH_EVAL_KERNELS=scalar`` avoids
the vector IR entirely.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from zshbench.errors import UserError

from ._accel import simd

try:  # optional compiled path
    import numba
    from numba import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

__all__ = [
    "BlockStats",
    "HAVE_NUMBA",
    "KERNELS",
    "KERNELS_ENV",
    "KernelFallbackWarning",
    "SortedDB",
    "block_stats_numba",
    "block_stats_numpy",
    "jit_enabled",
    "requested_kernels",
    "select_kernels",
    "NUMPY_BYTES_PER_PAIR",
]

HAVE_NUMBA = numba is not None  # importable; `jit_enabled` says whether its kernels can run compiled
KERNELS = ("vector", "scalar")
KERNELS_ENV = "ZSHBENCH_EVAL_KERNELS"
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

    For codes of at most 64 bits it also holds what the `_accel.simd` kernels read: the zero-padded single-word
    columns in index order (``col``) and sorted by group (``scol``; ``None`` when groups are too small on
    average for the bit-sliced histogram), and the padded group ids (``groups``); else, or with
    ``vector=False``, all three are ``None``.
    """

    def __init__(self, dbw: np.ndarray, dbg: np.ndarray, n_groups: int, vector: bool = True):
        order = np.argsort(dbg, kind="stable")
        self.words = np.ascontiguousarray(dbw[order])
        self.group_size = np.bincount(dbg, minlength=n_groups).astype(np.int64)
        self.seg = np.concatenate([[0], np.cumsum(self.group_size)]).astype(np.int64)
        self.scol = self.col = self.groups = None
        if vector and simd.HAVE_SIMD and dbw.shape[1] == 1:
            self.col = simd.padded_column(dbw)
            self.groups = simd.padded_groups(dbg)
            if n_groups <= max(1, dbw.shape[0] // _MIN_SEGMENT):  # short segments: scalar kernel is better
                self.scol = simd.padded_column(self.words)


def block_stats_numba(
    qw,
    dbw,
    dbg,
    qrel,
    n_bits: int,
    k: int,
    need_ap: bool,
    need_all: bool,
    sorted_db: SortedDB | None = None,
    use_simd: bool = True,
) -> BlockStats:
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
        use_simd: use the `_accel.simd` kernels where they apply (codes of <= 64 bits); False forces the scalar
            kernels (same results; for tests and comparisons).
    """
    nq = qw.shape[0]
    if sorted_db is None:
        sorted_db = SortedDB(dbw, dbg, qrel.shape[1], vector=use_simd)
    n_rel_groups = qrel.sum(axis=1)
    if sorted_db.scol is not None and use_simd:
        rel_total = qrel.astype(np.int64) @ sorted_db.group_size
        hist_all, hist_rel = simd.bitsliced_hist(
            qw, sorted_db.scol, sorted_db.seg, qrel, n_bits, rel_total, dbw.shape[0]
        )
    elif sorted_db.col is not None and use_simd and n_rel_groups.max() <= 1:  # e.g. single-label, many classes
        rel_total = qrel.astype(np.int64) @ sorted_db.group_size
        qgroup = np.where(n_rel_groups == 1, np.argmax(qrel, axis=1), -1)
        hist_all, hist_rel = simd.bitsliced_hist_grouped(qw, sorted_db.col, sorted_db.groups, qgroup, n_bits, rel_total)
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
        sum_k, nrel_k = simd.filter_ap_k(
            qw, sorted_db.col, dbg, qrel, hist_all, hist_rel, _limits(hist_all, k, False), k
        )
    else:
        sum_k, nrel_k = np.zeros(nq), np.zeros(nq, np.int64)
        _ap_kernel(
            qw, dbw, dbg, qrel, hist_all, hist_rel, _limits(hist_all, k, need_all), int(k), sum_k, nrel_k, sum_all
        )
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


# ----------------------------------------------------------------------------------------------- kernel choice
class KernelFallbackWarning(RuntimeWarning):
    """A compiled kernel set failed its first-use check; the evaluator uses the next one (same results)."""


def jit_enabled() -> bool:
    """numba is installed and compiles (``NUMBA_DISABLE_JIT`` unset): the numba kernels can run."""
    return HAVE_NUMBA and not numba.config.DISABLE_JIT


def requested_kernels(value: str | None = None) -> str:
    """The kernel set asked for: ``value``, else ``$ZSHBENCH_EVAL_KERNELS``, else ``"vector"``.

    Raises:
        UserError: a value other than "vector" or "scalar".
    """
    source = "kernels="
    if value is None:
        value, source = os.environ.get(KERNELS_ENV) or "vector", f"{KERNELS_ENV}="
    if value in KERNELS:
        return value
    fix = (
        f"unset {KERNELS_ENV} or set it to vector or scalar"
        if source != "kernels="
        else "pass kernels='vector', kernels='scalar' or kernels=None (the environment variable, else vector)"
    )
    raise UserError(
        f"Unknown evaluator kernel set {source}{value!r}: expected 'vector' (the default: vector "
        f"kernels for codes of at most 64 bits, scalar ones above) or 'scalar' (the scalar numba "
        f"kernels only; the same results, slower). To fix it, {fix}."
    )


_CHECKED: dict[str, str | None] = {}  # kernel set -> None (works) or why it failed, once per process


def _check_case(n_bits: int, many_groups: bool):
    """A small fixed case: 5 queries x 700 items with tie groups at distance 0 and n_bits; two large label
    groups (the group-sorted vector histogram; one query relevant to both) or 300 small ones (the index-order
    one; each query relevant to one group at most), and a query with no relevant item."""
    rng = np.random.default_rng(n_bits)
    n_groups = 300 if many_groups else 2
    q = rng.integers(0, 2, (5, n_bits)).astype(bool)
    d = rng.integers(0, 2, (700, n_bits)).astype(bool)
    d[:90] = q[0]  # a large tie group at distance 0 from query 0
    d[90:100] = ~q[0]  # and one at distance n_bits (bin 64 of 64-bit codes)
    words = [np.zeros((len(x), 8), np.uint8) for x in (q, d)]
    for w, x in zip(words, (q, d)):
        packed = np.packbits(x, axis=1)
        w[:, : packed.shape[1]] = packed
    dbg = (np.arange(700) % n_groups).astype(np.int32)
    qrel = np.zeros((5, n_groups), np.uint8)
    qrel[0, 0] = qrel[1, 1] = 1
    qrel[3, 1 if many_groups else slice(None)] = 1  # query 2: no relevant item
    return words[0].view(np.uint64), words[1].view(np.uint64), dbg, qrel


def _self_check(kind: str) -> str | None:
    """Run the ``kind`` kernels on `_check_case` against `block_stats_numpy`; None when they agree."""
    try:
        for n_bits in (20, 64):
            for many_groups in (False, True):
                qw, dw, dbg, qrel = _check_case(n_bits, many_groups)
                sdb = SortedDB(dw, dbg, qrel.shape[1], vector=kind == "vector")
                if kind == "vector" and (sdb.col is None or (sdb.scol is None) != many_groups):
                    return "the vector kernels do not apply to the check case"  # pragma: no cover - defensive
                for k, need_all in ((60, False), (60, True)):
                    got = block_stats_numba(
                        qw, dw, dbg, qrel, n_bits, k, True, need_all, sdb, use_simd=kind == "vector"
                    )
                    ref = block_stats_numpy(qw, dw, dbg, qrel, n_bits, k, True, need_all)
                    same = (
                        np.array_equal(got.hist_all, ref.hist_all)
                        and np.array_equal(got.hist_rel, ref.hist_rel)
                        and np.allclose(got.ap_k, ref.ap_k, rtol=0, atol=1e-12)
                        and (not need_all or np.allclose(got.ap_all, ref.ap_all, rtol=0, atol=1e-12))
                    )
                    if not same:
                        return (
                            f"their results differ from the numpy reference ({n_bits}-bit codes, "
                            f"{'many' if many_groups else 'few'} label groups)"
                        )
    except Exception as exc:  # noqa: BLE001 - any failure to compile or run means: do not use them
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return None


def _works(kind: str) -> bool:
    if kind not in _CHECKED:
        why = _CHECKED[kind] = _self_check(kind)
        if why is not None:
            nxt = "scalar numba kernels" if kind == "vector" else "numpy path"
            warnings.warn(
                f"zshbench.evaluate: the {kind} kernels failed their first-use check on this machine "
                f"({why}); using the {nxt} instead (same results, slower). Set {KERNELS_ENV}=scalar "
                "to skip the vector kernels, and please report this with your CPU model and numba "
                "version.",
                KernelFallbackWarning,
                stacklevel=4,
            )
    return _CHECKED[kind] is None


def select_kernels(requested: str, n_bits: int) -> str:
    """The kernels that will run for the numba and faiss backends: "vector", "scalar" or "numpy".

    "vector" applies to codes of at most 64 bits (longer codes use the scalar kernels); a set that fails its
    first-use check (see the module docstring) falls back to the next, with one `KernelFallbackWarning` per
    process and set.
    """
    if not jit_enabled():
        return "numpy"
    if requested == "vector" and n_bits <= 64 and simd.HAVE_SIMD and _works("vector"):
        return "vector"
    return "scalar" if _works("scalar") else "numpy"
