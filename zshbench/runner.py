"""The runner: method x dataset x protocol x bits x seeds -> result records.

One run (``run_one``): resolve the split, build the `TrainSet` (seen classes only), ``fit``, encode query and
database, evaluate, write the record atomically. ``run`` loops over code lengths and seeds, skips runs whose
record exists (resume after an interruption) unless ``force``, and computes features once for all of them.
"""

from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from zshbench import __version__
from zshbench.config import parse_overrides
from zshbench.data import TrainSet
from zshbench.errors import UserError
from zshbench.hasher import RUN_KEYS, Hasher, resolve_device
from zshbench.records import SCHEMA_VERSION, environment, load_record, record_path, utc_now, write_record
from zshbench.registry import get_dataset, get_method

__all__ = ["run", "build_trainset", "prepare", "Prepared", "seed_everything"]

DEFAULT_K = 5000


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy global RNG and torch (methods should still use their own generators)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


def build_trainset(dataset, split, features: np.ndarray | None = None, *, with_images: bool = True) -> TrainSet:
    """The TrainSet of ``split``: train items (seen classes only), labels re-indexed over the seen classes in
    protocol order, seen-class names and attribute rows. Nothing of an unseen class goes in."""
    seen = np.asarray(split.seen_classes)
    remap = np.full(dataset.n_classes, -1, dtype=np.int64)
    remap[seen] = np.arange(len(seen))
    labels = remap[dataset.labels[split.train]]
    if (labels < 0).any():  # check_split guarantees this; kept as a hard stop against leaks
        raise RuntimeError("train split contains an item of a non-seen class")
    if dataset.attribute_mode == "labels":
        names = tuple(dataset.class_names[c] for c in seen)
        att, att_names = np.eye(len(seen), dtype=np.float32), names
    else:
        att, att_names = np.asarray(dataset.class_attributes)[seen].copy(), tuple(dataset.attribute_names)
    return TrainSet(
        labels=labels,
        class_names=tuple(dataset.class_names[c] for c in seen),
        class_attributes=att,
        attribute_names=att_names,
        attribute_mode=dataset.attribute_mode,
        features=features,
        images=dataset.image_view(split.train) if (with_images and dataset.has_images) else None,
        dataset=dataset.name,
    )


def load_dataset(name: str, data_root: str | None = None, **kwargs: Any):
    """Instantiate a registered dataset. ``family:ARG`` names (e.g. ``folder:/path/to/images``) pass ARG to the
    factory as ``spec``."""
    if ":" in name:
        family, arg = name.split(":", 1)
        return get_dataset(family)(data_root=data_root, spec=arg, **kwargs)
    return get_dataset(name)(data_root=data_root, **kwargs)


@dataclasses.dataclass
class Prepared:
    """Everything a run needs, resolved once: method class, overrides, dataset, protocol and split."""

    method_cls: type
    overrides: dict[str, Any]
    dataset: Any
    protocol: Any
    split: Any
    device: str
    feature_spec: str | None

    def hasher_and_record(self, results_dir: str | Path, n_bits: int, seed: int) -> tuple[Hasher, Path]:
        """The run's (unfitted) hasher and the path of its record, the run's key (`zshbench.records.record_path`)."""
        hasher = self.method_cls(n_bits=int(n_bits), seed=int(seed), device=self.device, **self.overrides)
        path = record_path(results_dir, dataset=self.dataset.name, protocol=self.protocol.name,
                           method=self.method_cls.name, config_hash=hasher.config_hash(), n_bits=int(n_bits),
                           seed=int(seed))
        return hasher, path


