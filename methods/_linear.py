"""Shared pieces of the shallow, feature-based methods: centring and a linear projection followed by sign.

LSH, PCAH, ITQ (and the PCA stage of SH) all centre features by the training mean and project them linearly;
they share this code rather than repeat it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zshbench.data import TrainSet
from zshbench.hasher import Hasher, Requirements

__all__ = ["FeatureHasher", "fit_mean", "pca_directions"]


def fit_mean(x: np.ndarray, center: bool = True) -> np.ndarray:
    """Column means of ``x`` in float64 (zeros when ``center`` is False)."""
    return x.mean(axis=0, dtype=np.float64) if center else np.zeros(x.shape[1], dtype=np.float64)


def pca_directions(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal directions (D, k) and their variances of centred data ``xc``, largest first.

    Uses the eigendecomposition of the D x D covariance (cheap for the usual n >> D), in float64. Signs are
    fixed so that the largest-magnitude entry of each direction is positive, making results reproducible
    across LAPACK builds.
    """
    cov = (xc.T @ xc) / max(len(xc) - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:k]
    w, v = evecs[:, order], evals[order]
    flip = np.sign(w[np.abs(w).argmax(axis=0), np.arange(w.shape[1])])
    flip[flip == 0] = 1
    return w * flip, v


class FeatureHasher(Hasher):
    """A Hasher over feature vectors whose codes are sign((x - mean_) @ projection_) (+ optional rotation)."""

    requires = Requirements(inputs="features")

    def _fit(self, train: TrainSet) -> None:
        x = np.asarray(train.features)
        self.mean_ = fit_mean(x, getattr(self.config, "center", True))
        self._fit_projection(x - self.mean_, train)

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_dim(self, x: np.ndarray) -> None:
        if x.shape[1] != self.mean_.shape[0]:
            from zshbench.errors import UserError

            raise UserError(
                f"{self.name} was fitted on {self.mean_.shape[0]}-d features but got {x.shape[1]}-d features to "
                "encode; use the same feature extractor for training and encoding."
            )

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        self._check_dim(x)
        return (x.astype(np.float64) - self.mean_) @ self.projection_

    def _get_state(self) -> dict[str, Any]:
        return {"mean_": self.mean_, "projection_": self.projection_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.projection_ = np.asarray(state["projection_"], dtype=np.float64)
