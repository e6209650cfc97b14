"""Speed of the evaluator (pytest-benchmark; numbers in docs/performance.md, section Evaluator).

Run (single thread, as recorded)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 GOMP_SPINCOUNT=10000 \\
        .venv/bin/python -m pytest benchmarks/test_bench_evaluate.py -p no:cacheprovider -m "slow or not slow" \\
        --benchmark-columns=min,mean,max,rounds

Drop ``-m "slow or not slow"`` to skip size (d) (10,000 x 1,000,000) and the per-pass benchmarks, marked
``slow`` (~1.5 minutes in all).

Sizes: (a) 200 x 55,800 x 64 bits, (b) 1,000 x 32,000 x 64, (c) 1,000 x 32,000 x 128,
(d) 10,000 x 1,000,000 x 64. Codes are clustered like real hash codes: 10 classes, each item is its class
prototype with every bit flipped with probability 0.25; single-label. For each size we time ``map@5000`` alone,
all default metrics, the DeepHash-style stable-sort reference (`zshbench.evaluate.reference.calc_top_map`; at
(d) on 20 queries, extrapolated linearly) and a lower bound: one fused XOR + popcount pass over every pair.
`test_kernel_pass` (slow) times each compiled pass alone, the old scalar kernels against the vector kernels of
`zshbench.evaluate._accel.simd`, on 256 queries of size (d); ``extra_info["ns_per_pair"]`` is the min per pair.
``map@5000`` and all metrics are also timed end to end with ``kernels="scalar"`` (the ``ZSHBENCH_EVAL_KERNELS``
switch) at sizes (a)-(c); ``extra_info["kernels"]`` records what ran.
"""

from __future__ import annotations

import resource

import numpy as np
import pytest

from zshbench.codes import to_pm1
from zshbench.evaluate import HEADLINE_K, HEADLINE_METRIC, evaluate
from zshbench.evaluate.kernels import jit_enabled
from zshbench.evaluate.reference import calc_top_map

SIZES = {"a": (200, 55_800, 64), "b": (1_000, 32_000, 64), "c": (1_000, 32_000, 128), "d": (10_000, 1_000_000, 64)}
REF_QUERIES_D = 20


def _data(n_query: int, n_db: int, n_bits: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 2, (10, n_bits)).astype(bool)
    ql, dl = rng.integers(0, 10, n_query), rng.integers(0, 10, n_db)
    q = protos[ql] ^ (rng.random((n_query, n_bits)) < 0.25)
    d = protos[dl] ^ (rng.random((n_db, n_bits)) < 0.25)
    return np.packbits(q, axis=1), np.packbits(d, axis=1), ql, dl


HAVE_NUMBA = jit_enabled()


def _size_params():
    return [pytest.param(s, marks=pytest.mark.slow) if s == "d" else s for s in SIZES]


def _size_kernel_params():
    return [
        pytest.param(s, kern, marks=pytest.mark.slow) if s == "d" else (s, kern)
        for s in SIZES
        for kern in ("vector", "scalar")
        if not (s == "d" and kern == "scalar")
    ]


@pytest.fixture(scope="module")
def datasets():
    cache = {}

    def get(size):
        if size not in cache:
            cache[size] = _data(*SIZES[size])
        return cache[size]

    return get


def _rounds(size):
    return 1 if size == "d" else 3


@pytest.mark.parametrize("size, kernels", _size_kernel_params())
def test_map_at_k(benchmark, datasets, size, kernels):
    q, d, ql, dl = datasets(size)
    evaluate(q[:2], d[:1000], ql[:2], dl[:1000], metrics=["map@k"], kernels=kernels)  # compile / cache load
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = benchmark.pedantic(
        evaluate,
        args=(q, d, ql, dl),
        kwargs=dict(metrics=["map@k"], kernels=kernels),
        rounds=_rounds(size),
        iterations=1,
    )
    benchmark.extra_info.update(
        map=res.metrics[HEADLINE_METRIC],
        backend=res.info["backend"],
        kernels=res.info["kernels"],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_before_mb=before / 1024,
    )


@pytest.mark.parametrize("size, kernels", _size_kernel_params())
def test_all_metrics(benchmark, datasets, size, kernels):
    q, d, ql, dl = datasets(size)
    evaluate(q[:2], d[:1000], ql[:2], dl[:1000], kernels=kernels)
    res = benchmark.pedantic(
        evaluate, args=(q, d, ql, dl), kwargs=dict(kernels=kernels), rounds=_rounds(size), iterations=1
    )
    benchmark.extra_info.update({k: round(v, 6) for k, v in res.metrics.items()})
    benchmark.extra_info["kernels"] = res.info["kernels"]
    benchmark.extra_info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("size", _size_params())