def prepare(method: str, dataset: str, *, protocol: str | None = None, bits: Sequence[int] = (64,),
            seeds: Sequence[int] = (0,), device: str = "auto", overrides: dict | Sequence[str] | None = None,
            features: str = "auto", data_root: str | None = None, dataset_kwargs: dict | None = None) -> Prepared:
    """Validate every input and resolve method, dataset, protocol and split (no training yet).

    Raises:
        UserError: unknown names, bad --set keys or values, bits out of range, impossible method/dataset
            pairings, missing data.
    """
    from zshbench.protocols import load_protocol, resolve

    method_cls = get_method(method)
    overrides = overrides or {}
    ov = parse_overrides(method_cls.Config, overrides, owner=f"method '{method_cls.name}'")
    for k in RUN_KEYS:
        if k in ov:
            flag = "--bits" if k == "n_bits" else "--seeds"
            raise UserError(f"Set {k} with {flag}, not --set {k}=... (it is part of every record's key).")
    if not bits:
        raise UserError("No code lengths given: pass --bits, e.g. --bits 24,48,64,128.")
    if not seeds:
        raise UserError("No seeds given: pass --seeds, e.g. --seeds 0,1,2.")
    for b in bits:
        method_cls(n_bits=int(b), **ov).validate_config()
    for s in seeds:
        if int(s) < 0:
            raise UserError(f"Seeds must be non-negative integers, got {s}.")
    dev = resolve_device(device)
    if dev.startswith("cuda") and not method_cls.requires.gpu_capable:
        dev_note = "cpu"  # shallow methods compute on the CPU; evaluation may still use the GPU
    else:
        dev_note = dev
    ds = load_dataset(dataset, data_root=data_root, **(dataset_kwargs or {}))
    req = method_cls.requires
    spec = None
    if req.inputs == "images" and not ds.has_images:
        raise UserError(
            f"Method '{method_cls.name}' trains on images, but dataset '{ds.name}' provides only precomputed "
            "features. Use the image version of the dataset (e.g. awa2 instead of awa2-res101) or a "
            "feature-based method (lsh, pcah, itq, sh)."
        )
    if req.inputs == "features":
        from zshbench.features import resolve_spec

        spec = resolve_spec(features, ds)
    if not (protocol or ds.default_protocol):
        raise UserError(f"Dataset '{ds.name}' has no default protocol; pass --protocol NAME or a .toml file.")
    from pathlib import Path as _P

    default = ds.default_protocol
    if not protocol and default.endswith(".toml") and not _P(default).is_file():
        raise UserError(
            f"Dataset '{ds.name}' has no protocol: {default} does not exist. Write that file (format: "
            "docs/datasets.md) or define one on the command line with --unseen a,b --train-per-class N "
            "--query-per-class M."
        )
    proto = load_protocol(protocol or default)
    split = resolve(proto, ds)
    return Prepared(method_cls, ov, ds, proto, split, dev_note, spec)


