"""The feature stage: one pipeline that turns a dataset's items into feature vectors for every
feature-based method.

Specs (``--features``):

* ``pixels``: flattened images scaled to [0, 1] (the default for datasets with images);
* ``native``: the precomputed features a dataset ships (e.g. xlsa17 ResNet-101 features);
* ``timm:<model>``: pooled features of a frozen timm backbone (`zshbench.features.backbone`), with
  ``weights`` = None (timm pretrained), a checkpoint path, or "none" (random init, explicitly requested);
* ``auto``: ``native`` when the dataset ships features, else ``pixels``.

Backbone features are cached on disk when a ``cache_key`` is given (`zshbench.features.store`); pixels and
native features are cheap to recompute and are never cached.

Example:
    >>> import zshbench
    >>> ds = zshbench.get_dataset("digits")()
    >>> extract_features(ds, [0, 1, 2], "pixels").shape
    (3, 64)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from zshbench.errors import UserError

__all__ = ["extract_features", "FEATURE_SPECS", "resolve_spec", "parse_spec", "weights_fingerprint", "describe"]

FEATURE_SPECS = ("auto", "pixels", "native", "timm:<model>")
DEFAULT_BATCH = {"pixels": 4096, "native": 4096, "timm": 64}


def parse_spec(spec: str | None) -> tuple[str, str | None]:
    """``"timm:resnet50"`` -> ``("timm", "resnet50")``; ``"pixels"`` -> ``("pixels", None)``.

    Raises:
        UserError: an unknown spec or a ``timm:`` spec without a model name.
    """
    spec = (spec or "auto").strip()
    kind, sep, model = spec.partition(":")
    if kind == "timm" and sep:
        if not model.strip():
            raise UserError("Feature spec 'timm:' lacks a model name; e.g. --features timm:resnet50.")
        return "timm", model.strip()
    if spec in ("auto", "pixels", "native"):
        return spec, None
    raise UserError(f"Unknown feature spec '{spec}'. Available: {', '.join(FEATURE_SPECS)}.")


def resolve_spec(spec: str, dataset) -> str:
    """Resolve ``auto`` against ``dataset`` and check that the dataset can provide the spec."""
    kind, model = parse_spec(spec)
    if kind == "auto":
        return "native" if dataset.has_features else "pixels"
    if kind in ("pixels", "timm") and not dataset.has_images:
        raise UserError(
            f"--features {spec} needs images, but dataset '{dataset.name}' ships only features; use --features native."
        )
    if kind == "native" and not dataset.has_features:
        raise UserError(
            f"--features native needs precomputed features, but dataset '{dataset.name}' ships none; use "
            "--features pixels or --features timm:<model>."
        )
    return f"timm:{model}" if kind == "timm" else kind


def weights_fingerprint(weights: str | os.PathLike | None) -> str:
    """Identify ``--weights``: "timm-pretrained" (None), "random-init:seed0" ("none") or "sha256:<digest>" (a file).

    Raises:
        UserError: a path that does not exist or is not a checkpoint file.
    """
    from zshbench.features.backbone import weights_fingerprint as _fp

    return _fp(weights)


def describe(spec: str, weights: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a record stores about the features: extractor, model, weights and their fingerprint, versions."""
    kind, model = parse_spec(spec)
    out: dict[str, Any] = {"spec": spec, "extractor": kind, "model": model}
    if kind != "timm":
        return {**out, "weights": None, "weights_fingerprint": None}
    import timm

    if weights is None:
        source = "pretrained"
    elif str(weights).lower() == "none":
        source = "none"
    else:
        source = str(weights)
    return {
        **out,
        "weights": source,
        "weights_fingerprint": weights_fingerprint(weights),
        "timm_version": timm.__version__,
    }


def _image_batches(dataset, indices: np.ndarray, batch_size: int) -> Iterator[Any]:
    for start in range(0, len(indices), batch_size):
        yield dataset.get_images(indices[start : start + batch_size])


PIXEL_BATCH_BYTES = 256 * 2**20  # float32 bytes of one pixel batch (larger images: fewer images per batch)


