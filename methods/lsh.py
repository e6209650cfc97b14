"""LSH: locality-sensitive hashing by random hyperplanes.

Fidelity
--------
Charikar, "Similarity estimation techniques from rounding algorithms", STOC 2002 (sign random projections,
the LSH family for angular distance), as used as a baseline in RAZH (Table II) and COMAE (Table 1).

* codes: b = sign(W^T (x - mu)), W in R^{D x n_bits} with i.i.d. N(0, 1) entries drawn from ``seed``;
* mu = the mean of the training features when ``center`` is true (the default; hashing baselines centre
  features so that hyperplanes through the origin split the data), else 0;
* data-independent apart from the optional mean: labels and attributes are not used.

Deviations: none. ``center=false`` gives the textbook data-independent variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zshbench.hasher import HasherConfig
from zshbench.methods._linear import FeatureHasher
from zshbench.registry import register_method
from zshbench.trainset import TrainSet

__all__ = ["LSHConfig", "LSHHasher"]


@dataclass
class LSHConfig(HasherConfig):
    """Attributes:
    center: subtract the training mean before projecting.
    """

    center: bool = True


@register_method("lsh")
class LSHHasher(FeatureHasher):
    """Random Gaussian hyperplanes through the (training) mean."""

    Config = LSHConfig
    version = "1"

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        return [*super().fit_memory(n, d), (f"the {d} x {self.n_bits} float64 projection", 8.0 * d * self.n_bits)]

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:
        rng = np.random.default_rng(self.config.seed)
        self.projection_ = rng.standard_normal((xc.shape[1], self.n_bits))