def _progress_ctx(progress: bool, console):
    from contextlib import nullcontext

    if not progress:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def run(method: str, dataset: str, *, protocol: str | None = None, bits: Sequence[int] = (64,),
        seeds: Sequence[int] = (0,), device: str = "auto", overrides: dict | Sequence[str] | None = None,
        results_dir: str | Path = "results", force: bool = False, features: str = "auto",
        weights: str | None = None, data_root: str | None = None, k: int = DEFAULT_K, progress: bool = True,
        console=None, on_record: Callable[[dict, str], None] | None = None,
        dataset_kwargs: dict | None = None, memmap_threshold: int | None = None,
        checkpoint_every: int = 0, resume: bool = False) -> list[dict]:
    """Run ``method`` on ``dataset`` for every (bits, seed) and return the records (loaded or new).

    Args:
        method, dataset, protocol: registered names (protocol defaults to the dataset's).
        bits, seeds: code lengths and seeds; one record each.
        device: "auto", "cpu", "cuda", "cuda:N".
        overrides: config overrides (``["key=value"]`` or a dict).
        results_dir: root of the record tree.
        force: rerun even where a record exists.
        features: feature spec for feature-based methods ("auto", "pixels", "native", "timm:<model>").
        weights: backbone weights for ``timm:`` features (None = pretrained, a path, or "none").
        k: cut-off of map@k.
        progress: show rich progress bars.
        on_record: callback ``(record, status)`` with status "new" or "skipped".
        dataset_kwargs: extra keyword arguments of the dataset factory (e.g. ``image_size``).
        memmap_threshold: databases of at least this many items are encoded to a memory-mapped codes file
            instead of RAM (None: ``$ZSHBENCH_MEMMAP_THRESHOLD``, else 2,000,000; 0: always); see
            `zshbench.codes.encode_database`.
        checkpoint_every: deep methods save a training checkpoint next to the record every this many optimizer
            steps and when training ends (0: no checkpoints); see `zshbench.train.checkpoint`.
        resume: continue each run from its checkpoint, if there is one (refused when written by another
            configuration).

    Under ``torchrun``, deep methods train data-parallel on every rank and rank 0 alone evaluates and writes
    records; other methods run on rank 0 alone (`zshbench.train.distributed`).

    Returns:
        the records, in (bits, seed) order (on rank 0; other ranks return []).
    """
    prep = prepare(method, dataset, protocol=protocol, bits=bits, seeds=seeds, device=device,
                   overrides=overrides, features=features, data_root=data_root, dataset_kwargs=dataset_kwargs)
    if k <= 0:
        raise UserError(f"k must be a positive integer (map@k cut-off), got {k}.")
    from zshbench.codes import memmap_threshold as _check_threshold  # memmap-encode: validate early

    memmap_threshold = _check_threshold(memmap_threshold)
    ds, split = prep.dataset, prep.split
    # -- torchrun (DDP) and training checkpoints: zshbench/train/distributed.py, zshbench/train/checkpoint.py
    from zshbench.train import checkpoint as _ckpt
    from zshbench.train import distributed as _dist

    _ckpt.check_every(checkpoint_every)
    session = _dist.start(prep.method_cls, prep.device)
    if session.idle:  # torchrun with a method that does not train with DDP: rank 0 runs it alone
        return []
    prep.device = session.device
    progress = progress and session.info.is_main
    jobs = []
    for b in bits:
        for s in seeds:
            jobs.append(prep.hasher_and_record(results_dir, b, s))

    records: list[dict] = []
    todo = []
    for hasher, path in jobs:
        if _dist.from_main(path.exists()) and not force:  # every rank takes rank 0's decision
            rec = load_record(path)
            rec["_path"] = str(path)
            records.append(rec)
            if on_record:
                on_record(rec, "skipped")
        else:
            todo.append((hasher, path))
    if not todo:
        return records

    with _progress_ctx(progress, console) as bar:
        feats = _features(prep, weights, bar)
        train = build_trainset(ds, split, feats["train"] if feats else None)
        q_in = feats["query"] if feats else ds.image_view(split.query)
        db_in = feats["database"] if feats else ds.image_view(split.database)
        for hasher, path in todo:
            meta = _ckpt.identity(hasher, dataset=ds.name, protocol=prep.protocol.name,
                                  protocol_sha256=prep.protocol.sha256, split_fingerprint=split.fingerprint,
                                  world_size=session.info.world_size)
            with _ckpt.checkpointing(_ckpt.checkpoint_path(path), every=checkpoint_every, resume=resume, meta=meta):
                rec = run_one(hasher, prep, train, q_in, db_in, k=k, bar=bar, weights=weights,
                              memmap_threshold=memmap_threshold)
            if rec is not None:  # rank 0: the ranks met at a barrier after training; the write is atomic
                write_record(rec, path)
                _ckpt.discard(path)
                rec["_path"] = str(path)
                records.append(rec)
                if on_record:
                    on_record(rec, "new")
            _dist.barrier()
    order = {str(p): i for i, (_, p) in enumerate(jobs)}
    records.sort(key=lambda r: order.get(r["_path"], 0))
    return records


def _features(prep: Prepared, weights: str | None, bar) -> dict[str, np.ndarray] | None:
    if prep.feature_spec is None:
        return None
    from zshbench.features import extract_features

    out = {}
    for part in ("train", "query", "database"):
        idx = getattr(prep.split, part)
        task = bar.add_task(f"features {part}", total=len(idx)) if bar else None
        cb = (lambda n, _t=task: bar.advance(_t, n)) if bar else None
        key = f"{prep.dataset.fingerprint()}:{prep.split.fingerprint}:{part}"
        out[part] = extract_features(prep.dataset, idx, prep.feature_spec, device=prep.device, weights=weights,
                                     progress=cb, cache_key=key)
        if bar:
            bar.remove_task(task)
    return out


