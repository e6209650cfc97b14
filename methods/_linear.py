"""Shared pieces of the shallow, feature-based methods: centring and a linear projection followed by sign.

LSH, PCAH, ITQ (and the PCA stage of SH) all centre features by the training mean and project them linearly;
they share this code rather than repeat it:

* `FeatureHasher._fit` validates the training features (`as_feature_array`: NaN/inf refused with their count
  and first bad row; float32/float64 numpy arrays and torch tensors accepted), centres them with `fit_mean` and
  hands the centred float64 matrix to ``_fit_projection``;
* `FeatureHasher._encode_batch` computes ``(x - mean_) @ projection_`` in float64;
* `pca_directions` is the one PCA, `principal_subspace` the checked entry point of PCAH and ITQ,
  `random_orthogonal` the seeded rotation of ITQ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zshbench.data import TrainSet, as_feature_array
from zshbench.errors import UserError
from zshbench.hasher import Hasher, Requirements

__all__ = [
    "FeatureHasher",
    "fit_mean",
    "pca_directions",
    "principal_subspace",
    "random_orthogonal",
    "TIE_RTOL",
]

# projections within TIE_RTOL * (largest |training projection|) of a hyperplane count as ON it (bit 1): a
# direction along which the training data do not vary (constant or duplicated columns, fewer samples than bits)
# then gives a deterministic bit instead of the sign of round-off noise.
TIE_RTOL = 1e-9


def fit_mean(x: np.ndarray, center: bool = True) -> np.ndarray:
    """Column means of ``x`` in float64 (zeros when ``center`` is False)."""
    return x.mean(axis=0, dtype=np.float64) if center else np.zeros(x.shape[1], dtype=np.float64)


def pca_directions(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal directions (D, k) and their variances of centred data ``xc``, largest first.

    Uses the eigendecomposition of the D x D covariance in float64 (cheap for the usual n >> D; only the top
    ``k`` eigenpairs are computed). Signs are fixed so that the largest-magnitude entry of each direction is
    positive, making results reproducible across LAPACK builds. When the covariance has rank < k, the trailing
    directions are an orthonormal basis of part of its null space.
    """
    from scipy.linalg import eigh

    xc = np.asarray(xc, dtype=np.float64)
    d = xc.shape[1]
    if not 1 <= k <= d:
        raise ValueError(f"pca_directions: k={k} must lie in 1..{d} (the feature dimension).")
    cov = (xc.T @ xc) / max(len(xc) - 1, 1)
    evals, evecs = eigh(cov, subset_by_index=[d - k, d - 1])
    order = np.argsort(evals, kind="stable")[::-1]
    w, v = evecs[:, order], np.maximum(evals[order], 0.0)
    flip = np.sign(w[np.abs(w).argmax(axis=0), np.arange(w.shape[1])])
    flip[flip == 0] = 1
    return w * flip, v


def check_trainable(xc: np.ndarray, name: str) -> None:
    """Refuse training data a data-dependent projection cannot be learned from (fewer than 2 rows, no variance).

    Raises:
        UserError: naming the method and what to change.
    """
    if len(xc) < 2:
        raise UserError(
            f"Method '{name}' needs at least 2 training samples to estimate a mean and a covariance; got {len(xc)}. "
            "Use a protocol with more training items per seen class."
        )
    if not np.ptp(xc, axis=0).any():
        raise UserError(
            f"Method '{name}' got training features that are all identical (zero variance in every column), so "
            "there is no direction to learn. Check the feature extractor (e.g. --features pixels on blank images, "
            "or a backbone whose outputs collapsed)."
        )


def principal_subspace(xc: np.ndarray, n_bits: int, name: str) -> np.ndarray:
    """The top ``n_bits`` principal directions (D, n_bits) of centred training data, for PCAH and ITQ.

    Raises:
        UserError: ``n_bits`` larger than the feature dimension (PCA has only D directions), or untrainable data.
    """
    check_trainable(xc, name)
    d = xc.shape[1]
    if n_bits > d:
        raise UserError(
            f"Method '{name}' cannot make {n_bits}-bit codes from {d}-dimensional features: its bits are "
            f"principal directions, and {d}-d data have only {d}. Use --bits {d} or fewer, higher-dimensional "
            "features (e.g. --features timm:resnet50), or a method without this limit (lsh, sh)."
        )
    return pca_directions(xc, n_bits)[0]


def random_orthogonal(k: int, rng: np.random.Generator) -> np.ndarray:
    """A (k, k) orthogonal matrix drawn from the Haar measure (QR of a Gaussian matrix, signs fixed by diag R)."""
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    s = np.sign(np.diag(r))
    s[s == 0] = 1
    return q * s


class FeatureHasher(Hasher):
    """A Hasher over feature vectors whose codes are sign((x - mean_) @ projection_).

    Subclasses implement ``_fit_projection(xc, train)`` on the centred float64 training matrix and set
    ``projection_`` (D, n_bits). They may set ``tie_tol_`` (see `TIE_RTOL`) with `_set_tie_tol`; it is 0 by
    default (plain sign, as LSH).
    """

    requires = Requirements(inputs="features")
    tie_tol_: float = 0.0

    def _fit(self, train: TrainSet) -> None:
        x = as_feature_array(train.features, what="training features")
        self.mean_ = fit_mean(x, getattr(self.config, "center", True))
        self._fit_projection(x - self.mean_, train)

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_tie_tol(self, h_train: np.ndarray) -> None:
        self.tie_tol_ = float(TIE_RTOL * np.abs(h_train).max()) if h_train.size else 0.0

    def _snap(self, h: np.ndarray) -> np.ndarray:
        if self.tie_tol_ > 0:
            h[np.abs(h) <= self.tie_tol_] = 0.0
        return h

    def _check_dim(self, x: np.ndarray) -> None:
        if x.shape[1] != self.mean_.shape[0]:
            raise UserError(
                f"{self.name} was fitted on {self.mean_.shape[0]}-d features but got {x.shape[1]}-d features to "
                "encode; use the same feature extractor for training and encoding."
            )

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        self._check_dim(x)
        return self._snap(self._centre(x) @ self.projection_)

    def _centre(self, x: np.ndarray) -> np.ndarray:
        xc = x.astype(np.float64)  # a copy, so centring in place is safe (same numerics as x - mean_)
        xc -= self.mean_
        return xc

    def _get_state(self) -> dict[str, Any]:
        state = {"mean_": self.mean_, "projection_": self.projection_}
        if self.tie_tol_ > 0:
            state["tie_tol_"] = self.tie_tol_
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.projection_ = np.asarray(state["projection_"], dtype=np.float64)
        self.tie_tol_ = float(state.get("tie_tol_", 0.0))
