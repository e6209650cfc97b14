"""The `evaluate` entry point: validation, backend choice, query blocks, threads and aggregation."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from zshbench.errors import UserError

from . import HEADLINE_K
from . import kernels as kern
from .aggregate import Accumulator
from .inputs import check_choice, check_k, prepare_labels, prepare_pair
from .metrics import METRIC_VERSION, TIES, parse_metrics

__all__ = ["evaluate", "EvalResult", "BACKENDS"]

BACKENDS = ("auto", "numba", "numpy", "torch", "faiss")
_NUMBA_BLOCK = 256  # queries sharing one sweep over a database tile (split between the threads)
_NUMBA_BYTES_PER_QUERY = 128  # per query and distance bucket (histograms, counters, bit-sliced state)


@dataclass
class EvalResult:
    """Result of `evaluate`.

    Attributes:
        metrics: metric name -> value (plain floats), e.g. ``{"map@5000": 0.71, ...}``.
        curves: JSON-able curves ``pr_by_radius``, ``precision_at_n``, ``recall_at_n``.
        conventions: metric name -> one-line definition.
        info: run details (sizes, k, backend, device, seconds, metric_version).
    """

    metrics: dict[str, float]
    curves: dict[str, dict[str, list[float]]]
    conventions: dict[str, str]
    info: dict = field(default_factory=dict)
    per_query: dict = field(default_factory=dict)  # metric -> (n_query,) float64, for the metrics asked for

    def to_dict(self) -> dict:
        """JSON-able dict of everything."""
        return {"metrics": self.metrics, "curves": self.curves, "conventions": self.conventions, "info": self.info}


def _resolve_device(device):
    import torch

    try:
        dev = device if isinstance(device, torch.device) else torch.device(str(device))
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"Unknown device {device!r} ({exc}); use 'cpu', 'cuda' or 'cuda:N'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device={device!r} was requested but torch sees no CUDA device; use device='cpu'.")
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"Unsupported device {device!r}; use 'cpu', 'cuda' or 'cuda:N'.")
    return dev


def _resolve_backend(backend: str, device) -> tuple[str, object]:
    check_choice(backend, BACKENDS, "backend")
    if str(device) == "cpu" and backend != "torch":
        dev = None  # torch is imported only for the torch backend or a CUDA device
    else:
        dev = _resolve_device(device)
    if dev is not None and dev.type == "cuda":
        if backend not in ("auto", "torch"):
            raise UserError(
                f"backend={backend!r} runs on the CPU but device={str(device)!r}; use backend='torch' "
                "or 'auto' for a CUDA device, or device='cpu'."
            )
        return "torch", dev
    if backend == "auto":
        return ("numba" if kern.jit_enabled() else "numpy"), None
    if backend == "numba" and not kern.HAVE_NUMBA:
        raise UserError("backend='numba' needs the numba package (pip install numba); use backend='numpy'.")
    if backend == "numba" and not kern.jit_enabled():
        raise UserError(
            "backend='numba' cannot run with NUMBA_DISABLE_JIT=1 (its kernels exist only compiled); "
            "unset NUMBA_DISABLE_JIT, or use backend='auto' or 'numpy' (the same results)."
        )
    if backend == "faiss":
        try:
            import faiss  # noqa: F401
        except ImportError as exc:
            raise UserError("backend='faiss' needs faiss (pip install faiss-cpu); use backend='auto'.") from exc
    return backend, dev


@contextlib.contextmanager
def _threads(n_threads: int, backend: str):
    """Limit BLAS/OpenMP/torch/faiss threads for the duration of the call, restoring them afterwards."""
    from threadpoolctl import threadpool_limits

    if backend == "torch":
        import torch

        old_torch = torch.get_num_threads()
    faiss_mod = None
    if backend == "faiss":
        import faiss as faiss_mod

        old_faiss = faiss_mod.omp_get_max_threads()
        faiss_mod.omp_set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            if backend == "torch":
                torch.set_num_threads(n_threads)
            yield
    finally:
        if backend == "torch":
            torch.set_num_threads(old_torch)
        if faiss_mod is not None:
            faiss_mod.omp_set_num_threads(old_faiss)


def _faiss_ap_k(q_packed, db_packed, dbg, qrel, k):
    """Stable AP@k from faiss' exact binary k-NN, re-sorted by the unique key distance * N + index."""
    import faiss

    n_db = db_packed.shape[0]
    kk = min(k, n_db)
    dist, idx = faiss.knn_hamming(np.ascontiguousarray(q_packed), db_packed, kk)
    order = np.argsort(dist.astype(np.int64) * n_db + idx, axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    rs = qrel[np.arange(idx.shape[0])[:, None], dbg[idx]].astype(np.int64)
    cum = np.cumsum(rs, axis=1)
    prec = (cum / np.arange(1, kk + 1) * rs).sum(axis=1)
    return np.where(cum[:, -1] > 0, prec / np.maximum(cum[:, -1], 1), 0.0)


def evaluate(
    query_codes,
    db_codes,
    query_labels,
    db_labels,
    *,
    n_bits: int | None = None,
    k: int = HEADLINE_K,
    metrics: Iterable[str] | None = None,
    ties: str = "stable",
    device="cpu",
    backend: str = "auto",
    memory_budget: int = 1 << 30,
    n_threads: int = 1,
    kernels: str | None = None,
    progress: Callable[[int], None] | None = None,
    per_query: Iterable[str] = (),
) -> EvalResult:
    """Evaluate retrieval of ``db`` items by Hamming ranking for every query.

    Ranking is by ascending Hamming distance with ties broken by database index (``ties="stable"``); an item
    is relevant when it shares at least one label with the query. See ``docs/metrics.md`` for every definition.

    Args:
        query_codes: (n_query, n_bits) in {-1,+1}, {0,1} or bool, or packed uint8 (n_query, n_bytes); numpy or
            torch.
        db_codes: the database codes, same format and length.
        query_labels: (n_query,) integer classes or (n_query, n_classes) 0/1 multi-label matrix.
        db_labels: (n_db,) or (n_db, n_classes), same kind as ``query_labels``.
        n_bits: code length; inferred when omitted (packed uint8: 8 * n_bytes).
        k: cut-off of the ``map@k`` metrics (default `HEADLINE_K`); larger than the database means the whole
            database.
        metrics: metric names (``None`` = `DEFAULT_METRICS`; any registered metric, see `register_metric`);
            ``k`` in a generic name is replaced by its value.
        ties: tie order for ``map@k``/``map@all``: "stable", "relevant_first" or "relevant_last" (non-stable
            names get a ``:ties`` suffix).
        device: "cpu", "cuda", "cuda:N" or a torch.device; CUDA selects the torch path.
        backend: "auto" (numba if installed and not disabled by ``NUMBA_DISABLE_JIT``, else numpy; torch on
            CUDA), "numba", "numpy", "torch" or "faiss".
        memory_budget: bytes of extra working memory; the query block size is derived from it.
        n_threads: threads to use (default 1), restored afterwards.
        kernels: compiled kernels of the numba and faiss backends: "vector" (vector kernels for codes of at
            most 64 bits, scalar ones above) or "scalar" (scalar kernels only); ``None`` = the
            ``ZSHBENCH_EVAL_KERNELS`` environment variable, else "vector". Same results either way; a set
            that fails its first-use check falls back to the next (vector -> scalar -> numpy) with one
            warning per process. ``info["kernels"]`` says what ran.
        progress: optional callable receiving the number of queries done after each block.
        per_query: metrics (among those computed, e.g. ``("map@5000", "map@all")``) whose per-query values are
            returned in ``EvalResult.per_query`` (query order); their means are the metrics (to rounding).

    Returns:
        The `EvalResult`.

    Raises:
        UserError: on any invalid input (the message names the shapes or values and the fix).
    """
    t0 = time.perf_counter()
    k = check_k(k)
    check_choice(ties, TIES, "ties value")
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise UserError(f"n_threads must be a positive integer, got {n_threads!r}.")
    if not isinstance(memory_budget, (int, np.integer)) or memory_budget <= 0:
        raise UserError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}.")
    want_kernels = kern.requested_kernels(kernels)
    backend, dev = _resolve_backend(backend, device)
    q, d = prepare_pair(query_codes, db_codes, n_bits)
    nb = q.n_bits
    specs = parse_metrics(metrics, k, ties, nb)
    labels = prepare_labels(query_labels, db_labels, q.words.shape[0], d.words.shape[0])
    n_query, n_db = q.words.shape[0], d.words.shape[0]
    keep = tuple(str(m).replace("@k", f"@{k}") for m in per_query)
    names = {sp.name for sp in specs}
    missing = [m for m in keep if m not in names]
    if missing:
        raise UserError(
            f"per_query asks for {', '.join(missing)}, which this evaluation does not compute "
            f"(computed: {', '.join(sorted(names))}); ask for computed metrics."
        )
    at_end = [sp.name for sp in specs if sp.name in keep and sp.metric.at_end]
    if at_end:
        raise UserError(
            f"{', '.join(at_end)} come from the mean curves, not from per-query values; per_query "
            "takes per-query metrics such as map@k and map@all."
        )
    acc = Accumulator(specs, nb, n_db, k, keep)
    need_k, need_all = acc.need_stable_k, acc.need_stable_all
    need_ap = need_k or need_all
    dbw, dbg = np.ascontiguousarray(d.words), labels.db_group

    if backend == "torch":
        from .torch_backend import TORCH_BYTES_PER_PAIR, TorchRunner

        used = "torch"
        runner = TorchRunner(q.packed, d.packed, dbg, nb, dev, memory_budget)
        block = max(1, min(n_query, memory_budget // (TORCH_BYTES_PER_PAIR * n_db)))

        def run(s, e):
            return runner.block(s, e, labels.relevance(s, e), k, need_ap, need_all)
    else:
        used = kern.select_kernels(want_kernels, nb) if backend in ("numba", "faiss") else "numpy"
        if used != "numpy":
            vector = used == "vector"
            kernel = functools.partial(
                kern.block_stats_numba,
                use_simd=vector,
                sorted_db=kern.SortedDB(dbw, dbg, labels.n_groups, vector=vector),
            )
            per_pair = 0
        else:
            kernel, per_pair = kern.block_stats_numpy, kern.NUMPY_BYTES_PER_PAIR
        use_faiss = backend == "faiss"
        if per_pair:
            block = max(1, min(n_query, memory_budget // (per_pair * n_db)))
        else:
            # the block (and so the order of the floating-point sums) does not depend on n_threads: the
            # threads split each block
            block = max(1, min(n_query, _NUMBA_BLOCK, memory_budget // (_NUMBA_BYTES_PER_QUERY * (nb + 1))))

        def run_one(s, e):
            qrel = labels.relevance(s, e)
            qw = np.ascontiguousarray(q.words[s:e])
            st = kernel(qw, dbw, dbg, qrel, nb, k, need_ap and not (use_faiss and not need_all), need_all)
            if use_faiss and need_k:
                st.ap_k = _faiss_ap_k(q.packed[s:e], d.packed, dbg, qrel, k)
            return st

        def run(s, e):
            if n_threads == 1 or e - s < 2:
                return run_one(s, e)
            step = -(-(e - s) // n_threads)
            parts = list(pool.map(lambda a: run_one(a, min(e, a + step)), range(s, e, step)))
            return kern.BlockStats(
                *(
                    None if getattr(parts[0], f) is None else np.concatenate([getattr(p, f) for p in parts])
                    for f in ("hist_all", "hist_rel", "ap_k", "ap_all")
                )
            )

    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        with _threads(n_threads, backend):
            for s in range(0, n_query, block):
                e = min(n_query, s + block)
                acc.add(run(s, e))
                if progress is not None:
                    progress(e)
    finally:
        if pool is not None:
            pool.shutdown()
    info = {
        "n_query": n_query,
        "n_db": n_db,
        "n_bits": nb,
        "k": k,
        "ties": ties,
        "backend": backend,
        "kernels": used,
        "device": str(dev) if dev is not None else "cpu",
        "seconds": time.perf_counter() - t0,
        "metric_version": METRIC_VERSION,
    }
    return EvalResult(acc.metrics(), acc.curves(), {s.name: s.convention() for s in specs}, info, acc.per_query())
