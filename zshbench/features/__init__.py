"""The feature stage: one pipeline that turns a dataset's items into feature vectors for every
feature-based method.

Specs:
* ``pixels``: flattened images scaled to [0, 1] (the default for datasets with images);
* ``native``: the precomputed features a dataset ships (e.g. xlsa17 ResNet-101 features);
* ``auto``: ``native`` when the dataset ships features, else ``pixels``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from zshbench.errors import UserError

__all__ = ["extract_features", "FEATURE_SPECS", "resolve_spec"]

FEATURE_SPECS = ("auto", "pixels", "native")


def resolve_spec(spec: str, dataset) -> str:
    spec = (spec or "auto").strip()
    if spec == "auto":
        return "native" if dataset.has_features else "pixels"
    if spec == "pixels" and not dataset.has_images:
        raise UserError(f"--features pixels needs images, but dataset '{dataset.name}' ships only features; use --features native.")
    if spec == "native" and not dataset.has_features:
        raise UserError(
            f"--features native needs precomputed features, but dataset '{dataset.name}' ships none; use "
            "--features pixels."
        )
    if spec not in ("pixels", "native"):
        raise UserError(f"Unknown feature spec '{spec}'. Available: {', '.join(FEATURE_SPECS)}.")
    return spec


def extract_features(
    dataset,
    indices: np.ndarray,
    spec: str = "auto",
    *,
    batch_size: int = 4096,
    progress: Callable[[int], None] | None = None,
    **_: object,
) -> np.ndarray:
    """Feature vectors (float32, (len(indices), D)) of the dataset items ``indices``."""
    spec = resolve_spec(spec, dataset)
    indices = np.asarray(indices, dtype=np.int64)
    out = None
    for start in range(0, len(indices), batch_size):
        idx = indices[start : start + batch_size]
        if spec == "pixels":
            x = dataset.get_images(idx).reshape(len(idx), -1).astype(np.float32) / 255.0
        else:
            x = np.asarray(dataset.get_features(idx), dtype=np.float32)
        if out is None:
            out = np.empty((len(indices), x.shape[1]), dtype=np.float32)
        out[start : start + len(idx)] = x
        if progress is not None:
            progress(len(idx))
    return out if out is not None else np.zeros((0, 0), np.float32)
