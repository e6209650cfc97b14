"""PCAH: PCA hashing, the sign of the top principal components.

Fidelity
--------
The PCA baseline of Wang, Kumar and Chang, "Semi-supervised hashing for large-scale search", TPAMI 2012, and of
Gong et al., "Iterative quantization", TPAMI 2013 (where it is "PCA-Direct"), as used as a baseline in RAZH
and COMAE.

* mu = the mean of the training features; W in R^{D x c} = the eigenvectors of the training covariance
  (1 / (n - 1)) (X - mu)^T (X - mu) with the c = ``n_bits`` largest eigenvalues, largest first (computed from
  the n x n Gram matrix when D > n, the same directions to round-off: `zshbench.methods._linear`);
* codes: b = sign(W^T (x - mu)), bit 1 where W^T (x - mu) >= 0;
* unsupervised and deterministic: labels, attributes and ``seed`` are not used.

Deviations and edge cases:

* eigenvector signs (arbitrary in PCA) are fixed so that each direction's largest-magnitude entry is positive,
  so codes do not depend on the LAPACK build;
* ``n_bits`` > D (the feature dimension) is refused with an error naming D: PCA has only D directions;
* when the training covariance has rank r < ``n_bits`` (fewer samples than bits, constant or duplicated
  columns), bits r+1.. use directions from its null space (D <= n: eigenvectors of its zero eigenvalues;
  D > n: an orthonormal basis drawn from a fixed seed, independent of ``seed``); training items lie on those
  hyperplanes, and projections within 1e-9 (relative to the largest training projection) of a hyperplane
  count as on it, so those bits are 1 for every training item instead of the sign of round-off noise. Other
  data (unseen classes) may vary along them and get informative bits;
* the fit's memory (covariance or Gram matrix, centred copy) is estimated first: too much for this machine is
  a `UserError` with the estimate and the fix, not a ``MemoryError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zshbench.hasher import HasherConfig
from zshbench.methods._linear import FeatureHasher, pca_fit_memory, principal_subspace
from zshbench.registry import register_method
from zshbench.trainset import TrainSet

__all__ = ["PCAHConfig", "PCAHHasher"]


@dataclass
class PCAHConfig(HasherConfig):
    """PCAH has no settings of its own (``seed`` is unused: the method is deterministic)."""


@register_method("pcah")
class PCAHHasher(FeatureHasher):
    """Sign of the projections on the top ``n_bits`` principal directions of the training features.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> x = np.random.default_rng(0).standard_normal((100, 32))
        >>> codes = PCAHHasher(n_bits=16).fit(TrainSet.from_arrays(np.zeros(100, int), features=x)).encode(x)
        >>> codes.shape
        (100, 2)
    """

    Config = PCAHConfig
    version = "1"

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        k = self.n_bits
        return [
            *super().fit_memory(n, d),
            *pca_fit_memory(n, d, min(k, d)),
            (f"the {n} x {k} projected training data", 8.0 * n * k),
        ]

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:
        self.projection_ = principal_subspace(xc, self.n_bits, self.name)
        self._set_tie_tol(xc @ self.projection_)
