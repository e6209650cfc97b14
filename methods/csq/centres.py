"""CSQ's hash centres (Sec. 3.2 of the paper, Algorithm 1): one centre in {-1, +1}^K per SEEN class.

* K a power of 2 and m <= 2K classes: the first m rows of [H_K; -H_K], H_K the Sylvester Hadamard matrix of
  order K (any two rows differ in K/2 bits, a row and its negation in K);
* otherwise (K not a power of 2, or m > 2K): every bit drawn from Bernoulli(0.5) (as +1 / -1), from a numpy
  generator seeded with the fit's seed; a draw with two identical centres is drawn again.

``m`` is the number of classes in the TrainSet, i.e. the seen classes: an unseen class never gets a centre.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hadamard_applies", "hash_centres", "centre_distances"]

MAX_REDRAWS = 100


def hadamard_applies(n_classes: int, n_bits: int) -> bool:
    """Whether the Hadamard construction serves ``n_classes`` centres of ``n_bits`` bits (K = 2^k, m <= 2K)."""
    k = int(n_bits)
    return k >= 1 and (k & (k - 1)) == 0 and int(n_classes) <= 2 * k


def _sylvester(k: int) -> np.ndarray:
    h = np.ones((1, 1), dtype=np.int64)
    while h.shape[0] < k:
        h = np.block([[h, h], [h, -h]])
    return h


def hash_centres(n_classes: int, n_bits: int, seed: int, mode: str = "auto") -> tuple[np.ndarray, str]:
    """(centres float32 (n_classes, n_bits) in {-1, +1}, "hadamard" or "bernoulli").

    Args:
        n_classes: m, the number of (seen) classes.
        n_bits: K.
        seed: seed of the Bernoulli draw (unused by the Hadamard construction).
        mode: "auto" (the paper's rule) or "bernoulli" (random centres at any K).
    """
    m, k = int(n_classes), int(n_bits)
    if mode not in ("auto", "bernoulli"):
        raise ValueError(f"centres mode must be 'auto' or 'bernoulli', got {mode!r}")
    if mode == "auto" and hadamard_applies(m, k):
        h = _sylvester(k)
        return np.concatenate([h, -h])[:m].astype(np.float32), "hadamard"
    rng = np.random.default_rng(int(seed))
    for _ in range(MAX_REDRAWS):
        c = np.where(rng.random((m, k)) < 0.5, 1.0, -1.0).astype(np.float32)
        if len(np.unique(c, axis=0)) == m:
            return c, "bernoulli"
    raise ValueError(f"could not draw {m} distinct random centres of {k} bits; use more bits")


def centre_distances(centres: np.ndarray) -> tuple[int, float]:
    """(minimum, mean) Hamming distance between two different centres (0, 0.0 for a single centre)."""
    c = np.asarray(centres)
    m, k = c.shape
    if m < 2:
        return 0, 0.0
    d = (k - c @ c.T) / 2
    upper = d[np.triu_indices(m, 1)]
    return int(round(float(upper.min()))), float(upper.mean())