def run_one(hasher: Hasher, prep: Prepared, train: TrainSet, q_in, db_in, *, k: int = DEFAULT_K, bar=None,
            weights: str | None = None, memmap_threshold: int | None = None) -> dict | None:
    """Fit, encode, evaluate one configuration; return its record (not yet written; None on torchrun ranks > 0,
    which only train).

    A database of at least ``memmap_threshold`` items is encoded in chunks to a memory-mapped codes file
    (`zshbench.codes.encode_database`; None: the default threshold)."""
    from zshbench.evaluate import METRIC_VERSION, evaluate

    ds, split = prep.dataset, prep.split
    label = f"{hasher.name} {hasher.n_bits}b s{hasher.config.seed}"
    seed_everything(hasher.config.seed)
    t0 = time.perf_counter()
    task = bar.add_task(f"fit {label}", total=None) if bar else None
    hasher.fit(train)
    t_fit = time.perf_counter() - t0
    if bar:
        bar.remove_task(task)
    from zshbench.train.distributed import is_main

    if not is_main():  # torchrun: rank 0 alone encodes and evaluates
        return None

    def encode(x, what):
        t = bar.add_task(f"encode {what}", total=len(x)) if bar else None
        cb = (lambda n: bar.advance(t, n)) if bar else None
        if what == "database":  # memmap-encode: large databases stream to a memory-mapped file (zshbench.codes)
            from zshbench.codes import encode_database

            codes = encode_database(hasher, x, threshold=memmap_threshold, progress=cb)
        else:
            codes = hasher.encode(x, progress=cb)
        if bar:
            bar.remove_task(t)
        return codes

    t1 = time.perf_counter()
    cq = encode(q_in, "query")
    t_q = time.perf_counter() - t1
    t2 = time.perf_counter()
    cdb = encode(db_in, "database")
    t_db = time.perf_counter() - t2

    t3 = time.perf_counter()
    t = bar.add_task("evaluate", total=len(cq)) if bar else None
    res = evaluate(cq, cdb, ds.labels[split.query], ds.labels[split.database], n_bits=hasher.n_bits, k=k,
                   device=prep.device, progress=(lambda n: bar.advance(t, n)) if bar else None)
    t_eval = time.perf_counter() - t3
    if bar:
        bar.remove_task(t)
    # cost (parameters, FLOPs per item) and the unseen x seen class distances of RAZH Fig. 5 (record schema 2)
    from zshbench.complexity import measure_complexity
    from zshbench.leaderboard.distances import measure_class_distances

    complexity = measure_complexity(hasher, q_in[0:1])
    t4 = time.perf_counter()
    class_dist = measure_class_distances(hasher, train, cq, ds.labels[split.query], ds.class_names)
    t_cd = time.perf_counter() - t4

    feat_info = None
    if prep.feature_spec is not None:
        feat_info = {"spec": prep.feature_spec}
        try:
            from zshbench.features import describe

            feat_info = describe(prep.feature_spec, weights)
        except (ImportError, AttributeError):
            pass
    extras = {}
    if hasattr(hasher, "run_info"):
        extras = dict(hasher.run_info())
    rec = {
        "schema_version": SCHEMA_VERSION,
        "source": "measured",
        "method": hasher.name,
        "method_version": str(hasher.version),
        "params": hasher.get_params(),
        "config_hash": hasher.config_hash(),
        "dataset": ds.name,
        "dataset_info": ds.describe(),
        "protocol": {"name": prep.protocol.name, "version": prep.protocol.version, "sha256": prep.protocol.sha256},
        "split_fingerprint": split.fingerprint,
        "split_counts": split.counts(),
        "n_bits": hasher.n_bits,
        "seed": int(hasher.config.seed),
        "metrics": {m: float(v) for m, v in res.metrics.items()},
        "metric_version": str(METRIC_VERSION),
        "metric_conventions": dict(res.conventions),
        "curves": res.curves,
        "timings": {
            "fit_s": round(t_fit, 4),
            "encode_query_s": round(t_q, 4),
            "encode_database_s": round(t_db, 4),
            "encode_per_1000_s": round((t_q + t_db) / max(len(cq) + len(cdb), 1) * 1000, 5),
            "eval_s": round(t_eval, 4),
            "class_distances_s": round(t_cd, 4),
        },
        "complexity": complexity,
        "environment": environment(prep.device),
        "created_utc": utc_now(),
        "zshbench_version": __version__,
    }
    if feat_info:
        rec["features"] = feat_info
    if extras:
        rec["extras"] = extras
    if class_dist:
        rec["class_distances"] = class_dist
    return rec
