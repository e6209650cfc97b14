"""Shared pieces of the shallow, feature-based methods: centring and a linear projection followed by sign.

LSH, PCAH, ITQ (and the PCA stage of SH) all centre features by the training mean and project them linearly;
they share this code rather than repeat it:

* `FeatureHasher._fit` validates the training features (`as_feature_array`: NaN/inf refused with their count
  and first bad row; float32/float64 numpy arrays and torch tensors accepted), checks that the fit fits in
  memory (`FeatureHasher.check_fit_memory`), centres them with `fit_mean` and hands the centred float64 matrix
  to ``_fit_projection``;
* `FeatureHasher._encode_batch` computes ``(x - mean_) @ projection_`` in float64;
* `pca_directions` is the one PCA, `principal_subspace` the checked entry point of PCAH and ITQ,
  `random_orthogonal` the seeded rotation of ITQ.

PCA has two solvers, chosen by the shape of the n x D training matrix (`pca_solver`):

* D <= n (the usual case: many items, compact features): the eigendecomposition of the D x D covariance, the
  original code path, kept bit-identical;
* D > n (high-dimensional features and few items, e.g. 150,528-d pixels of 224 px images and 400 training
  items, whose covariance alone would take 169 GiB): the eigendecomposition of the n x n Gram matrix
  (X - mu)(X - mu)^T, whose eigenvectors u_i map back to the principal directions w_i = (X - mu)^T u_i /
  ||(X - mu)^T u_i|| with the same variances (lambda_i / (n - 1)). Both give the same directions to numerical
  precision. Eigenvalues below ``max(n, D) * eps * lambda_max`` count as zero; when fewer than k directions
  remain (rank r < k, e.g. fewer training items than bits), directions r+1..k are an orthonormal basis of part
  of the null space of the data (a fixed-seed Gaussian matrix projected off the data directions and
  orthonormalised), so no NaN and no crash; training items lie on those hyperplanes.

Memory: `FeatureHasher.check_fit_memory` estimates the main allocations of ``fit`` (the centred float64 copy
of the training features, the covariance or Gram matrix and the eigensolver's copy of it, LSH's D x n_bits
projection, ITQ's and SH's projected data) and stops with a `UserError` giving the estimate, the available
memory and the fix (`zshbench.memory.check_allocation`) before allocating. Encoding centres and projects at
most `ENCODE_BLOCK_BYTES` of float64 rows at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zshbench.errors import UserError
from zshbench.hasher import Hasher, Requirements
from zshbench.memory import check_allocation, fmt_bytes
from zshbench.trainset import TrainSet, as_feature_array

__all__ = [
    "FeatureHasher",
    "fit_mean",
    "pca_directions",
    "pca_solver",
    "pca_memory",
    "pca_fit_memory",
    "principal_subspace",
    "random_orthogonal",
    "TIE_RTOL",
]

# projections within TIE_RTOL * (largest |training projection|) of a hyperplane count as ON it (bit 1): a
# direction along which the training data do not vary (constant or duplicated columns, fewer samples than bits)
# then gives a deterministic bit instead of the sign of round-off noise.
TIE_RTOL = 1e-9

# the Gram solver's null-space directions (rank < k) come from a Gaussian matrix drawn with this fixed seed, so
# they do not depend on the method's ``seed`` (PCAH and SH are deterministic)
NULL_SPACE_SEED = 0
# encoding centres and projects rows in blocks of at most this many float64 bytes (only matters for large D:
# 4096 rows of 3072-d features are 96 MiB and stay one block)
ENCODE_BLOCK_BYTES = 256 * 2**20
_F8 = 8  # bytes per float64

MEMORY_FIX = (
    "Use lower-dimensional features (e.g. --features timm:resnet50 instead of pixels, or a smaller "
    "--image-size), fewer training items (--train-per-class), or fewer --bits."
)


def fit_mean(x: np.ndarray, center: bool = True) -> np.ndarray:
    """Column means of ``x`` in float64 (zeros when ``center`` is False)."""
    return x.mean(axis=0, dtype=np.float64) if center else np.zeros(x.shape[1], dtype=np.float64)


def pca_solver(n: int, d: int) -> str:
    """The PCA solver for ``n`` centred training rows of dimension ``d``: "covariance" when d <= n, else "gram"."""
    return "gram" if d > n else "covariance"


def pca_memory(n: int, d: int, k: int, solver: str = "auto") -> tuple[float, str]:
    """Estimated peak bytes of `pca_directions` on (n, d) data for ``k`` directions, and what they are."""
    if solver == "auto":
        solver = pca_solver(n, d)
    if solver == "covariance":
        return 2.0 * d * d * _F8, f"the {d} x {d} float64 PCA covariance and the eigensolver's copy of it"
    fill = max(0, k - (n - 1))  # directions beyond the rank of n centred rows come from the null-space fill
    return (2.0 * n * n + d * k + (d * k + 3.0 * d * fill if fill else 0.0)) * _F8, (
        f"the {n} x {n} float64 PCA Gram matrix, the eigensolver's copy of it and the {d} x {k} directions"
    )


def pca_fit_memory(n: int, d: int, k: int) -> list[tuple[str, float]]:
    """`pca_memory` as a `FeatureHasher.fit_memory` entry."""
    nbytes, what = pca_memory(n, d, k)
    return [(what, nbytes)]


def pca_directions(xc: np.ndarray, k: int, solver: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal directions (D, k) and their variances of centred data ``xc``, largest first.

    With ``solver="auto"``, D <= n uses the eigendecomposition of the D x D covariance in float64 (only the top
    ``k`` eigenpairs are computed), D > n the n x n Gram matrix (see the module docstring); "covariance" and
    "gram" force one (tests compare them). Signs are fixed so that the largest-magnitude entry of each
    direction is positive, making results reproducible across LAPACK builds. When the data have rank < k, the
    trailing directions are an orthonormal basis of part of the null space (variance 0).

    Raises:
        UserError: the estimated memory exceeds what is available (`zshbench.memory.check_allocation`).
    """
    from scipy.linalg import eigh

    xc = np.asarray(xc, dtype=np.float64)
    d = xc.shape[1]
    if not 1 <= k <= d:
        raise ValueError(f"pca_directions: k={k} must lie in 1..{d} (the feature dimension).")
    if solver == "auto":
        solver = pca_solver(len(xc), d)
    if solver == "gram":
        return _pca_gram(xc, k)
    if solver != "covariance":
        raise ValueError(f"pca_directions: unknown solver {solver!r} (expected auto, covariance or gram).")
    check_allocation(*pca_memory(len(xc), d, k, "covariance"), MEMORY_FIX)
    cov = (xc.T @ xc) / max(len(xc) - 1, 1)
    evals, evecs = eigh(cov, subset_by_index=[d - k, d - 1])
    order = np.argsort(evals, kind="stable")[::-1]
    w, v = evecs[:, order], np.maximum(evals[order], 0.0)
    return _fix_signs(w), v


