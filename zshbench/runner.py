"""The runner: method x dataset x protocol x bits x seeds -> result records.

``prepare`` validates every input and resolves method, dataset, protocol and split before any work. Each run
then has an identity (`zshbench.records.run_identity`: every input that can change one of its numbers) whose
hash names its record file (`Prepared.slot`). ``run`` looks every run up first (`Prepared.lookup`): a run is
skipped only when a valid record with exactly its identity exists; an unreadable or edited record stops the
command (exit 2, naming the file) unless ``force``; nothing of another experiment is ever returned or
overwritten. The rest run one by one (``run_one``): build the `TrainSet` (seen classes only), ``fit``, encode
query and database, evaluate, and write the `Record` atomically. Features are computed once for all runs.
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
from zshbench.errors import RecordError, UserError
from zshbench.evaluate import HEADLINE_K
from zshbench.hasher import RUN_KEYS, Hasher, resolve_device
from zshbench.records import (
    Record,
    environment,
    identity_difference,
    identity_hash,
    load_record,
    record_path,
    run_identity,
    write_record,
)
from zshbench.registry import get_dataset, get_method

__all__ = ["run", "run_one", "build_trainset", "prepare", "Prepared", "Slot", "Lookup", "load_dataset", "seed_everything"]

DEFAULT_K = HEADLINE_K


def seed_everything(seed: int, torch_too: bool = False) -> None:
    """Seed Python, numpy's legacy global RNG and, when it is in use (or ``torch_too``), torch (methods still use
    their own generators). torch is not imported for methods that do not use it (start-up time)."""
    import sys

    random.seed(seed)
    np.random.seed(seed % (2**32))
    if torch_too or "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


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


_FLAGS = {"image_size": "--image-size", "unseen": "--unseen", "train_per_class": "--train-per-class",
          "query_per_class": "--query-per-class"}


def load_dataset(name: str, data_root: str | None = None, **kwargs: Any):
    """Instantiate a registered dataset. ``family:ARG`` names (e.g. ``folder:/path/to/images``) pass ARG to the
    factory as ``spec``.

    Raises:
        UserError: an unknown name, or an option the dataset does not take (e.g. ``--image-size`` on the
            built-in ``shapes``, whose images are generated at 32x32).
    """
    import inspect

    family, sep, arg = name.partition(":")
    factory = get_dataset(family if sep else name)
    if kwargs:
        try:
            sig = inspect.signature(factory)
            accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
            bad = [k for k in kwargs if not accepts_any and k not in sig.parameters]
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            bad = []
        if bad:
            flags = ", ".join(_FLAGS.get(k, k) for k in bad)
            raise UserError(
                f"Dataset '{name}' does not take {flags}: its images and split come with the dataset (the built-in "
                f"datasets are generated or shipped at a fixed size). {flags} apply to image-file datasets "
                "(cifar10, cub, awa2, sun, folder:PATH); drop the option for this dataset."
            )
    if sep:
        return factory(data_root=data_root, spec=arg, **kwargs)
    return factory(data_root=data_root, **kwargs)


def _dataset_identity(ds) -> dict[str, Any]:
    ident = getattr(ds, "identity", None)
    if callable(ident):
        return dict(ident())
    return {"name": ds.name, "version": str(getattr(ds, "version", "1")), "fingerprint": ds.fingerprint()}


def _features_identity(spec: str | None, weights: str | None) -> dict[str, Any] | None:
    """The feature stage's part of a run identity: the spec and the weights by fingerprint (never by path)."""
    if spec is None:
        return None
    from zshbench.features import parse_spec

    kind, _ = parse_spec(spec)
    out: dict[str, Any] = {"spec": spec, "weights": None}
    if kind == "timm":
        from importlib import metadata

        from zshbench.features import weights_fingerprint

        out["weights"] = weights_fingerprint(weights)
        out["timm"] = metadata.version("timm")
    return out


@dataclasses.dataclass(frozen=True)
class Slot:
    """One run to look up or make: its (unfitted) hasher, identity, identity hash and record path."""

    hasher: Hasher
    identity: dict[str, Any]
    id_hash: str
    path: Path


@dataclasses.dataclass(frozen=True)
class Lookup:
    """What the results directory holds for a `Slot`: ``status`` is "done" (a valid record with exactly this
    identity: ``record``), "missing", or "invalid" (the file cannot be used: ``problem``)."""

    slot: Slot
    status: str
    record: Record | None = None
    problem: str | None = None


