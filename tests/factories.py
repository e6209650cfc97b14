"""Hand-made typed records for tests of the leaderboard and reports (no run, no environment)."""

from __future__ import annotations

import hashlib

from zshbench.config import config_hash
from zshbench.records import Record, run_identity


def _hex(text: str, n: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def make_record(
    method: str = "lsh",
    dataset: str = "toy",
    protocol: str = "toy-zsh",
    n_bits: int = 32,
    seed: int = 0,
    metrics: dict | None = None,
    *,
    params: dict | None = None,
    k: int = 5000,
    timings: dict | None = None,
    complexity: dict | None = None,
    environment: dict | None = None,
    features: dict | None = None,
    method_version: str = "1",
    protocol_sha: str | None = None,
    pinned: bool | None = True,
    split_counts: dict | None = None,
    zshbench_version: str = "0",
    non_default_params: dict | None = None,
    metric_conventions: dict | None = None,
    variant: str = "standard",
    **extra,
) -> Record:
    """A valid `Record` with the given fields; everything else deterministic filler."""
    cfg = {"n_bits": n_bits, "seed": seed, **(params or {})}
    ident = run_identity(
        method=method,
        method_version=method_version,
        config=cfg,
        features={"spec": "pixels", "weights": None} if features is None else features,
        dataset={"name": dataset, "version": "1", "fingerprint": _hex(dataset)},
        protocol={"name": protocol, "version": "1", "sha256": protocol_sha or _hex(protocol), "pinned": pinned},
        evaluation={"k": k, "metric_version": "1", "metric_set": "default", "variant": variant},
        n_bits=n_bits,
        seed=seed,
    )
    metrics = dict(metrics or {f"map@{k}": 0.5, "map@all": 0.4})
    return Record.create(
        identity=ident,
        params=cfg,
        config_hash=config_hash(cfg, exclude=("n_bits", "seed")),
        split_fingerprint=_hex(f"{dataset}/{protocol}"),
        metrics=metrics,
        metric_conventions=metric_conventions
        or {m: ("AP over the top 5000." if m == "map@5000" else "test") for m in metrics},
        timings=timings or {"fit_s": 0.1},
        complexity=complexity or {"params": None, "flops_per_image": None, "counter": "none"},
        environment=environment or {"device_name": "Test CPU"},
        zshbench_version=zshbench_version,
        features={"spec": "pixels"} if features is None else features,
        created_utc="2026-01-01T00:00:00Z",
        split_counts=split_counts or {"train": 10, "query": 4, "database": 6},
        non_default_params={} if non_default_params is None else non_default_params,
        **extra,
    )
