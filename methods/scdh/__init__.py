"""SCDH: strongly constrained discrete hashing (balanced, decorrelated auxiliary codes, jointly learned kernel hash
function).

Chen, Tian, Zhang, Wang and Zhang, "Strongly Constrained Discrete Hashing", IEEE TIP 29 (2020) 3596-3611 (RAZH
Table II [53], row SCDH), following the MATLAB implementation of the paper in the public SSHBIR toolkit (GitHub
``Eddie-Wang1120/single-modal-supervised-hashing-baseline-for-image-retrieval``, folder ``SCDH``: ``demo_SCDH.m``,
``solve.m``, ``Loss.m``, ``initialize.m``, ``hash_func.m``; its README names the paper). The paper's text could not
be read; see the fidelity table, ``methods/scdh/README.md``. Summary, rows as items:

* features: the training and query vectors are scaled to unit length, then X = phi(x) = [exp(-||x - a_j|| /
  (2 sigma^2))_j, 1] over m = min(2000, n) random training anchors, sigma = 0.4 (the code's kernel, on the
  Euclidean distance, not its square);
* similarity S = 2 Y Y^T - 1 1^T in {-1, +1}^{n x n} from the one-hot labels Y of the SEEN classes, never formed;
* problem: min_{B, Z, P} ||B Z^T - r S||^2 + lam ||X P - B||^2 + alpha ||B - Z||^2 + beta ||P||^2 over
  B in {-1, +1}^{n x r} and real Z (n x r) under the "strong" constraints 1^T Z = 0 (balance) and Z^T Z = n I
  (decorrelation), r = n_bits; with them ||B Z^T||^2 = n^2 r is a constant;
* P-step: P = (lam X^T X + beta I)^{-1} lam X^T B;
* Z-step: max tr(Z^T M), M = r S B + alpha B: with J M = U Sigma V^T (J = I - 1 1^T / n), Z = sqrt(n) U V^T, a
  rank-deficient J M completed with orthonormal directions orthogonal to 1 and U (`constrained_z`);
* B-step: B = sgn(r S Z + lam X P + alpha Z), with S Z = 2 Y (Y^T Z) - 1 (1^T Z) (linear in n);
* loop: P uniform random, Z Gaussian, B = sgn(Z) (``seed``), then ``n_iter`` times (P-, Z-, B-step);
* hash function: b(x) = sgn(P^T phi(x)) with the last P.

``loss_history_`` holds the objective after each iteration (computed in O(n)); every step is an exact block
minimiser, so it never rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.config import NON_NEG, POS_INT, POSITIVE, check_ranges
from zshbench.hasher import HasherConfig, Requirements
from zshbench.methods._kernel import AnchorKernelHasher
from zshbench.methods._linear import check_trainable
from zshbench.registry import register_method
from zshbench.trainset import TrainSet, as_feature_array

__all__ = [
    "SCDHConfig",
    "SCDHHasher",
    "similarity_times",
    "b_step",
    "constrained_z",
    "scdh_objective",
    "scdh_features",
    "unit_rows",
]

# the Z-step's seeded completion of a rank-deficient J M uses this fixed seed (Z does not depend on ``seed``)
_FILL_SEED = 0


@dataclass
class SCDHConfig(HasherConfig):
    """Attributes (defaults: the implementation's values, see the README):
    alpha: weight of ||B - Z||^2 (code: 0.1).
    beta: weight of ||P||^2 (code: 1).
    lam: weight of the hash-function fit ||X P - B||^2 (code: 10).
    n_iter: alternating (P, Z, B) iterations (code: 10).
    n_anchors: m, RBF anchors (code: min(2000, n)).
    sigma: RBF width on unit-length features (code: 0.4).
    """

    alpha: float = 0.1
    beta: float = 1.0
    lam: float = 10.0
    n_iter: int = 10
    n_anchors: int = 2000
    sigma: float = 0.4


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (a zero row stays zero): the code's ``normalize``."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def scdh_features(x: np.ndarray, anchors: np.ndarray, sigma: float) -> np.ndarray:
    """[exp(-||x - a_j|| / (2 sigma^2))_j, 1] (n, m + 1) on unit-length rows (the distance, not its square)."""
    xu = unit_rows(np.asarray(x, np.float64))
    d2 = (xu * xu).sum(1)[:, None] - 2.0 * (xu @ anchors.T) + (anchors * anchors).sum(1)[None, :]
    k = np.exp(-np.sqrt(np.maximum(d2, 0.0)) / (2.0 * sigma * sigma))
    return np.hstack([k, np.ones((len(k), 1))])


def similarity_times(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """S Z with S = 2 Y Y^T - 1 1^T, without the n x n S: 2 Y (Y^T Z) - 1 (1^T Z)."""
    return 2.0 * y @ (y.T @ z) - np.outer(np.ones(len(z)), z.sum(axis=0))


def b_step(y: np.ndarray, z: np.ndarray, xp: np.ndarray, r: float, lam: float, alpha: float) -> np.ndarray:
    """B = sgn(r S Z + lam X P + alpha Z) (sgn(0) = +1): the objective's minimiser over binary B (``xp`` = X P)."""
    return np.where(r * similarity_times(y, z) + lam * xp + alpha * z >= 0, 1.0, -1.0)


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


def scdh_objective(
    y: np.ndarray,
    b: np.ndarray,
    z: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    r: float,
    lam: float,
    alpha: float,
    beta: float,
) -> float:
    """||B Z^T - r S||^2 + lam ||X P - B||^2 + alpha ||B - Z||^2 + beta ||P||^2 in O(n): ||B Z^T||^2 =
    tr(B^T B Z^T Z), the cross term -2 r tr(B^T S Z), ||r S||^2 = r^2 n^2 (the code's ``Loss.m``)."""
    n = len(b)
    pair = float(np.sum((b.T @ b) * (z.T @ z)) - 2.0 * r * np.sum(b * similarity_times(y, z)) + (r * n) ** 2)
    return (
        pair + lam * float(np.sum((x @ p - b) ** 2)) + alpha * float(np.sum((b - z) ** 2)) + beta * float(np.sum(p * p))
    )


@register_method("scdh")
class SCDHHasher(AnchorKernelHasher):
    """Strongly constrained discrete hashing (jointly learned kernel hash function) on the shared feature stage.
    Reads the SEEN-class labels.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.standard_normal((300, 16)), rng.integers(0, 5, 300)
        >>> h = SCDHHasher(n_bits=16, n_anchors=100).fit(TrainSet.from_arrays(y, features=x))
        >>> h.encode(x).shape, h.projection_.shape
        ((300, 2), (101, 16))
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
                "beta": POSITIVE,
                "lam": POSITIVE,
                "n_iter": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10_000, "1..10000"),
                "n_anchors": POS_INT,
                "sigma": POSITIVE,
            },
        )

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        m = min(self.config.n_anchors, n) + 1
        ll = self.n_bits
        return [
            (f"the float64 copy of the {n} x {d} training features and its unit-length rows", 2 * 8.0 * n * d),
            (f"the {n} x {m} float64 RBF features and their distance matrix", 2 * 8.0 * n * m),
            (f"the {m} x {m} float64 P-step system", 2 * 8.0 * m * m),
            (f"6 float64 {n} x {ll} arrays (B, Z, S Z, X P, M and the SVD's factors)", 6 * 8.0 * n * ll),
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
        m = min(int(cfg.n_anchors), n)
        self.mean_ = np.zeros(x.shape[1])  # FeatureHasher's field; phi uses distances of unit-length rows only
        self.anchors_ = unit_rows(x[np.sort(rng.choice(n, m, replace=False))])
        self.sigma_ = float(cfg.sigma)
        phi = scdh_features(x, self.anchors_, self.sigma_)

        # the code's initialisation: P = rand, Z = randn, B = sgn(Z)
        p = rng.random((m + 1, self.n_bits))
        z = rng.standard_normal((n, self.n_bits))
        b = np.where(z >= 0, 1.0, -1.0)
        gram = cfg.lam * (phi.T @ phi) + cfg.beta * np.eye(m + 1)
        history = []
        for _ in range(cfg.n_iter):
            p = np.linalg.solve(gram, cfg.lam * (phi.T @ b))
            z = constrained_z(r * similarity_times(y, b) + cfg.alpha * b)
            b = b_step(y, z, phi @ p, r, cfg.lam, cfg.alpha)
            history.append(scdh_objective(y, b, z, phi, p, r, cfg.lam, cfg.alpha, cfg.beta))
        self.projection_ = p
        self.codes_ = b
        self.loss_history_ = history
        self.bit_balance_ = float(np.abs(b.mean(axis=0)).mean())
        self.train_code_fit_ = float(np.mean(np.where(phi @ p >= 0, 1.0, -1.0) == b))

    def run_info(self) -> dict[str, Any]:
        if not hasattr(self, "loss_history_"):
            return {}
        return {
            "objective": [round(v, 6) for v in self.loss_history_],
            "mean_abs_bit_mean": round(self.bit_balance_, 6),
            "n_anchors": int(len(self.anchors_)),
            "train_bits_reproduced": round(self.train_code_fit_, 6),
        }

    def _features(self, x: np.ndarray) -> np.ndarray:
        return scdh_features(x, self.anchors_, self.sigma_)

    def complexity(self, sample: Any) -> dict[str, Any]:
        m, d = self.anchors_.shape
        return {
            "params": int(self.anchors_.size + self.projection_.size + 1),
            "flops_per_image": int(2 * d * m + 2 * (m + 1) * self.n_bits),
            "counter": "analytic",
            "note": "distances to the m anchors (x . a_j: 2 D m) and the projection of the m + 1 RBF features; "
            "the normalisation, norms, square roots and exponentials are element-wise and not counted",
        }
