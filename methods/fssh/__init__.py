"""FSSH: fast scalable supervised hashing (RBF anchor features, label-factorised pairwise loss, closed-form steps).

Luo, Nie, He, Wu, Chen and Xu, "Fast Scalable Supervised Hashing", SIGIR 2018 (RAZH Table II [52], row FSSH), the
single-modal variant FSSH_ts of the authors' MATLAB release (``FSSH-TS/FSSH.m``, ``train_FSSH.m``). The fidelity
table (one verdict per equation) is ``methods/fssh/README.md``. Summary, with rows as items:

* features: X = standardise(phi(x)), phi(x) = [exp(-||x - a_j||^2 / (2 sigma^2))]_j over m anchors a_j drawn
  (``seed``) from the training items, each of the m columns centred and scaled to unit variance with the training
  statistics (the code's ``normEqualVariance``);
* pairwise similarity S = 2 Y Y^T - 1 1^T in {-1, +1}^{n x n} (Y the n x C one-hot labels of the SEEN classes),
  never formed: only the "pre-computed intermediate term" A = X^T S Y = 2 (X^T Y)(Y^T Y) - (X^T 1)(1^T Y), of
  size m x C, enters the updates, so one iteration is linear in n;
* problem: min_{B, G, W} ||(X W)(Y G)^T - S||^2 + mu ||B - Y G||^2 + theta ||B - X W||^2, B in {-1, +1}^{n x L},
  G (C x L) the latent label embedding, W (m x L) the projection;
* B-step: B = sgn(mu Y G + theta X W);
* G-step: G = (Y^T Y)^{-1} (mu Y^T B + A^T W)(mu I + W^T X^T X W)^{-1};
* W-step: W = (X^T X)^+ (theta X^T B + A G)(theta I + G^T Y^T Y G)^{-1};
* loop: B, G, W random (``seed``), ``n_iter`` times (B-, G-, W-step);
* out-of-sample hash function: P = (X^T X + ridge I)^{-1} X^T B, b(x) = sgn(P^T X(x)) (the code's last lines).

Every step is an exact block minimiser (the pseudo-inverse gives a minimiser of the W-step when X^T X is
singular, e.g. m >= n), so ``loss_history_`` (the objective, computed in O(n) with the same trick) never rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.config import NON_NEG, POS_INT, POSITIVE, check_ranges
from zshbench.errors import UserError
from zshbench.hasher import HasherConfig, Requirements
from zshbench.methods._kernel import AnchorKernelHasher
from zshbench.methods._linear import check_trainable
from zshbench.methods.sdh import nearest_anchor_width, rbf_features
from zshbench.registry import register_method
from zshbench.trainset import TrainSet, as_feature_array

__all__ = [
    "FSSHConfig",
    "FSSHHasher",
    "label_similarity_term",
    "b_step",
    "g_step",
    "w_step",
    "fssh_objective",
    "standardise_columns",
]


@dataclass
class FSSHConfig(HasherConfig):
    """Attributes (defaults: the authors' code's values; the paper's text could not be read, see the README):
    n_anchors: m, RBF anchors drawn from the training items (code: 1000; all items when fewer).
    sigma: RBF kernel width; None = the mean distance of the training items to their nearest anchor (as
        zshbench's SDH; the code's 0.4 is for unit-normalised GIST features).
    mu: weight of ||B - Y G||^2 (code: 1e4).
    theta: weight of ||B - X W||^2 (code: 0.01).
    n_iter: alternating iterations (code: 5).
    ridge: ridge of the out-of-sample regression P (code: 1).
    """

    n_anchors: int = 1000
    sigma: float | None = None
    mu: float = 1e4
    theta: float = 0.01
    n_iter: int = 5
    ridge: float = 1.0


def standardise_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales of ``x``: scale = the column's standard deviation (n - 1), 1 where it is 0 (a
    constant column is only centred, as the code's ``normEqualVariance`` skips it)."""
    mean = x.mean(axis=0)
    std = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])
    return mean, np.where(std > 0, std, 1.0)


