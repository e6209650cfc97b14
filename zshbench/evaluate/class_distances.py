"""Mean Hamming distances between unseen query classes and seen classes (the data of RAZH's Fig. 5).

RAZH's Fig. 5 shows, as a heat map, how far the hash codes of each unseen class lie from those of each seen
class: a good zero-shot hash puts an unseen class near the seen classes it resembles and far from the others.
zshbench stores the matrix in the record (``class_distances``, schema 2) and `zshbench.leaderboard.figures`
draws it.

Entry (u, s) is the mean Hamming distance over all pairs (a, b) with a the code of a query image of unseen class
u and b the code of a training image of seen class s. It is computed exactly from per-class bit frequencies:
with p_A[k] the fraction of codes of set A whose bit k is 1,

    mean_{a in A, b in B} d_H(a, b) = sum_k p_A[k] (1 - p_B[k]) + (1 - p_A[k]) p_B[k],

so no pairwise distance matrix is formed. The query codes are those of the evaluation (no extra cost); the
seen-class codes come from a bounded, seeded sample of the TRAINING images (at most ``per_class`` per seen class
and ``max_total`` in all), which costs one extra encoding of at most ``max_total`` items (timed in the record as
``timings.class_distances_s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["sample_seen", "class_distance_matrix", "measure_class_distances", "PER_CLASS", "MAX_TOTAL"]

PER_CLASS = 10
MAX_TOTAL = 400


def sample_seen(labels: np.ndarray, seed: int, per_class: int = PER_CLASS, max_total: int = MAX_TOTAL) -> np.ndarray:
    """Sorted positions of a seeded sample of at most ``per_class`` items per class (``max_total`` in all)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    k = max(1, min(per_class, max_total // max(len(classes), 1)))
    rng = np.random.default_rng([seed, 5])  # independent of the method's own generators
    picks = []
    for c in classes:
        pos = np.flatnonzero(labels == c)
        picks.append(rng.choice(pos, size=min(k, len(pos)), replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def _bit_frequencies(codes: np.ndarray, labels: np.ndarray, classes: Sequence[int], n_bits: int) -> np.ndarray:
    bits = np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1)[:, :n_bits].astype(np.float64)
    return np.stack([bits[labels == c].mean(axis=0) for c in classes])


def class_distance_matrix(
    query_codes: np.ndarray,
    query_labels: np.ndarray,
    seen_codes: np.ndarray,
    seen_labels: np.ndarray,
    n_bits: int,
    *,
    unseen_names: Sequence[str],
    seen_names: Sequence[str],
    unseen_classes: Sequence[int] | None = None,
    decimals: int = 3,
) -> dict[str, Any]:
    """The ``class_distances`` block of a record.

    Args:
        query_codes, query_labels: packed codes and class indices of the query set (unseen classes).
        seen_codes, seen_labels: packed codes and seen-class indices (0..S-1) of the training sample.
        n_bits: code length.
        unseen_names: name of every query class index (indexed by ``query_labels`` values).
        seen_names: names of the seen classes (indexed by ``seen_labels`` values).
        unseen_classes: the query classes to include, in this order (default: the sorted classes present).
        decimals: rounding of the stored means.

    Returns:
        {"unseen": [names], "seen": [names], "mean_hamming": [[...]] (unseen x seen), "n_bits", "n_query",
        "n_seen_sample"}.
    """
    query_labels, seen_labels = np.asarray(query_labels), np.asarray(seen_labels)
    uc = list(unseen_classes) if unseen_classes is not None else sorted(np.unique(query_labels).tolist())
    uc = [c for c in uc if (query_labels == c).any()]
    sc = sorted(np.unique(seen_labels).tolist())
    pu = _bit_frequencies(query_codes, query_labels, uc, n_bits)
    ps = _bit_frequencies(seen_codes, seen_labels, sc, n_bits)
    m = pu @ (1.0 - ps).T + (1.0 - pu) @ ps.T
    return {
        "unseen": [str(unseen_names[c]) for c in uc],
        "seen": [str(seen_names[c]) for c in sc],
        "mean_hamming": [[round(float(v), decimals) for v in row] for row in m],
        "n_bits": int(n_bits),
        "n_query": int(len(query_labels)),
        "n_seen_sample": int(len(seen_labels)),
        "definition": "mean Hamming distance between the codes of the query images of each unseen class and "
        "those of a seeded sample of training images of each seen class",
    }


def measure_class_distances(
    hasher: Any,
    train: Any,
    query_codes: np.ndarray,
    query_labels: np.ndarray,
    class_names: Sequence[str],
    *,
    per_class: int = PER_CLASS,
    max_total: int = MAX_TOTAL,
) -> dict[str, Any] | None:
    """Encode a seeded sample of the training set and return `class_distance_matrix` (None without inputs).

    Args:
        hasher: the fitted hasher of the run.
        train: its `zshbench.trainset.TrainSet` (features or images of the seen classes; labels 0..S-1).
        query_codes, query_labels: the evaluation's query codes and their dataset class indices.
        class_names: the dataset's class names (indexed by ``query_labels``).
    """
    inputs = (
        train.features
        if getattr(hasher, "requires", None) is None or hasher.requires.inputs == "features"
        else train.images
    )
    if inputs is None or len(train.labels) == 0 or len(query_labels) == 0:
        return None
    pos = sample_seen(train.labels, int(hasher.config.seed), per_class, max_total)
    x = inputs.subset(pos) if hasattr(inputs, "subset") else np.asarray(inputs)[pos]
    seen_codes = hasher.encode(x)
    return class_distance_matrix(
        query_codes,
        query_labels,
        seen_codes,
        np.asarray(train.labels)[pos],
        hasher.n_bits,
        unseen_names=class_names,
        seen_names=train.class_names,
    )