def _fix_signs(w: np.ndarray) -> np.ndarray:
    """Flip each column of ``w`` in place so that its largest-magnitude entry is positive; return ``w``."""
    rows = [int(np.abs(w[:, j]).argmax()) for j in range(w.shape[1])]  # column by column: no (D, k) temporaries
    flip = np.sign(w[rows, np.arange(w.shape[1])])
    flip[flip == 0] = 1
    w *= flip
    return w


def _pca_gram(xc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`pca_directions` through the n x n Gram matrix (for D > n; see the module docstring)."""
    from scipy.linalg import eigh

    n, d = xc.shape
    check_allocation(*pca_memory(n, d, k, "gram"), MEMORY_FIX)
    m = min(k, n)
    evals, evecs = eigh(xc @ xc.T, subset_by_index=[n - m, n - 1])
    order = np.argsort(evals, kind="stable")[::-1]
    lam, u = evals[order], evecs[:, order]
    tol = max(n, d) * np.finfo(np.float64).eps * max(float(lam[0]), 0.0)
    r = int(np.count_nonzero(lam > tol))
    w = xc.T @ u[:, :r]  # (d, r) = sigma_i w_i
    w /= np.sqrt(np.einsum("ij,ij->j", w, w))  # column norms without a temporary of w's size
    if r < k:
        w = np.hstack([w, _null_space_basis(w, k - r)])
    v = np.concatenate([lam[:r] / max(n - 1, 1), np.zeros(k - r)])
    return _fix_signs(w), v


def _null_space_basis(w: np.ndarray, m: int) -> np.ndarray:
    """``m`` orthonormal directions orthogonal to the orthonormal columns of ``w`` (D, r), from a fixed seed."""
    g = np.random.default_rng(NULL_SPACE_SEED).standard_normal((w.shape[0], m))
    for _ in range(2):  # twice is enough for orthogonality to round-off (Kahan's "twice is enough")
        g -= w @ (w.T @ g)
    return np.linalg.qr(g)[0]


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
    default (plain sign, as LSH). They extend `fit_memory` with their own large allocations.
    """

    requires = Requirements(inputs="features")
    tie_tol_: float = 0.0

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        """The main allocations of `fit` on ``n`` training items of dimension ``d``: (what, bytes) pairs.

        They are held at the same time, so `check_fit_memory` compares their sum with the available memory.
        """
        return [(f"the centred float64 copy of the {n} x {d} training features", float(n) * d * _F8)]

    def check_fit_memory(self, n: int, d: int) -> None:
        """Refuse to fit on ``n`` x ``d`` features when `fit_memory` exceeds the available memory.

        Called by `fit` before anything large is allocated; a runner that knows the feature dimension in
        advance may call it before extracting features.

        Raises:
            UserError: stating the estimate (and its parts), the available memory and the fix.
        """
        parts = self.fit_memory(int(n), int(d))
        total = sum(b for _, b in parts)
        what = (
            f"fitting '{self.name}' ({self.n_bits} bits) on {n} x {d} features ("
            + ", ".join(f"{w}: {fmt_bytes(b)}" for w, b in parts)
            + ")"
        )
        check_allocation(total, what, MEMORY_FIX)

    def _fit(self, train: TrainSet) -> None:
        x = as_feature_array(train.features, what="training features")
        self.check_fit_memory(*x.shape)
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
        return self._snap(self._project(x, self.projection_))

    def _centre(self, x: np.ndarray) -> np.ndarray:
        xc = x.astype(np.float64)  # a copy, so centring in place is safe (same numerics as x - mean_)
        xc -= self.mean_
        return xc

    def _project(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``(x - mean_) @ w`` in float64, centring at most `ENCODE_BLOCK_BYTES` of rows at a time."""
        rows = max(1, ENCODE_BLOCK_BYTES // (_F8 * max(x.shape[1], 1)))
        if len(x) <= rows:
            return self._centre(x) @ w
        out = np.empty((len(x), w.shape[1]), dtype=np.float64)
        for start in range(0, len(x), rows):
            out[start : start + rows] = self._centre(x[start : start + rows]) @ w
        return out

    def _get_state(self) -> dict[str, Any]:
        state = {"mean_": self.mean_, "projection_": self.projection_}
        if self.tie_tol_ > 0:
            state["tie_tol_"] = self.tie_tol_
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.projection_ = np.asarray(state["projection_"], dtype=np.float64)
        self.tie_tol_ = float(state.get("tie_tol_", 0.0))
