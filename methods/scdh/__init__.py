"""SCDH: strongly constrained discrete hashing (balanced, decorrelated codes from the label similarity; kernel hash
function).

Chen, Tian, Zhang, Wang and Zhang, "Strongly Constrained Discrete Hashing", IEEE TIP 29 (2020) 3596-3611 (RAZH
Table II [53], row SCDH). The paper's text and code could not be read from any reachable source; the formulation
below follows a restatement of its model in public notes and the paper's abstract (see the fidelity table,
``methods/scdh/README.md``, for what each step rests on). Summary, rows as items:

* similarity S = 2 Y Y^T - 1 1^T in {-1, +1}^{n x n} from the one-hot labels Y of the SEEN classes, never formed;
* problem: min_{B, Z} ||B Z^T - r S||^2 + alpha ||B - Z||^2 over B in {-1, +1}^{n x r} and real Z (n x r) under
  the "strong" constraints 1^T Z = 0 (balance) and Z^T Z = n I (decorrelation), r = n_bits. With B binary and Z
  so constrained, ||B Z^T||^2 = n^2 r and ||B - Z||^2 = 2 n r - 2 tr(B^T Z) are constants up to the cross terms,
  so the problem is max tr(B^T (r S + alpha I) Z);
* B-step: B = sgn(r S Z + alpha Z), with S Z = 2 Y (Y^T Z) because 1^T Z = 0 (linear in n);
* Z-step: max tr(Z^T M), M = r S B + alpha B, under the constraints: with J M = U Sigma V^T (J = I - 1 1^T / n,
  thin SVD), Z = sqrt(n) U V^T (the closed form of Liu et al.'s discrete graph hashing), the rank-deficient case
  completed with orthonormal directions orthogonal to 1 and U (`constrained_z`);
* loop: B random (``seed``), then ``n_iter`` times (Z-step, B-step);
* hash function (the kernelised SCDH_K): b(x) = sgn(P^T (phi(x) - mean phi)), phi the RBF anchor features of
  zshbench's SDH, P = (Kc^T Kc + ridge I)^{-1} Kc^T B the ridge regression of the codes on the centred features.

``loss_history_`` holds the objective (computed in O(n)); each step is an exact block maximiser, so it never rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.config import NON_NEG, POS_INT, POSITIVE, check_ranges
from zshbench.errors import UserError
from zshbench.hasher import HasherConfig, Requirements
from zshbench.methods._linear import FeatureHasher, check_trainable
from zshbench.methods.sdh import nearest_anchor_width, rbf_features
from zshbench.registry import register_method
from zshbench.trainset import TrainSet, as_feature_array

__all__ = ["SCDHConfig", "SCDHHasher", "similarity_times", "b_step", "constrained_z", "scdh_objective"]

_BLOCK_BYTES = 128 * 2**20
# the Z-step's seeded completion of a rank-deficient J M uses this fixed seed (Z does not depend on ``seed``)
_FILL_SEED = 0


@dataclass
class SCDHConfig(HasherConfig):
    """Attributes (the paper's values could not be read; see the README):
    alpha: weight of ||B - Z||^2 (our choice 1: B and Z weigh alike).
    n_iter: alternating (Z, B) iterations (our choice 10; the objective is flat after a few on shapes).
    n_anchors: m, RBF anchors of the kernel hash function (SDH's and KSH's 1000; all items when fewer).
    sigma: RBF kernel width; None = the mean nearest-anchor distance (zshbench's SDH rule).
    ridge: ridge of the hash function's regression (SDH's code value 1e-2).
    """

    alpha: float = 1.0
    n_iter: int = 10
    n_anchors: int = 1000
    sigma: float | None = None
    ridge: float = 1e-2


def similarity_times(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """S Z with S = 2 Y Y^T - 1 1^T, without the n x n S: 2 Y (Y^T Z) - 1 (1^T Z)."""
    return 2.0 * y @ (y.T @ z) - np.outer(np.ones(len(z)), z.sum(axis=0))


def b_step(y: np.ndarray, z: np.ndarray, r: float, alpha: float) -> np.ndarray:
    """B = sgn(r S Z + alpha Z) (sgn(0) = +1): the maximiser of tr(B^T (r S + alpha I) Z) over binary B."""
    return np.where(r * similarity_times(y, z) + alpha * z >= 0, 1.0, -1.0)


def constrained_z(m: np.ndarray) -> np.ndarray:
    """argmax tr(Z^T M) s.t. 1^T Z = 0, Z^T Z = n I: sqrt(n) U V^T from the thin SVD of the column-centred M.

    When J M has rank k < r, the r - k missing left directions are an orthonormal basis (from a fixed-seed
    Gaussian matrix) of the complement of 1 and the k found ones, and the right ones complete V; any such
    completion attains the maximum.
    """
    n, r = m.shape
    jm = m - m.mean(axis=0)
    u, s, vt = np.linalg.svd(jm, full_matrices=False)
    tol = max(n, r) * np.finfo(float).eps * (s[0] if s.size and s[0] > 0 else 1.0)
    k = int((s > tol).sum())
    if k == r:
        return np.sqrt(n) * (u @ vt)
    u, v = u[:, :k], vt[:k].T
    rng = np.random.default_rng(_FILL_SEED)
    basis = np.hstack([np.ones((n, 1)) / np.sqrt(n), u])
    g = rng.standard_normal((n, r - k))
    g -= basis @ (basis.T @ g)
    ubar, _ = np.linalg.qr(g)
    gv = rng.standard_normal((r, r - k))
    gv -= v @ (v.T @ gv)
    vbar, _ = np.linalg.qr(gv)
    return np.sqrt(n) * (u @ v.T + ubar @ vbar.T)


def scdh_objective(y: np.ndarray, b: np.ndarray, z: np.ndarray, r: float, alpha: float) -> float:
    """||B Z^T - r S||^2 + alpha ||B - Z||^2 in O(n): ||B Z^T||^2 = tr(B^T B Z^T Z), the cross term
    -2 r tr(B^T S Z), ||r S||^2 = r^2 n^2."""
    n = len(b)
    pair = float(np.sum((b.T @ b) * (z.T @ z)) - 2.0 * r * np.sum(b * similarity_times(y, z)) + (r * n) ** 2)
    return pair + alpha * float(np.sum((b - z) ** 2))


@register_method("scdh")
class SCDHHasher(FeatureHasher):
    """Strongly constrained discrete hashing (kernel hash function) on the shared feature stage. Reads the
    SEEN-class labels.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.standard_normal((300, 16)), rng.integers(0, 5, 300)
        >>> h = SCDHHasher(n_bits=16, n_anchors=100).fit(TrainSet.from_arrays(y, features=x))
        >>> h.encode(x).shape, h.projection_.shape
        ((300, 2), (100, 16))
    """

    Config = SCDHConfig
    version = "1"
    paper = "Chen et al., IEEE TIP 2020"
    requires = Requirements(inputs="features", supervised=True)

    def validate_config(self) -> None:
        super().validate_config()
        check_ranges(
            self.config,
            self.name or "scdh",
            {
                "alpha": NON_NEG,
                "n_iter": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000, "0..10000"),
                "n_anchors": POS_INT,
                "sigma": POSITIVE,
                "ridge": POSITIVE,
            },
        )

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        m = min(self.config.n_anchors, n)
        ll = self.n_bits
        return [
            (f"the float64 copy of the {n} x {d} training features", 8.0 * n * d),
            (f"the {n} x {m} float64 RBF features and their distance matrix", 2 * 8.0 * n * m),
            (f"the {m} x {m} float64 regression system", 2 * 8.0 * m * m),
            (f"6 float64 {n} x {ll} arrays (B, Z, S Z, M and the SVD's factors)", 6 * 8.0 * n * ll),
        ]

    def _fit(self, train: TrainSet) -> None:
        cfg = self.config
        x = np.asarray(as_feature_array(train.features, what="training features"), dtype=np.float64)
        n = len(x)
        self.check_fit_memory(n, x.shape[1])
        check_trainable(x - x.mean(axis=0), self.name)
        y = np.zeros((n, int(train.n_classes)))
        y[np.arange(n), np.asarray(train.labels)] = 1.0
        r = float(self.n_bits)

        rng = np.random.default_rng(cfg.seed)
        b = np.where(rng.standard_normal((n, self.n_bits)) >= 0, 1.0, -1.0)
        z = constrained_z(b)  # a feasible Z to report the starting objective
        history = [scdh_objective(y, b, z, r, cfg.alpha)]
        for _ in range(cfg.n_iter):
            z = constrained_z(r * similarity_times(y, b) + cfg.alpha * b)
            b = b_step(y, z, r, cfg.alpha)
            history.append(scdh_objective(y, b, z, r, cfg.alpha))
        self.codes_ = b
        self.loss_history_ = history
        self.bit_balance_ = float(np.abs(b.mean(axis=0)).mean())

        # kernel hash function (SCDH_K): ridge regression of B on the centred RBF anchor features
        m = min(int(cfg.n_anchors), n)
        self.mean_ = np.zeros(x.shape[1])  # FeatureHasher's field; phi uses distances only
        anchor_index = np.sort(rng.choice(n, m, replace=False))
        self.anchors_ = x[anchor_index]
        if cfg.sigma is None:
            sigma = nearest_anchor_width(x, anchor_index)
            if not sigma > 0:
                raise UserError(
                    "scdh: the training items coincide with their nearest anchors (mean distance 0), so the RBF "
                    "kernel width cannot be set from the data. Set it with --set sigma=VALUE."
                )
            self.sigma_source_ = "mean nearest-anchor distance of the training items"
        else:
            sigma = float(cfg.sigma)
            self.sigma_source_ = "config"
        self.sigma_ = sigma
        phi = rbf_features(x, self.anchors_, sigma)[:, :-1]
        self.feature_mean_ = phi.mean(axis=0)
        kc = phi - self.feature_mean_
        self.projection_ = np.linalg.solve(kc.T @ kc + cfg.ridge * np.eye(m), kc.T @ b)
        self.train_code_fit_ = float(np.mean(np.where(kc @ self.projection_ >= 0, 1.0, -1.0) == b))

    def run_info(self) -> dict[str, Any]:
        if not hasattr(self, "loss_history_"):
            return {}
        return {
            "objective": [round(v, 6) for v in self.loss_history_],
            "mean_abs_bit_mean": round(self.bit_balance_, 6),
            "n_anchors": int(len(self.anchors_)),
            "sigma": self.sigma_,
            "sigma_source": self.sigma_source_,
            "train_bits_reproduced": round(self.train_code_fit_, 6),
        }

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._check_dim(x)
        rows = max(1, _BLOCK_BYTES // (8 * max(len(self.anchors_), 1)))
        out = np.empty((len(x), self.n_bits))
        for s in range(0, len(x), rows):
            phi = rbf_features(x[s : s + rows], self.anchors_, self.sigma_)[:, :-1]
            out[s : s + rows] = (phi - self.feature_mean_) @ self.projection_
        return out

    def complexity(self, sample: Any) -> dict[str, Any]:
        m, d = self.anchors_.shape
        return {
            "params": int(self.anchors_.size + self.projection_.size + m + 1),
            "flops_per_image": int(2 * d * m + 2 * m * self.n_bits),
            "counter": "analytic",
            "note": "distances to the m anchors (x . a_j: 2 D m) and the projection of the m centred RBF features; "
            "norms and exponentials are element-wise and not counted",
        }

    def _get_state(self) -> dict[str, Any]:
        return {
            "mean_": self.mean_,
            "anchors_": self.anchors_,
            "projection_": self.projection_,
            "feature_mean_": self.feature_mean_,
            "sigma_": np.asarray([self.sigma_]),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.anchors_ = np.asarray(state["anchors_"], dtype=np.float64)
        self.projection_ = np.asarray(state["projection_"], dtype=np.float64)
        self.feature_mean_ = np.asarray(state["feature_mean_"], dtype=np.float64)
        self.sigma_ = float(np.asarray(state["sigma_"]).reshape(-1)[0])
