"""IMH: inductive hashing on manifolds (IMH-tSNE: t-SNE of a k-means base set, inductive out-of-sample map).

Shen, Shen, Shi, van den Hengel, Tang and Shen, "Hashing on Nonlinear Manifolds", IEEE TIP 24(6) 2015 (COMAE
Table 1 [28], row IMH; the journal version of "Inductive Hashing on Manifolds", CVPR 2013), its main, unsupervised
variant IMH-tSNE. The fidelity table (one verdict per step) is ``methods/imh/README.md``. Summary, rows as items:

* base set: the m = ``n_base`` k-means centres c_1..c_m of the training features (seeded k-means);
* base embedding: Y_B (m x L), the t-SNE embedding of the base set in L = n_bits dimensions (exact t-SNE with
  one degree of freedom and the reference implementation's schedule, `zshbench.methods.imh.tsne`);
* inductive out-of-sample map: y(x) = sum_j w(x, c_j) y_j / sum_j w(x, c_j), with
  w(x, c) = exp(-||x - c||^2 / sigma^2) for the k = ``n_neighbors`` base points nearest to x and 0 for the others
  (`inductive_embedding`);
* codes: b(x) = sgn(y(x) - mean_train y), the embedding centred by its training mean, then thresholded at 0.

No labels are read (``Requirements(inputs="features")``). Fitting is a fixed procedure (k-means, one t-SNE run):
there are no epochs and no learning curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.config import POS_INT, POSITIVE, check_ranges
from zshbench.errors import UserError
from zshbench.hasher import HasherConfig, Requirements
from zshbench.methods._linear import FeatureHasher, check_trainable
from zshbench.methods.imh.tsne import tsne
from zshbench.registry import register_method
from zshbench.trainset import TrainSet, as_feature_array

__all__ = ["IMHConfig", "IMHHasher", "inductive_embedding", "neighbour_width"]

# encode distances to the base set in blocks of at most this many float64 bytes
_BLOCK_BYTES = 128 * 2**20


@dataclass
class IMHConfig(HasherConfig):
    """Attributes:
    n_base: m, size of the base set (k-means centres; paper: 400; all items when fewer).
    n_neighbors: k, base points each item's embedding is interpolated from (paper: 5).
    sigma: width of the Gaussian weights exp(-||x - c||^2 / sigma^2); None = the root mean squared distance of
        the training items to their k nearest base points (our choice: the paper leaves it to the data).
    perplexity: t-SNE perplexity (t-SNE's reference default 30; capped at (m - 1) / 3).
    tsne_iter: t-SNE gradient iterations (the reference implementation's 1000).
    initial_dims: PCA dimensions the base set is reduced to before t-SNE's affinities (reference default 30).
    kmeans_iter: k-means iterations (at most).
    """

    n_base: int = 400
    n_neighbors: int = 5
    sigma: float | None = None
    perplexity: float = 30.0
    tsne_iter: int = 1000
    initial_dims: int = 30
    kmeans_iter: int = 100


def _sqdist(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    d2 = (x * x).sum(1)[:, None] - 2.0 * (x @ a.T) + (a * a).sum(1)[None, :]
    return np.maximum(d2, 0.0)


def _nearest(x: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest base points of each row of ``x``: (indices (n, k), squared distances (n, k)), nearest first
    (ties broken by the lower index)."""
    d2 = _sqdist(np.asarray(x, np.float64), base)
    idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d2, idx, axis=1)


def neighbour_width(x: np.ndarray, base: np.ndarray, k: int) -> float:
    """sigma = sqrt(mean squared distance of the rows of ``x`` to their k nearest base points)."""
    _, d2 = _nearest(x, base, k)
    return float(np.sqrt(d2.mean()))


def inductive_embedding(
    x: np.ndarray, base: np.ndarray, base_embedding: np.ndarray, k: int, sigma: float
) -> np.ndarray:
    """y(x) = sum_{j in kNN(x)} w_j y_j / sum_j w_j, w_j = exp(-||x - c_j||^2 / sigma^2) (the IMH out-of-sample
    map). The exponent is shifted by the nearest point's distance before exponentiating (the ratio is unchanged),
    so a far item keeps finite weights."""
    idx, d2 = _nearest(x, base, k)
    w = np.exp(-(d2 - d2[:, :1]) / (sigma * sigma))
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkl->nl", w, base_embedding[idx])


@register_method("imh")
class IMHHasher(FeatureHasher):
    """Inductive manifold hashing (IMH-tSNE) on the shared feature stage; unsupervised.

    Example:
        >>> import numpy as np
        >>> from zshbench.trainset import TrainSet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.standard_normal((200, 16)), rng.integers(0, 5, 200)
        >>> h = IMHHasher(n_bits=8, n_base=40, tsne_iter=250).fit(TrainSet.from_arrays(y, features=x))
        >>> h.encode(x).shape, h.base_embedding_.shape
        ((200, 1), (40, 8))
    """

    Config = IMHConfig
    version = "1"
    paper = "Shen et al., IEEE TIP 2015"
    requires = Requirements(inputs="features")

    def validate_config(self) -> None:
        super().validate_config()
        check_ranges(
            self.config,
            self.name or "imh",
            {
                "n_base": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2, ">= 2"),
                "n_neighbors": POS_INT,
                "sigma": POSITIVE,
                "perplexity": POSITIVE,
                "tsne_iter": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 250, ">= 250"),
                "initial_dims": POS_INT,
                "kmeans_iter": POS_INT,
            },
        )

    def fit_memory(self, n: int, d: int) -> list[tuple[str, float]]:
        m = min(self.config.n_base, n)
        return [
            (f"the float64 copy of the {n} x {d} training features", 8.0 * n * d),
            (f"the {n} x {m} float64 distances to the base set and their order", 2 * 8.0 * n * m),
            (f"the {m} x {m} float64 t-SNE affinities and distances", 4 * 8.0 * m * m),
        ]

    def _fit(self, train: TrainSet) -> None:
        from sklearn.cluster import KMeans

        cfg = self.config
        x = np.asarray(as_feature_array(train.features, what="training features"), dtype=np.float64)
        n = len(x)
        self.check_fit_memory(n, x.shape[1])
        check_trainable(x - x.mean(axis=0), self.name)
        self.mean_ = np.zeros(x.shape[1])  # FeatureHasher's field; IMH uses distances only
        m = min(int(cfg.n_base), n)
        if m < 2:
            raise UserError("imh: the base set needs at least 2 points; the training set has fewer distinct items.")
        km = KMeans(n_clusters=m, n_init=1, max_iter=cfg.kmeans_iter, random_state=cfg.seed).fit(x)
        self.base_ = np.asarray(km.cluster_centers_, dtype=np.float64)
        self.k_ = min(int(cfg.n_neighbors), m)
        if cfg.sigma is None:
            sigma = neighbour_width(x, self.base_, self.k_)
            if not sigma > 0:
                raise UserError(
                    "imh: the training items coincide with their nearest base points (mean distance 0), so the "
                    "Gaussian width cannot be set from the data. Set it with --set sigma=VALUE."
                )
            self.sigma_source_ = "root mean squared distance of the training items to their k nearest base points"
        else:
            sigma = float(cfg.sigma)
            self.sigma_source_ = "config"
        self.sigma_ = sigma
        self.perplexity_ = float(min(cfg.perplexity, max((m - 1) / 3.0, 1.0)))
        self.base_embedding_, self.tsne_kl_ = tsne(
            self.base_,
            self.n_bits,
            perplexity=self.perplexity_,
            max_iter=cfg.tsne_iter,
            initial_dims=cfg.initial_dims,
            seed=cfg.seed,
        )
        y = self._embed(x)
        self.center_ = y.mean(axis=0)
        self.n_distinct_train_codes_ = int(len(np.unique(y >= self.center_, axis=0)))

    def _embed(self, x: np.ndarray) -> np.ndarray:
        rows = max(1, _BLOCK_BYTES // (16 * max(len(self.base_), 1)))
        out = np.empty((len(x), self.n_bits))
        for s in range(0, len(x), rows):
            out[s : s + rows] = inductive_embedding(
                x[s : s + rows], self.base_, self.base_embedding_, self.k_, self.sigma_
            )
        return out

    def run_info(self) -> dict[str, Any]:
        if not hasattr(self, "base_embedding_"):
            return {}
        return {
            "n_base": int(len(self.base_)),
            "n_neighbors": self.k_,
            "sigma": self.sigma_,
            "sigma_source": self.sigma_source_,
            "perplexity": self.perplexity_,
            "tsne_kl_divergence": round(self.tsne_kl_, 6),
            "distinct_train_codes": self.n_distinct_train_codes_,
        }

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._check_dim(x)
        return self._embed(x) - self.center_

    def complexity(self, sample: Any) -> dict[str, Any]:
        m, d = self.base_.shape
        return {
            "params": int(self.base_.size + self.base_embedding_.size + self.center_.size + 1),
            "flops_per_image": int(2 * d * m + 2 * self.k_ * self.n_bits),
            "counter": "analytic",
            "note": "distances to the m base points (x . c_j: 2 D m) and the weighted sum of k base embeddings; "
            "the k-nearest selection, norms and exponentials are not counted",
        }

    def _get_state(self) -> dict[str, Any]:
        return {
            "mean_": self.mean_,
            "base_": self.base_,
            "base_embedding_": self.base_embedding_,
            "center_": self.center_,
            "sigma_": np.asarray([self.sigma_]),
            "k_": np.asarray([self.k_]),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.base_ = np.asarray(state["base_"], dtype=np.float64)
        self.base_embedding_ = np.asarray(state["base_embedding_"], dtype=np.float64)
        self.center_ = np.asarray(state["center_"], dtype=np.float64)
        self.sigma_ = float(np.asarray(state["sigma_"]).reshape(-1)[0])
        self.k_ = int(np.asarray(state["k_"]).reshape(-1)[0])