def test_reference_calc_top_map(benchmark, datasets, size):
    q, d, ql, dl = datasets(size)
    n_bits = SIZES[size][2]
    nq = REF_QUERIES_D if size == "d" else len(q)
    onehot = np.eye(10, dtype=np.uint8)
    args = (to_pm1(q[:nq], n_bits), to_pm1(d, n_bits), onehot[ql[:nq]], onehot[dl], HEADLINE_K)
    value = benchmark.pedantic(calc_top_map, args=args, rounds=1, iterations=1)
    benchmark.extra_info.update(queries=nq, extrapolation_factor=len(q) / nq, map=value)


@pytest.mark.skipif(not HAVE_NUMBA, reason="lower bound kernel needs numba")
@pytest.mark.parametrize("size", _size_params())
def test_popcount_lower_bound(benchmark, datasets, size):
    import numba

    from zshbench.evaluate.kernels import _popcnt

    @numba.njit(nogil=True)
    def sweep(qw, dw_t):  # every XOR + popcount once, summed (vectorised): no histogram, no selection
        total = 0
        for b in range(qw.shape[0]):
            for w in range(qw.shape[1]):
                qv = qw[b, w]
                col = dw_t[w]
                for j in range(col.size):
                    total += _popcnt(qv ^ col[j])
        return total

    q, d, _, _ = datasets(size)
    qw = np.ascontiguousarray(np.pad(q, ((0, 0), (0, (-q.shape[1]) % 8)))).view(np.uint64)
    dw_t = np.ascontiguousarray(np.ascontiguousarray(np.pad(d, ((0, 0), (0, (-d.shape[1]) % 8)))).view(np.uint64).T)
    sweep(qw[:1], dw_t[:, :10])
    benchmark.pedantic(sweep, args=(qw, dw_t), rounds=_rounds(size), iterations=1)


PASSES = ("hist-scalar", "hist-bitsliced", "apk-scalar", "apk-filter", "apall-scalar", "apall-chunks")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_NUMBA, reason="kernels need numba")
@pytest.mark.parametrize("name", PASSES)
def test_kernel_pass(benchmark, datasets, name):
    """One pass of the old scalar / new vector kernels on 256 queries x 1,000,000 items x 64 bits (size d)."""
    from zshbench.evaluate import kernels
    from zshbench.evaluate._accel import simd

    q, d, ql, dl = datasets("d")
    nq, k = 256, HEADLINE_K
    qw, dw = q[:nq].view(np.uint64), d.view(np.uint64)
    keys, dbg = np.unique(dl, return_inverse=True)
    dbg = dbg.astype(np.int32)
    qrel = (ql[:nq, None] == keys[None, :]).astype(np.uint8)
    sdb = kernels.SortedDB(dw, dbg, keys.size)
    rel_total = qrel.astype(np.int64) @ sdb.group_size
    ha, hr = simd.bitsliced_hist(qw, sdb.scol, sdb.seg, qrel, 64, rel_total, dw.shape[0])
    lim_k, lim_all = kernels._limits(ha, k, False), kernels._limits(ha, k, True)

    def scalar_hist():
        kernels._hist_kernel(qw, sdb.words, sdb.seg, qrel, np.zeros_like(ha), np.zeros_like(ha))

    def scalar_ap(lim):
        kernels._ap_kernel(qw, dw, dbg, qrel, ha, hr, lim, k, np.zeros(nq), np.zeros(nq, np.int64), np.zeros(nq))

    run = {
        "hist-scalar": scalar_hist,
        "hist-bitsliced": lambda: simd.bitsliced_hist(qw, sdb.scol, sdb.seg, qrel, 64, rel_total, dw.shape[0]),
        "apk-scalar": lambda: scalar_ap(lim_k),
        "apk-filter": lambda: simd.filter_ap_k(qw, sdb.col, dbg, qrel, ha, hr, lim_k, k),
        "apall-scalar": lambda: scalar_ap(lim_all),
        "apall-chunks": lambda: simd.sweep_ap(qw, sdb.col, sdb.groups, qrel, ha, hr, k),
    }[name]
    run()
    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["ns_per_pair"] = benchmark.stats.stats.min / (nq * dw.shape[0]) * 1e9
