"""ITQ: iterative quantization, PCA followed by the rotation that minimises the quantization error.

Fidelity
--------
Gong, Lazebnik, Gordo and Perronnin, "Iterative quantization: a Procrustean approach to learning binary codes
for large-scale image retrieval", TPAMI 35(12), 2013 (CVPR 2011), unsupervised PCA-ITQ (Sec. 2), checked
against the authors' MATLAB code (``ITQ.m``, ``RF_train.m``).

* centre by the training mean mu; V = (X - mu) W, W = the top c = ``n_bits`` principal directions (as PCAH);
* minimise the quantization loss Q(B, R) = ||B - V R||_F^2 over B in {-1, +1}^{n x c} and orthogonal R
  (c x c) by alternating, from a random orthogonal R_0 drawn from ``seed``, for ``n_iter`` iterations (paper
  default 50):
  - fix R: B = sgn(V R);
  - fix B: orthogonal Procrustes, SVD  B^T V = S Omega S_hat^T  and  R = S_hat S^T;
* codes: b = sgn(R^T W^T (x - mu)), i.e. ``projection_ = W R``.

``loss_history_`` holds Q(R_t) = ||sgn(V R_t) - V R_t||_F^2 for t = 0..n_iter (the loss of the codes the
rotation after t iterations gives); each alternation can only lower it, so it is non-increasing.

Deviations and edge cases:

* R_0 is Haar-distributed (QR of a Gaussian matrix with the signs of diag(R) fixed) rather than the left
  singular vectors of a Gaussian matrix as in ``ITQ.m``; both are uniformly random rotations;
* sgn(0) = +1 (the zshbench code convention) where the MATLAB code's ``sign`` gives 0 in B;
* ``n_bits`` > D, rank-deficient training data and ties behave as in PCAH (see `zshbench.methods.pcah`): an
  error naming D for the former; null-space directions are rotated with the rest for the latter;
* the PCA (through the n x n Gram matrix when D > n) and the memory estimate before fitting are PCAH's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.errors import UserError
from zshbench.hasher import HasherConfig
from zshbench.methods._linear import FeatureHasher, pca_fit_memory, principal_subspace, random_orthogonal
from zshbench.registry import register_method
from zshbench.trainset import TrainSet

__all__ = ["ITQConfig", "ITQHasher", "itq_rotation"]


@dataclass
class ITQConfig(HasherConfig):
    """Attributes:
    n_iter: alternations of the B and R updates (paper: 50); 0 gives a random rotation of PCA.
    """

    n_iter: int = 50


def quantization_loss(v: np.ndarray, r: np.ndarray) -> float:
    """||sgn(V R) - V R||_F^2 with sgn(0) = +1."""
    z = v @ r
    return float(np.sum((np.where(z >= 0, 1.0, -1.0) - z) ** 2))


def itq_rotation(v: np.ndarray, r0: np.ndarray, n_iter: int) -> tuple[np.ndarray, list[float]]:
    """Run ITQ's alternation on PCA-projected data ``v`` (n, c) from rotation ``r0`` (c, c).

    Returns:
        The final rotation R (c, c) and the losses Q(R_0), ..., Q(R_n_iter).
    """
    r = r0
    history = [quantization_loss(v, r)]
    for _ in range(n_iter):
        b = np.where(v @ r >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(b.T @ v)  # B^T V = S Omega S_hat^T
        r = wt.T @ u.T  # R = S_hat S^T maximises tr(B^T V R)
        history.append(quantization_loss(v, r))
    return r, history


@register_method("itq")
class ITQHasher(FeatureHasher):
    """PCA to ``n_bits`` dimensions, then the orthogonal rotation that minimises ||B - V R||_F^2.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> x = np.random.default_rng(0).standard_normal((200, 32))
        >>> itq = ITQHasher(n_bits=16, n_iter=20).fit(TrainSet.from_arrays(np.zeros(200, int), features=x))
        >>> itq.encode(x).shape, len(itq.loss_history_)
        ((200, 2), 21)
    """

    Config = ITQConfig
    version = "1"

    def validate_config(self) -> None:
        super().validate_config()
        n_iter = self.config.n_iter
        if not isinstance(n_iter, int) or isinstance(n_iter, bool) or not 0 <= n_iter <= 10_000:
            raise UserError(
                f"n_iter={n_iter!r} is out of range for method 'itq': expected an integer from 0 to 10000 "
                "(the paper uses 50). Set it with --set n_iter=50."
            )

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        k = self.n_bits
        return [
            *super().fit_memory(n, d),
            *pca_fit_memory(n, d, min(k, d)),
            (f"4 float64 {n} x {k} arrays of the alternation (V, V R, B, the loss)", 4 * 8.0 * n * k),
            (f"the {d} x {k} float64 projection W R", 8.0 * d * k),
        ]

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:
        w = principal_subspace(xc, self.n_bits, self.name)
        v = xc @ w
        rng = np.random.default_rng(self.config.seed)
        self.rotation_, self.loss_history_ = itq_rotation(v, random_orthogonal(self.n_bits, rng), self.config.n_iter)
        self.projection_ = w @ self.rotation_
        self._set_tie_tol(v @ self.rotation_)

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "rotation_": self.rotation_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.rotation_ = np.asarray(state["rotation_"], dtype=np.float64)