def label_similarity_term(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A = X^T S Y with S = 2 Y Y^T - 1 1^T, computed as 2 (X^T Y)(Y^T Y) - (X^T 1)(1^T Y) without the n x n S."""
    return 2.0 * (x.T @ y) @ (y.T @ y) - np.outer(x.sum(axis=0), y.sum(axis=0))


def b_step(x: np.ndarray, y: np.ndarray, g: np.ndarray, w: np.ndarray, mu: float, theta: float) -> np.ndarray:
    """B = sgn(mu Y G + theta X W) (sgn(0) = +1): the minimiser of mu ||B - Y G||^2 + theta ||B - X W||^2."""
    return np.where(mu * (y @ g) + theta * (x @ w) >= 0, 1.0, -1.0)


def g_step(x: np.ndarray, y: np.ndarray, b: np.ndarray, w: np.ndarray, a: np.ndarray, mu: float) -> np.ndarray:
    """G = (Y^T Y)^+ (mu Y^T B + A^T W)(mu I + W^T X^T X W)^{-1}: the objective's minimiser over G."""
    xw = x @ w
    right = np.linalg.inv(mu * np.eye(w.shape[1]) + xw.T @ xw)
    return np.linalg.pinv(y.T @ y) @ (mu * (y.T @ b) + a.T @ w) @ right


def w_step(x: np.ndarray, y: np.ndarray, b: np.ndarray, g: np.ndarray, a: np.ndarray, theta: float) -> np.ndarray:
    """W = (X^T X)^+ (theta X^T B + A G)(theta I + G^T Y^T Y G)^{-1}: a minimiser over W (the pseudo-inverse
    gives one when X^T X is singular: the right-hand side lies in the range of X^T)."""
    yg = y @ g
    right = np.linalg.inv(theta * np.eye(g.shape[1]) + yg.T @ yg)
    return np.linalg.pinv(x.T @ x, hermitian=True) @ (theta * (x.T @ b) + a @ g) @ right


def fssh_objective(
    x: np.ndarray, y: np.ndarray, b: np.ndarray, g: np.ndarray, w: np.ndarray, mu: float, theta: float
) -> float:
    """||(X W)(Y G)^T - S||^2 + mu ||B - Y G||^2 + theta ||B - X W||^2 in O(n): the first term is
    tr((XW)^T XW (YG)^T YG) - 2 tr((XW)^T S Y G) + n^2, with S Y = 2 Y (Y^T Y) - 1 (1^T Y)."""
    n = len(x)
    xw, yg = x @ w, y @ g
    sy = 2.0 * y @ (y.T @ y) - np.outer(np.ones(n), y.sum(axis=0))
    pair = float(np.sum((xw.T @ xw) * (yg.T @ yg)) - 2.0 * np.sum(xw * (sy @ g)) + n * n)
    return pair + mu * float(np.sum((b - yg) ** 2)) + theta * float(np.sum((b - xw) ** 2))


@register_method("fssh")
class FSSHHasher(AnchorKernelHasher):
    """Fast scalable supervised hashing (FSSH_ts) on RBF anchor features. Reads the SEEN-class labels.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.standard_normal((300, 16)), rng.integers(0, 5, 300)
        >>> h = FSSHHasher(n_bits=16, n_anchors=100).fit(TrainSet.from_arrays(y, features=x))
        >>> h.encode(x).shape, h.projection_.shape
        ((300, 2), (100, 16))
    """

    Config = FSSHConfig
    version = "1"
    paper = "Luo et al., SIGIR 2018"
    requires = Requirements(inputs="features", supervised=True)
    extra_state = ("feature_mean_", "feature_scale_")

    def validate_config(self) -> None:
        super().validate_config()
        check_ranges(
            self.config,
            self.name or "fssh",
            {
                "n_anchors": POS_INT,
                "sigma": POSITIVE,
                "mu": POSITIVE,
                "theta": POSITIVE,
                "n_iter": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000, "0..10000"),
                "ridge": NON_NEG,
            },
        )

    # -- memory --------------------------------------------------------------------------------------------
    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        m = min(self.config.n_anchors, n)
        ll = self.n_bits
        return [
            (f"the float64 copy of the {n} x {d} training features", 8.0 * n * d),
            (f"the {n} x {m} float64 RBF features and their distance matrix", 2 * 8.0 * n * m),
            (f"the {m} x {m} float64 X^T X, its pseudo-inverse and the SVD's copies", 4 * 8.0 * m * m),
            (f"4 float64 {n} x {ll} arrays (B, X W, Y G, S Y G)", 4 * 8.0 * n * ll),
        ]

    # -- fit -----------------------------------------------------------------------------------------------
    def _fit(self, train: TrainSet) -> None:
        cfg = self.config
        x = np.asarray(as_feature_array(train.features, what="training features"), dtype=np.float64)
        n = len(x)
        self.check_fit_memory(n, x.shape[1])
        check_trainable(x - x.mean(axis=0), self.name)
        labels = np.asarray(train.labels)
        y = np.zeros((n, int(train.n_classes)))
        y[np.arange(n), labels] = 1.0  # one-hot over the SEEN classes

        rng = np.random.default_rng(cfg.seed)
        m = min(int(cfg.n_anchors), n)
        self.mean_ = np.zeros(x.shape[1])  # no centring of x: phi uses distances only (FeatureHasher keeps the field)
        anchor_index = np.sort(rng.choice(n, m, replace=False))
        self.anchors_ = x[anchor_index]
        if cfg.sigma is None:
            sigma = nearest_anchor_width(x, anchor_index)
            if not sigma > 0:
                raise UserError(
                    "fssh: the training items coincide with their nearest anchors (mean distance 0), so the RBF "
                    "kernel width cannot be set from the data. Set it with --set sigma=VALUE."
                )
            self.sigma_source_ = "mean nearest-anchor distance of the training items"
        else:
            sigma = float(cfg.sigma)
            self.sigma_source_ = "config"
        self.sigma_ = sigma
        phi = rbf_features(x, self.anchors_, sigma)[:, :-1]  # no bias column (the code's Phi)
        self.feature_mean_, self.feature_scale_ = standardise_columns(phi)
        xs = (phi - self.feature_mean_) / self.feature_scale_

        ll = self.n_bits
        b = np.where(rng.standard_normal((n, ll)) > 0, 1.0, -1.0)  # the code's randn > 0, *2 - 1
        g = rng.standard_normal((y.shape[1], ll))
        w = rng.standard_normal((m, ll))
        a = label_similarity_term(xs, y)
        history = [fssh_objective(xs, y, b, g, w, cfg.mu, cfg.theta)]
        for _ in range(cfg.n_iter):
            b = b_step(xs, y, g, w, cfg.mu, cfg.theta)
            g = g_step(xs, y, b, w, a, cfg.mu)
            w = w_step(xs, y, b, g, a, cfg.theta)
            history.append(fssh_objective(xs, y, b, g, w, cfg.mu, cfg.theta))
        self.codes_ = b
        self.label_embedding_ = g
        self.loss_history_ = history
        # out-of-sample extension: ridge regression of the training codes on the features
        self.projection_ = np.linalg.solve(xs.T @ xs + cfg.ridge * np.eye(m), xs.T @ b)
        self.train_code_fit_ = float(np.mean(np.where(xs @ self.projection_ >= 0, 1.0, -1.0) == b))

    def run_info(self) -> dict[str, Any]:
        if not hasattr(self, "loss_history_"):
            return {}
        return {
            "n_anchors": int(len(self.anchors_)),
            "sigma": self.sigma_,
            "sigma_source": self.sigma_source_,
            "objective": [round(v, 6) for v in self.loss_history_],
            "train_bits_reproduced": round(self.train_code_fit_, 6),
        }

    # -- encode --------------------------------------------------------------------------------------------
    def _features(self, x: np.ndarray) -> np.ndarray:
        phi = rbf_features(x, self.anchors_, self.sigma_)[:, :-1]
        return (phi - self.feature_mean_) / self.feature_scale_

    def complexity(self, sample: Any) -> dict[str, Any]:
        m, d = self.anchors_.shape
        n = int(self.anchors_.size + self.projection_.size + 2 * m + 1)
        return {
            "params": n,
            "flops_per_image": int(2 * d * m + 2 * m * self.n_bits),
            "counter": "analytic",
            "note": "distances to the m anchors (x . a_j: 2 D m) and the projection of the m standardised RBF "
            "features; norms, exponentials and the standardisation are element-wise and not counted",
        }
