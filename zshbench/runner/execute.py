"""Making runs: `run` (look every run up, then fit / encode / evaluate what is not done and write the records)
and `run_one` (one run, returning its `Record`)."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from zshbench import __version__
from zshbench.artifacts import artifact_names, artifact_paths, write_artifacts
from zshbench.environment import environment
from zshbench.errors import UserError
from zshbench.hasher import RUN_KEYS, Hasher
from zshbench.records import Record, write_record
from zshbench.runner.facts import _per_class, _pretraining
from zshbench.runner.prepare import DEFAULT_K, Prepared, Slot, _unique, build_trainset, prepare
from zshbench.train import tblog
from zshbench.train.session import TrainingSession
from zshbench.trainset import TrainSet

__all__ = ["run", "run_one", "seed_everything"]


def seed_everything(seed: int, torch_too: bool = False) -> None:
    """Seed Python, numpy's legacy global RNG and, when it is in use (or ``torch_too``), torch (methods still use
    their own generators). torch is not imported for methods that do not use it (start-up time)."""
    import sys

    random.seed(seed)
    np.random.seed(seed % (2**32))
    if torch_too or "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def _progress_ctx(progress: bool, console):
    """The run's progress display (the same columns as training's, `zshbench.train.loop`, without loss terms)."""
    from zshbench.train.loop import _progress

    return _progress(progress, console=console, terms=False)


def run(
    method: str,
    dataset: str,
    *,
    protocol: str | None = None,
    bits: Sequence[int] = (64,),
    seeds: Sequence[int] = (0,),
    device: str = "auto",
    overrides: dict | Sequence[str] | None = None,
    results_dir: str | Path = "results",
    force: bool = False,
    features: str = "auto",
    weights: str | None = None,
    data_root: str | None = None,
    k: int = DEFAULT_K,
    progress: bool = True,
    console=None,
    on_record: Callable[[Record, str], None] | None = None,
    dataset_kwargs: dict | None = None,
    memmap_threshold: int | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    eval_variant: str = "standard",
    save_codes: bool = False,
    save_model: bool = False,
    provenance: dict | None = None,
    log_dir: str | Path | None = None,
) -> list[Record]:
    """Run ``method`` on ``dataset`` for every (bits, seed) and return the records (loaded or new).

    Args:
        method, dataset, protocol: registered names (protocol defaults to the dataset's).
        bits, seeds: code lengths and seeds; one record each (repeated values count once).
        device: "auto", "cpu", "cuda", "cuda:N".
        overrides: config overrides (``["key=value"]`` or a dict).
        results_dir: root of the record tree.
        force: rerun even where a record with the run's identity exists (it is replaced; a record of any other
            experiment is never touched), and replace unreadable or edited records.
        features: feature spec for feature-based methods ("auto", "pixels", "native", "timm:<model>").
        weights: backbone weights for ``timm:`` features (None = pretrained, a path, or "none").
        k: cut-off of map@k (part of the run's identity).
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
        eval_variant: "standard", or "leaky" to measure the published COMAE/PIXEL code's mistake (the unseen
            queries also in the database; a separate record, never in the leaderboard's tables).
        save_codes, save_model: also write the query and database codes (``<record stem>.codes.npz``) and the
            fitted hasher (``<record stem>.model.safetensors``) beside each record (`zshbench.artifacts`); not
            part of the run's identity. A run whose record exists but lacks a requested artifact is run again
            (its record is replaced by one with the same identity).
        provenance: entries added to each new record's ``extras`` saying how the run was asked for (e.g. the
            ``--config`` file's text); not part of the run's identity.
        log_dir: write TensorBoard logs of deep training under this folder, one folder per run named like its
            record (`zshbench.train.tblog`); changes nothing else.

    Under ``torchrun``, deep methods train data-parallel on every rank and rank 0 alone evaluates and writes
    records; other methods run on rank 0 alone (`zshbench.train.distributed`).

    Returns:
        the records, in (bits, seed) order (on rank 0; other ranks return []).

    Raises:
        UserError: any bad input (before any work), or a record in the way that cannot be used (unreadable,
            edited, another run's) when ``force`` is not set.
    """
    bits, seeds = _unique(bits, "--bits"), _unique(seeds, "--seeds")
    prep = prepare(
        method,
        dataset,
        protocol=protocol,
        bits=bits,
        seeds=seeds,
        device=device,
        overrides=overrides,
        features=features,
        data_root=data_root,
        dataset_kwargs=dataset_kwargs,
        weights=weights,
        k=k,
        results_dir=results_dir,
        eval_variant=eval_variant,
    )
    from zshbench.codes import memmap_threshold as _check_threshold  # memmap-encode: validate early

    memmap_threshold = _check_threshold(memmap_threshold)
    if log_dir is not None:  # the tensorboard package and a writable folder, before any work
        from zshbench.paths import check_writable_dir

        tblog.check_available()
        check_writable_dir(log_dir, "--log-dir")
    prep.provenance = dict(provenance or {}) or None
    ds, split = prep.dataset, prep.split
    if len(split.database) >= memmap_threshold:  # the codes folder is checked before any work
        from zshbench.codes import codes_dir

        codes_dir()
    if (checkpoint_every or resume) and prep.method_cls.requires.inputs != "images":
        flags = " and ".join(f for f, on in (("--checkpoint-every", checkpoint_every), ("--resume", resume)) if on)
        raise UserError(
            f"{flags} {'apply' if ' and ' in flags else 'applies'} to deep methods, whose training takes minutes to "
            "hours; method "
            f"'{prep.method_cls.name}' fits in one pass and has nothing to checkpoint. Drop {flags}."
        )
    # torchrun (DDP) and training checkpoints, behind one object: zshbench/train/session.py
    session = TrainingSession.start(prep.method_cls, prep.device, checkpoint_every=checkpoint_every, resume=resume)
    if session.idle:  # torchrun with a method that does not train with DDP: rank 0 runs it alone
        return []
    prep.device, prep.world_size = session.device, session.world_size
    progress = progress and session.is_main

    looks = [prep.lookup(results_dir, b, s) for b in bits for s in seeds]
    bad = [lk for lk in looks if lk.status == "invalid"]
    if bad and not force:
        shown = " ".join(lk.problem or str(lk.slot.path) for lk in bad[:3])
        raise UserError(
            f"{len(bad)} record(s) in the way cannot be used: {shown} Nothing was run. Delete the file(s), or rerun "
            "with --force to run again and replace them (only the runs asked for are replaced)."
        )
    records: list[Record] = []
    todo = []
    wanted = artifact_names(save_codes, save_model)
    for lk in looks:
        have = all(path.is_file() for path in artifact_paths(lk.slot.path, wanted))
        if session.agree(lk.status == "done" and not force and have):
            records.append(lk.record)
            if on_record:
                on_record(lk.record, "skipped")
        else:
            todo.append(lk.slot)
    if not todo:
        return records

    with _progress_ctx(progress, console) as bar:
        feats = _features(prep, weights, bar)
        train = build_trainset(ds, split, feats["train"] if feats else None)
        q_in, db_in, sq_in = _inputs(prep, feats)
        for slot in todo:
            with (
                session.checkpointing(
                    slot.path,
                    slot.hasher,
                    dataset=ds.name,
                    protocol=prep.protocol.name,
                    protocol_sha256=prep.protocol.sha256,
                    split_fingerprint=split.fingerprint,
                ),
                tblog.logging_to(tblog.run_log_dir(log_dir, slot.path) if log_dir is not None else None),
            ):
                rec = run_one(
                    slot,
                    prep,
                    train,
                    q_in,
                    db_in,
                    sq_in=sq_in,
                    bar=bar,
                    weights=weights,
                    memmap_threshold=memmap_threshold,
                    artifacts=wanted,
                )
            if rec is not None:  # rank 0: the ranks met at a barrier after training; the write is atomic
                write_record(rec, slot.path)
                rec = dataclasses.replace(rec, path=str(slot.path))
                records.append(rec)
                if on_record:
                    on_record(rec, "new")
            session.finished(slot.path if rec is not None else None)
    order = {str(lk.slot.path): i for i, lk in enumerate(looks)}
    records.sort(key=lambda r: order.get(r.path or "", 0))
    return records


def _inputs(prep: Prepared, feats: dict | None):
    """(unseen queries, database, held-out seen queries or None) as features or image views."""
    ds, split = prep.dataset, prep.split
    seen = getattr(split, "seen_query", None)
    if feats:
        return feats["query"], feats["database"], feats.get("seen_query")
    sq = ds.image_view(seen) if seen is not None and len(seen) else None
    return ds.image_view(split.query), ds.image_view(split.database), sq


def _features(prep: Prepared, weights: str | None, bar) -> dict[str, np.ndarray] | None:
    if prep.feature_spec is None:
        return None
    from zshbench.features import extract_features

    out = {}
    for part in ("train", "query", "seen_query", "database"):
        idx = getattr(prep.split, part, None)
        if idx is None or (part == "seen_query" and len(idx) == 0):
            continue
        task = bar.add_task(f"features {part}", total=len(idx)) if bar else None
        cb = (lambda n, _t=task: bar.advance(_t, n)) if bar else None
        key = f"{prep.dataset.fingerprint()}:{prep.split.fingerprint}:{part}"
        out[part] = extract_features(
            prep.dataset, idx, prep.feature_spec, device=prep.device, weights=weights, progress=cb, cache_key=key
        )
        if bar:
            bar.remove_task(task)
    return out


def run_one(
    slot: Slot | Hasher,
    prep: Prepared,
    train: TrainSet,
    q_in,
    db_in,
    *,
    k: int | None = None,
    bar=None,
    weights: str | None = None,
    memmap_threshold: int | None = None,
    sq_in=None,
    artifacts: Sequence[str] = (),
) -> Record | None:
    """Fit, encode, evaluate one run in every setting (`zshbench.evaluate.settings`); return its `Record` (not yet
    written; None on torchrun ranks > 0, which only train). Its per-query results are written beside
    ``slot.path`` first (`zshbench.records.sidecar`), so the record, written by the caller, never names a missing
    sidecar.

    ``slot`` is the run's `Slot` (from `Prepared.slot`); a bare `Hasher` is accepted for callers that do not
    write records (its identity is then computed here and no sidecar is written). ``sq_in``: the held-out seen
    queries (features or images; None: the protocol has none). A database of at least ``memmap_threshold``
    items is encoded in chunks to a memory-mapped codes file (`zshbench.codes.encode_database`; None: the
    default threshold). ``artifacts``: "codes" and/or "model", written beside the record before it
    (`zshbench.artifacts`; ignored for a bare `Hasher`)."""
    from zshbench.evaluate.settings import evaluate_settings
    from zshbench.records.sidecar import encode_sidecar, write_sidecar

    if k is not None and int(k) != prep.k:
        prep = dataclasses.replace(prep, k=int(k))
    write_side = not isinstance(slot, Hasher)
    if isinstance(slot, Hasher):
        h = slot
        slot = prep.slot(".", h.n_bits, int(h.config.seed))
        slot = dataclasses.replace(slot, hasher=h)
    hasher = slot.hasher
    ds, split = prep.dataset, prep.split
    label = f"{hasher.name} {hasher.n_bits}b s{hasher.config.seed}"
    seed_everything(hasher.config.seed, torch_too=prep.method_cls.requires.inputs == "images")
    t0 = time.perf_counter()
    task = bar.add_task(f"fit {label}", total=None) if bar else None
    from zshbench.train.loop import use_progress_bar

    with use_progress_bar(bar):  # deep training shows its epochs, steps and loss terms in this bar
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
    seen_idx = getattr(split, "seen_query", None)
    cs = None
    if sq_in is not None and prep.variant == "standard":
        t5 = time.perf_counter()
        cs = encode(sq_in, "seen queries")
        t_q += time.perf_counter() - t5

    t3 = time.perf_counter()
    t = bar.add_task("evaluate", total=len(cq)) if bar else None
    ev = evaluate_settings(
        cq,
        cdb,
        ds.labels[split.query],
        ds.labels[split.database],
        unseen_classes=split.unseen_classes,
        n_bits=hasher.n_bits,
        k=prep.k,
        codes_seen_query=cs,
        labels_seen_query=ds.labels[seen_idx] if cs is not None else None,
        index_query=split.query,
        index_seen_query=seen_idx if cs is not None else None,
        variant=prep.variant,
        device=prep.device,
        progress=(lambda n: bar.advance(t, n)) if bar else None,
    )
    res = ev.headline
    t_eval = time.perf_counter() - t3
    per_class = _per_class(ds, split, res.per_query, prep.k)
    per_query_ref = None
    if write_side:
        data = encode_sidecar(ev.per_query)
        per_query_ref = {**write_sidecar(slot.path, data), "keys": sorted(ev.per_query)}
        if artifacts:
            write_artifacts(slot, prep, artifacts, cq, cdb)
    if bar:
        bar.remove_task(t)
    # cost (parameters, FLOPs per item) and the unseen x seen class distances of RAZH Fig. 5
    from zshbench.complexity import measure_complexity
    from zshbench.evaluate.class_distances import measure_class_distances

    complexity = measure_complexity(hasher, q_in[0:1])
    t4 = time.perf_counter()
    class_dist = measure_class_distances(hasher, train, cq, ds.labels[split.query], ds.class_names)
    t_cd = time.perf_counter() - t4

    feat_info = None
    if prep.feature_spec is not None:
        from zshbench.features import describe

        feat_info = describe(prep.feature_spec, weights)
    extras = {**hasher.run_info(), **(prep.provenance or {})}
    params = hasher.get_params()
    defaults = type(hasher)(n_bits=hasher.n_bits, seed=int(hasher.config.seed)).get_params()
    non_default = {k: v for k, v in params.items() if k not in RUN_KEYS and defaults.get(k, object()) != v}
    pretraining = _pretraining(prep, extras, weights)
    counts = dict(split.counts())
    dup = getattr(split, "content_duplicates", None)
    if dup is not None:
        counts["content_duplicates"] = int(dup)
    return Record.create(
        identity=slot.identity,
        params=params,
        non_default_params=non_default,
        config_hash=hasher.config_hash(),
        split_fingerprint=split.fingerprint,
        split_counts=counts,
        dataset_info=ds.describe(),
        metrics={m: float(v) for m, v in res.metrics.items()},
        metric_conventions=dict(res.conventions),
        curves=res.curves,
        timings={
            "fit_s": round(t_fit, 4),
            "encode_query_s": round(t_q, 4),
            "encode_database_s": round(t_db, 4),
            "encode_per_1000_s": round((t_q + t_db) / max(len(cq) + len(cdb), 1) * 1000, 5),
            "eval_s": round(t_eval, 4),
            "class_distances_s": round(t_cd, 4),
        },
        complexity=complexity,
        environment=environment(prep.device),
        zshbench_version=__version__,
        features=feat_info,
        extras=extras,
        class_distances=class_dist or None,
        pretraining=pretraining,
        settings=ev.settings or None,
        per_query=per_query_ref,
        per_class=per_class,
    )
