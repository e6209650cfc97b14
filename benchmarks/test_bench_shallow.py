"""Fit and encode cost of the shallow baselines (pytest-benchmark; numbers in docs/performance.md).

Run (single thread, as recorded)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 GOMP_SPINCOUNT=10000 \
        .venv/bin/python -m pytest benchmarks/test_bench_shallow.py -p no:cacheprovider \
        --benchmark-columns=min,mean,max,rounds

Workload: 5,000 x 2,048 float32 training features (the size of ResNet-50 pooled features of a small train
split), 128-bit codes; encoding of 1,000,000 x 2,048 float32 vectors, streamed as 40 chunks of 25,000 rows (a
1M x 2,048 float32 matrix would need 8 GB).
"""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.trainset import TrainSet

N_TRAIN, DIM, BITS = 5_000, 2_048, 128
N_ENCODE, CHUNK = 1_000_000, 25_000


def _features(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = (1.0 / np.sqrt(np.arange(1, DIM + 1))).astype(np.float32)  # a decaying spectrum, like CNN features
    return rng.standard_normal((n, DIM), dtype=np.float32) * scale


@pytest.fixture(scope="module")
def train() -> TrainSet:
    return TrainSet.from_arrays(np.zeros(N_TRAIN, np.int64), features=_features(N_TRAIN, 0))


@pytest.fixture(scope="module")
def chunk() -> np.ndarray:
    return _features(CHUNK, 1)


@pytest.mark.parametrize("method", ["itq", "sh"])
def test_fit(benchmark, train, method):
    h = benchmark.pedantic(lambda: create_hasher(method, n_bits=BITS).fit(train), rounds=3, iterations=1)
    assert h.is_fitted()


@pytest.mark.parametrize("method", ["itq", "sh"])
def test_encode_5k(benchmark, train, method):
    h = create_hasher(method, n_bits=BITS).fit(train)
    codes = benchmark.pedantic(lambda: h.encode(train.features), rounds=3, iterations=1)
    assert codes.shape == (N_TRAIN, BITS // 8)


@pytest.mark.parametrize("method", ["itq", "sh"])
def test_encode_1m(benchmark, train, chunk, method):
    h = create_hasher(method, n_bits=BITS).fit(train)

    def encode_all() -> int:
        done = 0
        for _ in range(N_ENCODE // CHUNK):
            done += len(h.encode(chunk))
        return done

    assert benchmark.pedantic(encode_all, rounds=1, iterations=1) == N_ENCODE
