"""The vector kernels (codes of <= 64 bits) give exactly the scalar kernels' integers and floats."""

import numpy as np
import pytest

from zshbench.evaluate import evaluate, kernels
from zshbench.evaluate._accel import simd

pytestmark = pytest.mark.skipif(not (kernels.jit_enabled() and simd.HAVE_SIMD), reason="needs numba (JIT on)")


def _words(bits: np.ndarray) -> np.ndarray:
    packed = np.packbits(bits.astype(bool), axis=1)
    buf = np.zeros((packed.shape[0], 8), dtype=np.uint8)
    buf[:, : packed.shape[1]] = packed
    return buf.view(np.uint64)


def _both(q, d, dbg, qrel, n_bits, k, need_all):
    qw, dw = _words(q), _words(d)
    sdb = kernels.SortedDB(dw, dbg, qrel.shape[1])
    fast = kernels.block_stats_numba(qw, dw, dbg, qrel, n_bits, k, True, need_all, sdb, use_simd=True)
    slow = kernels.block_stats_numba(qw, dw, dbg, qrel, n_bits, k, True, need_all, sdb, use_simd=False)
    return fast, slow, sdb


def _assert_identical(fast, slow, need_all):
    np.testing.assert_array_equal(fast.hist_all, slow.hist_all)
    np.testing.assert_array_equal(fast.hist_rel, slow.hist_rel)
    np.testing.assert_array_equal(fast.ap_k, slow.ap_k)  # bit for bit: same operations in the same order
    if need_all:
        np.testing.assert_array_equal(fast.ap_all, slow.ap_all)


def test_random_cases_bit_identical():
    rng = np.random.default_rng(0)
    used_bitsliced = 0
    for trial in range(120):
        n_bits = int(rng.choice([1, 2, 3, 7, 8, 31, 63, 64]))
        n_db = int(rng.integers(1, 3000))
        n_groups = int(rng.integers(1, 12))
        k = int(rng.choice([1, 5, n_db, n_db + 7, int(rng.integers(1, n_db + 1))]))
        q = rng.integers(0, 2, (int(rng.integers(1, 9)), n_bits))
        d = rng.integers(0, 2, (n_db, n_bits))
        dbg = rng.integers(0, n_groups, n_db).astype(np.int32)
        qrel = (rng.random((q.shape[0], n_groups)) < 0.3).astype(np.uint8)
        fast, slow, sdb = _both(q, d, dbg, qrel, n_bits, k, bool(trial % 2))
        _assert_identical(fast, slow, bool(trial % 2))
        used_bitsliced += sdb.scol is not None
    assert used_bitsliced > 20  # both histogram kernels were exercised


@pytest.mark.parametrize("n_bits", [1, 2, 64])
def test_bitsliced_carries_and_bin_64(n_bits):
    # 60,000 items at one distance in one group: every lane counts past 2**PLANES, so carries are spilled
    rng = np.random.default_rng(1)
    d = rng.integers(0, 2, (120_000, n_bits))
    d[:60_000] = d[0]
    q = np.vstack([d[0], 1 - d[0], rng.integers(0, 2, (3, n_bits))])  # distance 0 and n_bits to half the db
    dbg = (np.arange(120_000) >= 60_000).astype(np.int32)
    assert 60_000 // 8 > 2**simd.PLANES
    qrel = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=np.uint8)
    for k, need_all in ((1000, True), (70_000, False)):
        fast, slow, sdb = _both(q, d, dbg, qrel, n_bits, k, need_all)
        assert sdb.scol is not None
        _assert_identical(fast, slow, need_all)
    assert fast.hist_all[1, n_bits] >= 60_000


def test_many_small_groups():
    # groups too short for the group-sorted histogram: queries relevant to one group at most use the
    # index-order (group compare) histogram, others the scalar one
    rng = np.random.default_rng(2)
    for n_bits in (16, 64):
        q, d = rng.integers(0, 2, (6, n_bits)), rng.integers(0, 2, (5003, n_bits))
        dbg = rng.integers(0, 100, 5003).astype(np.int32)
        single = np.zeros((6, 100), dtype=np.uint8)
        single[np.arange(5), rng.integers(0, 100, 5)] = 1  # the last query has no relevant item
        multi = (rng.random((6, 100)) < 0.1).astype(np.uint8)
        for qrel in (single, multi):
            for k, need_all in ((50, True), (700, False)):
                fast, slow, sdb = _both(q, d, dbg, qrel, n_bits, k, need_all)
                assert sdb.scol is None and sdb.col is not None
                _assert_identical(fast, slow, need_all)


def test_grouped_histogram_carries():
    rng = np.random.default_rng(4)
    d = rng.integers(0, 2, (70_000, 64))
    d[::2] = d[0]  # 35,000 items of group 0 at one distance, every lane past 2**PLANES
    dbg = np.zeros(70_000, dtype=np.int32)
    dbg[1::2] = 1 + np.arange(35_000) % 299  # 300 groups, too many for the group-sorted histogram
    q = np.vstack([d[0], 1 - d[0]])
    qrel = np.zeros((2, 300), dtype=np.uint8)
    qrel[0, 0] = qrel[1, 2] = 1
    fast, slow, sdb = _both(q, d, dbg, qrel, 64, 5000, True)
    assert sdb.scol is None
    _assert_identical(fast, slow, True)
    assert fast.hist_all[1, 64] >= 35_000 and fast.hist_rel[0, 0] == 35_000


def test_two_threads_and_both_kernel_sets_give_identical_values():
    rng = np.random.default_rng(3)
    q, d = rng.integers(0, 2, (600, 48)), rng.integers(0, 2, (5000, 48))
    ql, dl = rng.integers(0, 5, 600), rng.integers(0, 5, 5000)
    one = evaluate(q, d, ql, dl, k=300)
    assert one.info["kernels"] == "vector"
    for kw in (dict(n_threads=2), dict(kernels="scalar"), dict(kernels="scalar", n_threads=2)):
        other = evaluate(q, d, ql, dl, k=300, **kw)
        assert one.metrics == other.metrics and one.curves == other.curves, kw
