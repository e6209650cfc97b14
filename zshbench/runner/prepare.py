"""Everything a run needs, validated and resolved before any work: `prepare` (method, dataset, protocol, split,
feature spec), the run's identity and record path (`Prepared.slot`) and what the results folder holds for it
(`Prepared.lookup`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zshbench.config import parse_overrides
from zshbench.device import resolve_device
from zshbench.errors import RecordError, UserError
from zshbench.evaluate import HEADLINE_K
from zshbench.hasher import RUN_KEYS, Hasher
from zshbench.records import Record, identity_difference, identity_hash, load_record, record_path, run_identity
from zshbench.registry import get_dataset, get_method
from zshbench.trainset import TrainSet

if TYPE_CHECKING:  # annotations only: the runner imports the protocol code where it is used
    from zshbench.datasets.base import Dataset
    from zshbench.protocols.model import Protocol, Split

__all__ = ["DEFAULT_K", "build_trainset", "load_dataset", "Slot", "Lookup", "Prepared", "prepare"]

DEFAULT_K = HEADLINE_K


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


_FLAGS = {
    "image_size": "--image-size",
    "unseen": "--unseen",
    "train_per_class": "--train-per-class",
    "query_per_class": "--query-per-class",
}


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
            verb = "applies" if len(bad) == 1 else "apply"
            raise UserError(
                f"Dataset '{name}' does not take {flags}: its images and split come with the dataset (the built-in "
                f"datasets are generated or shipped at a fixed size). {flags} {verb} to image-file datasets "
                "(cifar10, cub, awa2, sun, folder:PATH); drop the option for this dataset."
            )
    ds = factory(data_root=data_root, spec=arg, **kwargs) if sep else factory(data_root=data_root, **kwargs)
    from zshbench.datasets.base import Dataset

    if not isinstance(ds, Dataset):
        raise UserError(
            f"The dataset factory registered as '{family if sep else name}' returned "
            f"{type(ds).__name__}, not a zshbench.datasets.Dataset; a dataset plugin's factory must "
            "return one (see docs/adding-a-method.md and datasets/base.py)."
        )
    return ds


def _dataset_identity(ds) -> dict[str, Any]:
    return dict(ds.identity())


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

    method_cls: type[Hasher]
    overrides: dict[str, Any]
    dataset: Dataset
    protocol: Protocol
    split: Split
    device: str
    feature_spec: str | None
    weights: str | None = None
    k: int = DEFAULT_K
    world_size: int = 1
    variant: str = "standard"  # "leaky": the published COMAE/PIXEL code's evaluation mistake, for measurement
    provenance: dict[str, Any] | None = None  # how the run was asked for (record extras; not in the identity)

    def evaluation(self) -> dict[str, Any]:
        from zshbench.evaluate import METRIC_VERSION
        from zshbench.evaluate.settings import settings_of

        seen = getattr(self.split, "seen_query", None)
        settings = ["U->A"] if self.variant == "leaky" else settings_of(seen is not None and len(seen) > 0)
        return {
            "k": int(self.k),
            "metric_version": str(METRIC_VERSION),
            "metric_set": "default",
            "variant": self.variant,
            "settings": settings,
        }

    def protocol_ref(self) -> dict[str, Any]:
        p = self.protocol
        return {"name": p.name, "version": p.version, "sha256": p.sha256, "pinned": getattr(p, "pinned", None)}

    def slot(self, results_dir: str | Path, n_bits: int, seed: int) -> Slot:
        """The run's hasher, identity and record path (`zshbench.records.record_path`)."""
        hasher = self.method_cls(n_bits=int(n_bits), seed=int(seed), device=self.device, **self.overrides)
        if not hasattr(self, "_ds_identity"):
            self._ds_identity = _dataset_identity(self.dataset)
            self._feat_identity = _features_identity(self.feature_spec, self.weights)
        ident = run_identity(
            method=self.method_cls.name,
            method_version=str(self.method_cls.version),
            config=hasher.identity_params(),
            features=self._feat_identity,
            dataset=self._ds_identity,
            protocol=self.protocol_ref(),
            evaluation=self.evaluation(),
            n_bits=int(n_bits),
            seed=int(seed),
            world_size=self.world_size,
        )
        h = identity_hash(ident)
        path = record_path(
            results_dir,
            dataset=self.dataset.name,
            protocol=self.protocol.name,
            method=self.method_cls.name,
            n_bits=int(n_bits),
            seed=int(seed),
            id_hash=h,
        )
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


def prepare(
    method: str,
    dataset: str,
    *,
    protocol: str | None = None,
    bits: Sequence[int] = (64,),
    seeds: Sequence[int] = (0,),
    device: str = "auto",
    overrides: dict | Sequence[str] | None = None,
    features: str = "auto",
    data_root: str | None = None,
    dataset_kwargs: dict | None = None,
    weights: str | None = None,
    k: int = DEFAULT_K,
    results_dir: str | Path | None = None,
    eval_variant: str = "standard",
) -> Prepared:
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
        raise UserError(
            "--protocol is empty: give a protocol name (zshbench list protocols) or a .toml file, or "
            "leave the flag out to use the dataset's default protocol."
        )
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
        raise UserError(
            f"--weights sets the weights of the feature stage (feature-based methods); method "
            f"'{method_cls.name}' trains its own network: use --set weights=PATH for its backbone."
        )
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
            h.check_fit_memory(len(split.train), int(np.prod(shape)))
    from zshbench.evaluate.settings import VARIANTS

    if eval_variant not in VARIANTS:
        raise UserError(
            f"Unknown --eval-variant {eval_variant!r}: choose standard (the leaderboard's) or leaky "
            "(the published COMAE/PIXEL code's query/database overlap, to measure its effect)."
        )
    return Prepared(method_cls, ov, ds, proto, split, dev, spec, weights=weights, k=int(k), variant=eval_variant)