@dataclasses.dataclass
class Prepared:
    """Everything a run needs, resolved once: method class, overrides, dataset, protocol, split, the feature
    spec and weights, the evaluation's k and the training world size."""

    method_cls: type
    overrides: dict[str, Any]
    dataset: Any
    protocol: Any
    split: Any
    device: str
    feature_spec: str | None
    weights: str | None = None
    k: int = DEFAULT_K
    world_size: int = 1

    def evaluation(self) -> dict[str, Any]:
        from zshbench.evaluate import METRIC_VERSION

        return {"k": int(self.k), "metric_version": str(METRIC_VERSION), "metric_set": "default",
                "variant": "standard"}

    def protocol_ref(self) -> dict[str, Any]:
        p = self.protocol
        return {"name": p.name, "version": p.version, "sha256": p.sha256, "pinned": getattr(p, "pinned", None)}

    def slot(self, results_dir: str | Path, n_bits: int, seed: int) -> Slot:
        """The run's hasher, identity and record path (`zshbench.records.record_path`)."""
        hasher = self.method_cls(n_bits=int(n_bits), seed=int(seed), device=self.device, **self.overrides)
        if not hasattr(self, "_ds_identity"):
            self._ds_identity = _dataset_identity(self.dataset)
            self._feat_identity = _features_identity(self.feature_spec, self.weights)
        ident = run_identity(method=self.method_cls.name, method_version=str(self.method_cls.version),
                             config=hasher.identity_params(), features=self._feat_identity,
                             dataset=self._ds_identity, protocol=self.protocol_ref(), evaluation=self.evaluation(),
                             n_bits=int(n_bits), seed=int(seed), world_size=self.world_size)
        h = identity_hash(ident)
        path = record_path(results_dir, dataset=self.dataset.name, protocol=self.protocol.name,
                           method=self.method_cls.name, n_bits=int(n_bits), seed=int(seed), id_hash=h)
        return Slot(hasher, ident, h, path)

    def lookup(self, results_dir: str | Path, n_bits: int, seed: int) -> Lookup:
        """Whether the run is done: a record is "done" only when it loads, validates and has exactly this
        run's identity."""
        slot = self.slot(results_dir, n_bits, seed)
        if not slot.path.exists():
            return Lookup(slot, "missing")
        try:
            rec = load_record(slot.path)
        except RecordError as exc:
            return Lookup(slot, "invalid", problem=str(exc))
        if rec.identity_hash != slot.id_hash:
            diff = "; ".join(identity_difference(rec.identity, slot.identity)) or "identity hash"
            return Lookup(slot, "invalid", problem=f"{slot.path}: holds another run (differs in {diff}).")
        return Lookup(slot, "done", record=rec)


def _unique(values: Sequence[int], flag: str) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise UserError(f"{flag} takes integers, got {v!r}.")
        if int(v) not in out:
            out.append(int(v))
    return out


