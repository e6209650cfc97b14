"""Exact t-SNE (van der Maaten and Hinton, JMLR 2008) with the schedule of van der Maaten's reference
implementation (``tsne.m``), which IMH's authors cite as the embedding of their base set.

Written here (not scikit-learn's ``TSNE``) because scikit-learn changes the method in more than two dimensions:
its Student-t kernel has ``n_components - 1`` degrees of freedom, while t-SNE as published (eq. 4 of the t-SNE
paper, and ``tsne.m``) always uses one, q_ij proportional to (1 + ||y_i - y_j||^2)^-1, whatever the embedding
dimension (IMH embeds in as many dimensions as code bits).

Steps (``tsne.m``'s defaults): the inputs are centred and reduced by PCA to ``initial_dims`` = 30 dimensions;
conditional affinities p_{j|i} = exp(-beta_i ||x_i - x_j||^2) / sum, each beta_i found by bisection so that the
entropy of row i is log(perplexity) (``x2p.m``: tolerance 1e-5, at most 50 steps); P = (P + P^T) / sum; gradient
descent on KL(P || Q) from y ~ N(0, 1e-4 I), learning rate 500, momentum 0.5 then 0.8 after 250 iterations,
adaptive gains (+0.2 / *0.8, at least 0.01), P multiplied by 4 ("early exaggeration") for the first 100
iterations, the embedding re-centred after every step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tsne", "binary_search_affinities", "kl_and_gradient", "pca_reduce"]

_REALMIN = np.finfo(float).tiny


def pca_reduce(x: np.ndarray, dims: int) -> np.ndarray:
    """The centred rows of ``x`` projected on their first ``dims`` principal directions (all when fewer)."""
    xc = x - x.mean(axis=0)
    if xc.shape[1] <= dims:
        return xc
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    return xc @ vt[:dims].T


def _sqdist(y: np.ndarray) -> np.ndarray:
    s = (y * y).sum(1)
    return np.maximum(s[:, None] - 2.0 * (y @ y.T) + s[None, :], 0.0)


def binary_search_affinities(x: np.ndarray, perplexity: float, tol: float = 1e-5, tries: int = 50) -> np.ndarray:
    """Row-stochastic conditional affinities p_{j|i} (n, n), zero diagonal, each row's entropy log(perplexity)."""
    d = _sqdist(x)
    n = len(x)
    p = np.zeros((n, n))
    log_u = np.log(perplexity)
    for i in range(n):
        di = np.delete(d[i], i)
        beta, lo, hi = 1.0, -np.inf, np.inf
        for _ in range(tries):
            e = np.exp(-(di - di.min()) * beta)  # shifted for stability: the normalised row is unchanged
            s = e.sum()
            pi = e / s
            h = np.log(s) - beta * di.min() + beta * float((di * e).sum()) / s
            diff = h - log_u
            if abs(diff) < tol:
                break
            if diff > 0:
                lo = beta
                beta = beta * 2.0 if hi == np.inf else (beta + hi) / 2.0
            else:
                hi = beta
                beta = beta / 2.0 if lo == -np.inf else (beta + lo) / 2.0
        p[i, np.arange(n) != i] = pi
    return p


def kl_and_gradient(p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """KL(P || Q) and its gradient 4 sum_j (p_ij - q_ij) (1 + ||y_i - y_j||^2)^-1 (y_i - y_j) (one degree of
    freedom); ``p`` symmetric, summing to 1, zero diagonal."""
    num = 1.0 / (1.0 + _sqdist(y))
    np.fill_diagonal(num, 0.0)
    q = np.maximum(num / num.sum(), _REALMIN)
    mask = p > 0
    kl = float((p[mask] * np.log(p[mask] / q[mask])).sum())
    w = (p - q) * num
    grad = 4.0 * (w.sum(1)[:, None] * y - w @ y)
    return kl, grad


def tsne(
    x: np.ndarray,
    n_components: int,
    *,
    perplexity: float = 30.0,
    max_iter: int = 1000,
    initial_dims: int = 30,
    learning_rate: float = 500.0,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """The t-SNE embedding (n, n_components) of the rows of ``x`` and its final KL divergence."""
    x = pca_reduce(np.asarray(x, dtype=np.float64), initial_dims)
    n = len(x)
    p = binary_search_affinities(x, perplexity)
    p = p + p.T
    p = np.maximum(p / p.sum(), _REALMIN)
    np.fill_diagonal(p, 0.0)
    rng = np.random.default_rng(seed)
    y = 1e-4 * rng.standard_normal((n, n_components))
    inc = np.zeros_like(y)
    gains = np.ones_like(y)
    lr, min_gain = float(learning_rate), 0.01
    p_run = p * 4.0  # early exaggeration
    for it in range(max_iter):
        if it == 100:
            p_run = p
        momentum = 0.5 if it < 250 else 0.8
        _, grad = kl_and_gradient(p_run, y)
        same = np.sign(grad) == np.sign(inc)
        gains = np.where(same, gains * 0.8, gains + 0.2)
        gains = np.maximum(gains, min_gain)
        inc = momentum * inc - lr * gains * grad
        y = y + inc
        y = y - y.mean(axis=0)
    kl, _ = kl_and_gradient(p, y)
    return y, kl
