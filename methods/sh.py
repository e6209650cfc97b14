"""SH: spectral hashing, thresholded 1-D Laplacian eigenfunctions of a box fitted to the PCA-projected data.

Fidelity
--------
Weiss, Torralba and Fergus, "Spectral hashing", NeurIPS 2008, in the formulation of the authors' reference
MATLAB code (``trainSH.m`` / ``compressSH.m``, spectral hashing code release by Y. Weiss, 2008):

* centre by the training mean mu; Y = (X - mu) W, W = the top p = min(``n_bits``, D) principal directions;
* fit a uniform distribution per dimension: the bounding box [a_k, b_k] of the projected training data;
* the 1-D eigenfunctions of the Laplacian on [a_k, b_k] are Phi_{k,m}(y) = sin(pi/2 + omega_{k,m} (y - a_k)),
  omega_{k,m} = m pi / (b_k - a_k), with eigenvalue proportional to omega_{k,m}^2 (paper Eq. 6, the
  epsilon-independent ordering);
* candidates: m = 1 .. ceil((n_bits + 1) (b_k - a_k) / max_j (b_j - a_j)) - 1 for every dimension k (the
  reference code's enumeration, which always holds ``n_bits`` candidates along the widest dimension); the
  constant mode m = 0 is skipped; the ``n_bits`` candidates with the smallest omega^2 are kept, smallest first,
  ties in the order of the enumeration (dimension-major, as MATLAB's stable ``sort``);
* bit j = sign(sin(pi/2 + omega_j (y_{k_j} - a_{k_j}))) for the chosen mode (k_j, m_j).

Only single-dimension ("1-D") eigenfunctions are used, as in the paper's algorithm and the reference code
(products over several dimensions are never among the smallest eigenvalues for the box model). Unsupervised
and deterministic: labels, attributes and ``seed`` are not used.

Deviations and edge cases:

* the box is [min, max] of the projected data; the reference code pads it by MATLAB's ``eps`` (2.2e-16), which
  changes no code in practice;
* the reference code skips centring ("no need to remove the mean"); Y is shifted by a_k anyway, so centring
  changes nothing but the numerics;
* ``n_bits`` > D is supported (several modes per dimension); dimensions along which the training data do not
  vary (rank < p) get no candidates since their range is ~0; all-constant training data are refused;
* PCA is PCAH's (through the n x n Gram matrix when D > n; memory estimated before fitting), signs fixed as
  in PCAH (flipping a dimension flips its odd modes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.hasher import HasherConfig
from zshbench.methods._linear import FeatureHasher, check_trainable, pca_directions, pca_fit_memory
from zshbench.registry import register_method
from zshbench.trainset import TrainSet

__all__ = ["SHConfig", "SHHasher", "select_modes"]


@dataclass
class SHConfig(HasherConfig):
    """SH has no settings of its own (``seed`` is unused: the method is deterministic)."""


def select_modes(lo: np.ndarray, hi: np.ndarray, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_bits`` 1-D modes with the smallest omega^2 on the box [lo, hi] (reference enumeration).

    Args:
        lo, hi: (p,) bounds of the box per dimension.
        n_bits: number of modes to choose.

    Returns:
        ``modes`` int64 (n_bits, 2) rows (dimension k, mode m >= 1), smallest omega first, and ``omega``
        (n_bits,) = m pi / (hi_k - lo_k).
    """
    width = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    max_mode = np.ceil((n_bits + 1) * width / width.max()).astype(np.int64)  # ranges ~0 give 0 or 1: no modes
    dims = np.concatenate([np.full(max(mm - 1, 0), k) for k, mm in enumerate(max_mode)]).astype(np.int64)
    ms = np.concatenate([np.arange(1, max(mm, 1)) for mm in max_mode]).astype(np.int64)
    omega0 = np.pi / width[dims]
    omega = ms * omega0
    order = np.argsort(omega**2, kind="stable")[:n_bits]
    return np.stack([dims[order], ms[order]], axis=1), omega[order]


@register_method("sh")
class SHHasher(FeatureHasher):
    """Spectral hashing with the box (uniform) model of the PCA-projected training data.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> x = np.random.default_rng(0).standard_normal((100, 8))
        >>> sh = SHHasher(n_bits=16).fit(TrainSet.from_arrays(np.zeros(100, int), features=x))
        >>> sh.encode(x).shape, sh.modes_.shape
        ((100, 2), (16, 2))
    """

    Config = SHConfig
    version = "1"

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        p = min(self.n_bits, d)
        return [
            *super().fit_memory(n, d),
            *pca_fit_memory(n, d, p),
            (f"the {n} x {p} projected training data", 8.0 * n * p),
        ]

    def _fit_projection(self, xc: np.ndarray, train: TrainSet) -> None:
        check_trainable(xc, self.name)
        self.pc_ = pca_directions(xc, min(self.n_bits, xc.shape[1]))[0]
        y = xc @ self.pc_
        self.mn_, self.mx_ = y.min(axis=0), y.max(axis=0)
        self.modes_, self.omega_ = select_modes(self.mn_, self.mx_, self.n_bits)

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        self._check_dim(x)
        k = self.modes_[:, 0]
        y = self._project(x, self.pc_)[:, k]
        return np.sin(np.pi / 2 + self.omega_ * (y - self.mn_[k]))

    def _get_state(self) -> dict[str, Any]:
        return {"mean_": self.mean_, "pc_": self.pc_, "mn_": self.mn_, "mx_": self.mx_, "modes_": self.modes_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.pc_ = np.asarray(state["pc_"], dtype=np.float64)
        self.mn_ = np.asarray(state["mn_"], dtype=np.float64)
        self.mx_ = np.asarray(state["mx_"], dtype=np.float64)
        self.modes_ = np.asarray(state["modes_"], dtype=np.int64)
        width = self.mx_[self.modes_[:, 0]] - self.mn_[self.modes_[:, 0]]
        self.omega_ = self.modes_[:, 1] * (np.pi / width)
