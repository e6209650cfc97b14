"""Facts a run records beside its metrics: per unseen class AP against attribute distance (``per_class``) and
the label set of pretrained weights with the protocol's unseen classes it contains (``pretraining``)."""

from __future__ import annotations

import numpy as np

from zshbench.runner.prepare import Prepared

__all__ = ["_per_class", "_pretraining"]


def _per_class(ds, split, per_query: dict, k: int) -> dict | None:
    """Per unseen class: the mean headline AP over its queries and its attribute-space distance to the nearest
    seen class (Euclidean between L2-normalised class attribute vectors; the HTH benchmark orders unseen classes
    by distance from the training classes). None when the per-query values are absent."""
    ap = per_query.get(f"map@{k}")
    if ap is None or len(ap) != len(split.query):
        return None
    att = np.asarray(ds.class_attributes, dtype=np.float64)
    att = att / np.maximum(np.linalg.norm(att, axis=1, keepdims=True), 1e-12)
    seen = att[np.asarray(split.seen_classes)]
    labels = ds.labels[split.query]
    names, aps, dists = [], [], []
    for c in split.unseen_classes:
        mask = labels == c
        if not mask.any():
            continue
        names.append(ds.class_names[c])
        aps.append(float(np.mean(ap[mask])))
        dists.append(float(np.min(np.linalg.norm(seen - att[c], axis=1))))
    return {
        "unseen": names,
        f"map@{k}": aps,
        "attribute_distance": dists,
        "distance": "Euclidean between L2-normalised class attribute vectors, to the nearest seen class",
    }


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
    return {
        "label_set": label_set,
        "overlap": rep["overlap"],
        "unchecked": rep["unchecked"],
        "label_set_has_classes": rep["label_set_has_classes"],
    }