def prepare(method: str, dataset: str, *, protocol: str | None = None, bits: Sequence[int] = (64,),
            seeds: Sequence[int] = (0,), device: str = "auto", overrides: dict | Sequence[str] | None = None,
            features: str = "auto", data_root: str | None = None, dataset_kwargs: dict | None = None,
            weights: str | None = None, k: int = DEFAULT_K, results_dir: str | Path | None = None) -> Prepared:
    """Validate every input and resolve method, dataset, protocol and split (no training yet).

    Args:
        results_dir: when given, checked to be a writable folder outside the dataset's own folder.

    Raises:
        UserError: unknown names, bad --set keys or values, bits or seeds out of range, impossible
            method/dataset pairings, missing data, an unusable results folder.
    """
    from zshbench.protocols import load_protocol, resolve

    method_cls = get_method(method)
    overrides = overrides or {}
    ov = parse_overrides(method_cls.Config, overrides, owner=f"method '{method_cls.name}'")
    for key in RUN_KEYS:
        if key in ov:
            flag = "--bits" if key == "n_bits" else "--seeds"
            raise UserError(f"Set {key} with {flag}, not --set {key}=... (it is part of every run's identity).")
    if not bits:
        raise UserError("No code lengths given: pass --bits, e.g. --bits 24,48,64,128.")
    if not seeds:
        raise UserError("No seeds given: pass --seeds, e.g. --seeds 0,1,2.")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or int(s) < 0:
            raise UserError(f"Seeds must be non-negative integers, got {s!r}.")
    for b in bits:
        for s in seeds:
            method_cls(n_bits=int(b), seed=int(s), **ov).validate_config()
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise UserError(f"k must be a positive integer (the map@k cut-off, e.g. --k {HEADLINE_K}), got {k!r}.")
    if protocol is not None and not str(protocol).strip():
        raise UserError("--protocol is empty: give a protocol name (zshbench list protocols) or a .toml file, or "
                        "leave the flag out to use the dataset's default protocol.")
    if results_dir is not None:
        from zshbench.paths import check_writable_dir

        check_writable_dir(results_dir, "--results")
    if device == "auto" and not method_cls.requires.gpu_capable:
        dev = "cpu"  # shallow methods compute on the CPU (no torch import just to ask for CUDA)
    else:
        dev = resolve_device(device)
    if dev.startswith("cuda") and not method_cls.requires.gpu_capable:
        dev = "cpu"  # shallow methods compute on the CPU
    ds = load_dataset(dataset, data_root=data_root, **(dataset_kwargs or {}))
    root = getattr(ds, "root", None)
    if results_dir is not None and root:
        res, base = Path(results_dir).resolve(), Path(root).resolve()
        if res == base or base in res.parents:
            raise UserError(
                f"--results {results_dir} lies inside the dataset folder {base}: its record folders would be read "
                "as image classes on the next run. Write results elsewhere, e.g. --results "
                f"{base.parent / (base.name + '-results')}."
            )
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
        if weights is not None and not spec.startswith("timm:"):
            raise UserError(
                f"--weights applies to backbone features (--features timm:<model>), not to --features {spec}; "
                "drop --weights or choose a timm backbone."
            )

    elif weights is not None:
        raise UserError(f"--weights sets the weights of the feature stage (feature-based methods); method "
                        f"'{method_cls.name}' trains its own network: use --set weights=PATH for its backbone.")
    if not (protocol or ds.default_protocol):
        raise UserError(f"Dataset '{ds.name}' has no default protocol; pass --protocol NAME or a .toml file.")
    default = ds.default_protocol
    if not protocol and default.endswith(".toml") and not Path(default).is_file():
        raise UserError(
            f"Dataset '{ds.name}' has no protocol: {default} does not exist. Write that file (format: "
            "docs/datasets.md) or define one on the command line with --unseen a,b --train-per-class N "
            "--query-per-class M."
        )
    proto = load_protocol(protocol or default)
    split = resolve(proto, ds)
    shape = getattr(ds, "image_shape", None)
    if spec == "pixels" and shape:  # the feature dimension is known: refuse an impossible fit before extraction
        for b in bits:
            h = method_cls(n_bits=int(b), seed=int(seeds[0]), **ov)
            if hasattr(h, "check_fit_memory"):
                h.check_fit_memory(len(split.train), int(np.prod(shape)))
    return Prepared(method_cls, ov, ds, proto, split, dev, spec, weights=weights, k=int(k))


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
        console=None, on_record: Callable[[Record, str], None] | None = None,
        dataset_kwargs: dict | None = None, memmap_threshold: int | None = None,
        checkpoint_every: int = 0, resume: bool = False) -> list[Record]:
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

    Under ``torchrun``, deep methods train data-parallel on every rank and rank 0 alone evaluates and writes
    records; other methods run on rank 0 alone (`zshbench.train.distributed`).

    Returns:
        the records, in (bits, seed) order (on rank 0; other ranks return []).

    Raises:
        UserError: any bad input (before any work), or a record in the way that cannot be used (unreadable,
            edited, another run's) when ``force`` is not set.
    """
    bits, seeds = _unique(bits, "--bits"), _unique(seeds, "--seeds")
    prep = prepare(method, dataset, protocol=protocol, bits=bits, seeds=seeds, device=device,
                   overrides=overrides, features=features, data_root=data_root, dataset_kwargs=dataset_kwargs,
                   weights=weights, k=k, results_dir=results_dir)
    from zshbench.codes import memmap_threshold as _check_threshold  # memmap-encode: validate early

    memmap_threshold = _check_threshold(memmap_threshold)
    ds, split = prep.dataset, prep.split
    if len(split.database) >= memmap_threshold:  # the codes folder is checked before any work
        from zshbench.codes import codes_dir

        codes_dir()
    # -- torchrun (DDP) and training checkpoints: zshbench/train/distributed.py, zshbench/train/checkpoint.py
    from zshbench.train import checkpoint as _ckpt
    from zshbench.train import distributed as _dist

    _ckpt.check_every(checkpoint_every)
    if (checkpoint_every or resume) and prep.method_cls.requires.inputs != "images":
        flags = " and ".join(f for f, on in (("--checkpoint-every", checkpoint_every), ("--resume", resume)) if on)
        raise UserError(f"{flags} apply to deep methods, whose training takes minutes to hours; method "
                        f"'{prep.method_cls.name}' fits in one pass and has nothing to checkpoint. Drop {flags}.")
    session = _dist.start(prep.method_cls, prep.device)
    if session.idle:  # torchrun with a method that does not train with DDP: rank 0 runs it alone
        return []
    prep.device = session.device
    prep.world_size = session.info.world_size
    progress = progress and session.info.is_main
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
    for lk in looks:
        if _dist.from_main(lk.status == "done" and not force):  # every rank takes rank 0's decision
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
        q_in = feats["query"] if feats else ds.image_view(split.query)
        db_in = feats["database"] if feats else ds.image_view(split.database)
        for slot in todo:
            meta = _ckpt.identity(slot.hasher, dataset=ds.name, protocol=prep.protocol.name,
                                  protocol_sha256=prep.protocol.sha256, split_fingerprint=split.fingerprint,
                                  world_size=session.info.world_size)
            with _ckpt.checkpointing(_ckpt.checkpoint_path(slot.path), every=checkpoint_every, resume=resume,
                                     meta=meta):
                rec = run_one(slot, prep, train, q_in, db_in, bar=bar, weights=weights,
                              memmap_threshold=memmap_threshold)
            if rec is not None:  # rank 0: the ranks met at a barrier after training; the write is atomic
                write_record(rec, slot.path)
                _ckpt.discard(slot.path)
                rec = dataclasses.replace(rec, path=str(slot.path))
                records.append(rec)
                if on_record:
                    on_record(rec, "new")
            _dist.barrier()
    order = {str(lk.slot.path): i for i, lk in enumerate(looks)}
    records.sort(key=lambda r: order.get(r.path or "", 0))
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


def run_one(slot: Slot | Hasher, prep: Prepared, train: TrainSet, q_in, db_in, *, k: int | None = None, bar=None,
            weights: str | None = None, memmap_threshold: int | None = None) -> Record | None:
    """Fit, encode, evaluate one run; return its `Record` (not yet written; None on torchrun ranks > 0, which only
    train).

    ``slot`` is the run's `Slot` (from `Prepared.slot`); a bare `Hasher` is accepted for callers that do not
    write records (its identity is then computed here). A database of at least ``memmap_threshold`` items is
    encoded in chunks to a memory-mapped codes file (`zshbench.codes.encode_database`; None: the default
    threshold)."""
    from zshbench.evaluate import evaluate

    if k is not None and int(k) != prep.k:
        prep = dataclasses.replace(prep, k=int(k))
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
    res = evaluate(cq, cdb, ds.labels[split.query], ds.labels[split.database], n_bits=hasher.n_bits, k=prep.k,
                   device=prep.device, progress=(lambda n: bar.advance(t, n)) if bar else None)
    t_eval = time.perf_counter() - t3
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
    extras = dict(hasher.run_info())
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
    )


def _pretraining(prep: Prepared, extras: dict, weights: str | None) -> dict | None:
    """The label set the run's pretrained weights were trained on and the protocol's unseen classes it contains
    (`zshbench.pretraining`); None for runs without pretrained weights (random init, pixels, native features)."""
    from zshbench import pretraining as pt

    label_set = extras.get("weights_label_set")
    if label_set is None and prep.feature_spec and prep.feature_spec.startswith("timm:"):
        model = prep.feature_spec.split(":", 1)[1]
        label_set = pt.weights_label_set("pretrained" if weights is None else weights, model)
    if not label_set or label_set == pt.RANDOM_INIT:
        return None
    ds = prep.dataset
    unseen = [ds.class_names[c] for c in prep.split.unseen_classes]
    rep = pt.overlap_report(label_set, ds.name.split("-")[0], unseen)
    return {"label_set": label_set, "overlap": rep["overlap"], "unchecked": rep["unchecked"],
            "label_set_has_classes": rep["label_set_has_classes"]}