def _array_features(dataset, indices, kind, batch_size, progress) -> np.ndarray:
    out = None
    if kind == "pixels" and dataset.image_shape is not None:
        from zshbench.memory import check_allocation

        dim = int(np.prod(dataset.image_shape))
        shape = "x".join(map(str, dataset.image_shape))
        check_allocation(
            len(indices) * dim * 4,
            f"the pixel feature matrix ({len(indices):,} items x {dim:,} values: {shape} pixels, float32)",
            "Use a smaller --image-size (pixel features have S x S x 3 values), or backbone features "
            "(--features timm:<model>), whose size does not grow with the images.",
        )
        # the same values whatever the batch: only the transient (batch, dim) buffers shrink
        batch_size = max(1, min(batch_size, PIXEL_BATCH_BYTES // (dim * 4)))
    for start in range(0, len(indices), batch_size):
        idx = indices[start : start + batch_size]
        if kind == "pixels":
            x = dataset.get_images(idx).reshape(len(idx), -1).astype(np.float32) / 255.0
        else:
            x = np.asarray(dataset.get_features(idx), dtype=np.float32)
        if out is None:
            out = np.empty((len(indices), x.shape[1]), dtype=np.float32)
        out[start : start + len(idx)] = x
        if progress is not None:
            progress(len(idx))
    return out if out is not None else np.zeros((0, 0), np.float32)


def extract_features(
    dataset,
    indices: np.ndarray,
    spec: str = "auto",
    *,
    device: str = "cpu",
    weights: str | os.PathLike | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache_key: str | None = None,
    **_: object,
) -> np.ndarray:
    """Feature vectors (float32, (len(indices), D)) of the dataset items ``indices``.

    Args:
        dataset: a `zshbench.datasets.Dataset`.
        indices: item indices into the dataset.
        spec: ``auto``, ``pixels``, ``native`` or ``timm:<model>``.
        device: "cpu", "cuda", "cuda:N" or "auto" (used by ``timm:`` backbones only).
        weights: backbone weights for ``timm:`` specs: None = timm pretrained, a ``.safetensors``/``.pth``
            path, or "none" = random initialisation; must be None for the other specs.
        batch_size: items per batch (default 4096 for pixels/native, 64 images per forward pass for timm).
        progress: optional callable ``progress(n_done)`` called after each batch (once on a cache hit).
        cache_key: identifies (dataset fingerprint, split fingerprint, part) for the feature cache; None
            disables caching. Only backbone features are cached.

    Returns:
        float32 array (len(indices), D).

    Raises:
        UserError: unknown spec, a spec the dataset cannot provide, ``weights`` with a non-timm spec, unknown
            timm model, unavailable pretrained weights, or a bad checkpoint.
    """
    spec = resolve_spec(spec, dataset)
    indices = np.asarray(indices, dtype=np.int64)
    kind, model_name = parse_spec(spec)
    bs = int(batch_size or DEFAULT_BATCH[kind])
    if bs <= 0:
        raise UserError(f"batch_size must be positive, got {bs}.")
    if kind != "timm":
        if weights is not None:
            raise UserError(
                f"--weights applies to backbone features (--features timm:<model>), not to --features {spec}; "
                "drop --weights or choose a timm backbone."
            )
        return _array_features(dataset, indices, kind, bs, progress)

    import timm

    from zshbench.device import resolve_device
    from zshbench.features import backbone, store

    entry = meta = None
    if cache_key is not None:
        meta = store.entry_meta(cache_key, spec, weights_fingerprint(weights), indices, timm.__version__)
        entry = store.entry_path(meta)
        cached = store.read_entry(entry, meta)
        if cached is not None:
            if progress is not None:
                progress(len(indices))
            return cached
    dev = resolve_device(device)
    model = backbone.load_backbone(model_name, weights, dev)
    feats = backbone.backbone_features(model, _image_batches(dataset, indices, bs), dev, progress)
    if entry is not None:
        store.write_entry(entry, meta, feats)
    return feats
