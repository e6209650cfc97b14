"""Large retrieval: ITQ on a synthetic 1,000,000-item feature database, with wall time and peak memory per stage.

Each stage runs in its own subprocess (so ``ru_maxrss`` is that stage's peak) and hands its output to the next
through files in a work directory:

1. ``generate``: a 1,000,000 x 128 float32 Gaussian mixture (100 classes, equal priors) written chunk by
   chunk to a memory-mapped ``.npy`` (512 MB), its labels, and 1,000 query vectors from the same mixture;
2. ``fit``: ITQ (64 bits, 50 iterations) fitted on 20,000 rows sampled from the database memmap;
3. ``encode``: `zshbench.codes.encode_to_memmap` of the whole database, 65,536 rows per chunk, into a codes
   file (8 MB);
4. ``encode_ram`` (for comparison): ``hasher.encode(database_memmap)`` in one call, codes in RAM;
5. ``evaluate``: the 1,000 queries against the memory-mapped database codes, ``zshbench.evaluate.evaluate``
   with k=5000 (default metrics, numba backend, one thread).

Imports (torch, numba, zshbench) and the numba kernels' warm-up happen before the measured region. Memory per
stage: ``maxrss`` (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: includes the interpreter,
torch/numba libraries and pages of memory-mapped files the stage touched), ``base_rss`` (RSS right after the
imports, before any work), ``base_anon`` (anonymous RSS then), ``anon_peak`` (peak anonymous RSS, ``RssAnon``
of /proc/self/status sampled every 20 ms: without file-backed pages) and ``heap_peak`` (tracemalloc peak: numpy and
Python allocations made by the stage).

Run (writes ~530 MB to a temporary directory, ~45 s on one core)::

    OMP_NUM_THREADS=1 GOMP_SPINCOUNT=10000 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest \
        benchmarks/test_bench_scale.py -m slow -p no:cacheprovider -s --benchmark-columns=min,rounds

or without pytest (``--n`` for a smaller database, ``--workdir`` to keep the files)::

    OMP_NUM_THREADS=1 GOMP_SPINCOUNT=10000 .venv/bin/python benchmarks/test_bench_scale.py --n 1000000

The fast test (``test_scale_pipeline_small``, 50,000 items) checks the same pipeline in a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

N_DB, DIM, N_CLASSES, N_QUERY, N_FIT, BITS, CHUNK, K = 1_000_000, 128, 100, 1_000, 20_000, 64, 65_536, 5_000
STAGES = ("generate", "fit", "encode", "encode_ram", "evaluate")
SEED = 0


def _mixture(rng: np.random.Generator, centres: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, len(centres), size=n)
    x = centres[y] + rng.standard_normal((n, centres.shape[1]), dtype=np.float32) * np.float32(1.5)
    return x.astype(np.float32, copy=False), y.astype(np.int64)


def _rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def stage_generate(work: Path, n: int) -> dict:
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((N_CLASSES, DIM), dtype=np.float32)
    feats = np.lib.format.open_memmap(work / "db.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    labels = np.empty(n, np.int64)
    for i, s in enumerate(range(0, n, CHUNK)):
        e = min(n, s + CHUNK)
        feats[s:e], labels[s:e] = _mixture(np.random.default_rng([SEED, 1, i]), centres, e - s)
    feats.flush()
    del feats
    np.save(work / "db_labels.npy", labels)
    q, qy = _mixture(np.random.default_rng([SEED, 2]), centres, N_QUERY)
    np.save(work / "query.npy", q)
    np.save(work / "query_labels.npy", qy)
    return {"items": n}


def stage_fit(work: Path, n: int) -> dict:
    from zshbench import create_hasher
    from zshbench.trainset import TrainSet

    feats = np.load(work / "db.npy", mmap_mode="r")
    idx = np.sort(np.random.default_rng([SEED, 3]).choice(len(feats), size=min(N_FIT, len(feats)), replace=False))
    x = np.asarray(feats[idx])
    h = create_hasher("itq", n_bits=BITS, seed=0).fit(TrainSet.from_arrays(np.zeros(len(x), np.int64), features=x))
    h.save(work / "itq.pt")
    return {"fit_rows": len(x)}


def stage_encode(work: Path, n: int) -> dict:
    from zshbench.codes import encode_to_memmap
    from zshbench.hasher import Hasher

    h = Hasher.load(work / "itq.pt")
    feats = np.load(work / "db.npy", mmap_mode="r")
    codes = encode_to_memmap(h, feats, work / "db_codes.zsc", chunk=CHUNK)
    return {"codes_shape": list(codes.shape), "codes_file_bytes": os.path.getsize(work / "db_codes.zsc")}


def stage_encode_ram(work: Path, n: int) -> dict:
    from zshbench.hasher import Hasher

    h = Hasher.load(work / "itq.pt")
    feats = np.load(work / "db.npy", mmap_mode="r")
    codes = h.encode(feats)
    return {"codes_bytes": int(codes.nbytes)}


def stage_evaluate(work: Path, n: int) -> dict:
    from zshbench.codes import open_codes
    from zshbench.evaluate import evaluate
    from zshbench.hasher import Hasher

    h = Hasher.load(work / "itq.pt")
    db = open_codes(work / "db_codes.zsc", n_bits=BITS)
    q = h.encode(np.load(work / "query.npy"))
    res = evaluate(q, db, np.load(work / "query_labels.npy"), np.load(work / "db_labels.npy"), n_bits=BITS, k=K)
    return {
        "n_query": len(q),
        "metrics": {m: round(v, 4) for m, v in res.metrics.items() if m.startswith("map")},
        "backend": res.info["backend"],
    }


def run_stage(stage: str, work: Path, n: int) -> dict:
    """Run one stage in this process and measure it (called in the stage's subprocess)."""
    import torch  # noqa: F401  (imports and JIT warm-up outside the measured region)

    from zshbench import create_hasher
    from zshbench.evaluate import evaluate

    create_hasher("itq")
    if stage == "evaluate":  # load (or compile) the numba kernels
        tiny = np.packbits(np.random.default_rng(0).random((64, BITS)) > 0.5, axis=1)
        evaluate(tiny[:4], tiny, np.arange(4) % 3, np.arange(64) % 3, n_bits=BITS, k=10)
    base_rss, base_anon = _rss_kb(), _rss_kb("RssAnon")
    peak = {"anon": base_anon}
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak["anon"] = max(peak["anon"], _rss_kb("RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = globals()[f"stage_{stage}"](work, n)
    seconds = time.perf_counter() - t0
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    done.set()
    sampler.join()
    peak["anon"] = max(peak["anon"], _rss_kb("RssAnon"))
    mb = 1 / 1024
    return {
        "stage": stage,
        "seconds": round(seconds, 2),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * mb, 1),
        "base_rss_mb": round(base_rss * mb, 1),
        "base_anon_mb": round(base_anon * mb, 1),
        "anon_peak_mb": round(peak["anon"] * mb, 1),
        "heap_peak_mb": round(heap_peak / 2**20, 1),
        **out,
    }


def run_all(work: Path, n: int, stages=STAGES) -> list[dict]:
    """Every stage, each in a fresh subprocess; returns their measurements."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "GOMP_SPINCOUNT": "10000",
        "HF_HUB_OFFLINE": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    rows = []
    for stage in stages:
        proc = subprocess.run(
            [sys.executable, __file__, "--stage", stage, "--workdir", str(work), "--n", str(n)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode:
            raise RuntimeError(f"stage {stage} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def _table(rows: list[dict]) -> str:
    cols = ("stage", "seconds", "maxrss_mb", "base_rss_mb", "base_anon_mb", "anon_peak_mb", "heap_peak_mb")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _check(rows: list[dict], n: int) -> None:
    by = {r["stage"]: r for r in rows}
    assert by["encode"]["codes_shape"] == [n, BITS // 8]
    assert by["encode"]["codes_file_bytes"] == 64 + n * BITS // 8
    # streaming: the encode stage allocates about one chunk (65,536 x 128 float64 products ~ 64 MB, + the
    # uint64 copy) whatever n is; encoding in one call allocates n x 128 bytes for the finiteness check alone
    assert by["encode"]["heap_peak_mb"] < 200
    m = by["evaluate"]["metrics"]
    assert m["map@all"] > 1.5 / N_CLASSES  # well above chance (~1 / N_CLASSES)


def test_scale_pipeline_small(tmp_path):
    n = 50_000
    rows = run_all(tmp_path, n)
    _check(rows, n)


@pytest.mark.slow
def test_scale_1m(benchmark, tmp_path):
    rows = benchmark.pedantic(lambda: run_all(tmp_path, N_DB), rounds=1, iterations=1)
    benchmark.extra_info["stages"] = rows
    print("\n" + _table(rows))
    print(json.dumps({r["stage"]: {k: v for k, v in r.items() if k not in ("stage",)} for r in rows}, indent=1))
    _check(rows, N_DB)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", choices=STAGES, default=None, help="run one stage in this process (internal)")
    ap.add_argument("--workdir", default=None, help="directory for the files (default: a temporary one)")
    ap.add_argument("--n", type=int, default=N_DB, help=f"database items (default {N_DB:,})")
    args = ap.parse_args(argv)
    if args.stage:
        print(json.dumps(run_stage(args.stage, Path(args.workdir), args.n)))
        return 0
    with tempfile.TemporaryDirectory(prefix="zsh-scale-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = run_all(work, args.n)
    print(_table(rows))
    print(json.dumps(rows, indent=1))
    _check(rows, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
