"""Batched K-means on the device (RAZH eq. 1): every image of a batch is clustered at once.

``x`` is (B, M, D): M patch embeddings per image. Lloyd's algorithm runs a fixed number of iterations on all B
problems together (two batched matmuls per iteration: distances and centre sums; no Python loop over
images), from a seeded initialisation: k distinct patches per image drawn with a ``torch.Generator``.

Empty clusters keep their previous centre (scikit-learn relocates them to far points instead; with a fixed
iteration budget and k << M the difference is rare and harmless for RAZH, where an empty part simply owns no
patch). After the last update one more assignment step is made, so that the returned labels are those of the
returned centres (as scikit-learn's ``labels_``).
"""

from __future__ import annotations

import torch

__all__ = ["batched_kmeans", "init_indices", "inertia"]


def init_indices(b: int, m: int, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(b, k) distinct random patch indices per image (CPU draw: the same on every device)."""
    return torch.rand(b, m, generator=generator).argsort(dim=1)[:, :k]


def _assign_scores(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    # squared distances minus the per-point constant ||x||^2: same arg-min, one matmul
    return (c * c).sum(-1).unsqueeze(1) - 2.0 * (x @ c.transpose(1, 2))


def batched_kmeans(
    x: torch.Tensor,
    k: int,
    n_iter: int = 10,
    generator: torch.Generator | None = None,
    init: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster each of the B point sets of ``x`` (B, M, D) into ``k`` clusters.

    Args:
        x: points; gradients are not tracked (the caller recomputes differentiable centres from the labels).
        k: number of clusters (1 <= k <= M).
        n_iter: Lloyd iterations (fixed: no tolerance test, so the cost is predictable).
        generator: seeds the initialisation when ``init`` is None.
        init: optional initial centres (B, k, D) (e.g. to compare with scikit-learn from the same start).

    Returns:
        centres (B, k, D) and labels (B, M) (int64).
    """
    b, m, d = x.shape
    if not 1 <= k <= m:
        raise ValueError(f"batched_kmeans: k={k} must lie in 1..{m} (the number of points per set).")
    with torch.no_grad(), torch.autocast(device_type=x.device.type, enabled=False):  # float32 even under AMP
        x = x.detach().float()
        if init is None:
            idx = init_indices(b, m, k, generator).to(x.device)
            c = torch.gather(x, 1, idx.unsqueeze(-1).expand(b, k, d)).clone()
        else:
            c = init.detach().float().to(x.device).clone()
        for _ in range(int(n_iter)):
            lab = _assign_scores(x, c).argmin(-1)
            onehot = torch.nn.functional.one_hot(lab, k).transpose(1, 2).to(x.dtype)  # (B, k, M)
            sums = onehot @ x  # one batched matmul (deterministic, unlike scatter_add on CUDA)
            cnt = onehot.sum(2)
            c = torch.where(cnt.unsqueeze(-1) > 0, sums / cnt.clamp_min(1.0).unsqueeze(-1), c)
        lab = _assign_scores(x, c).argmin(-1)
    return c, lab


def inertia(x: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B,) sum of squared distances of each point to its assigned centre."""
    own = torch.gather(centres, 1, labels.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    return ((x - own) ** 2).sum(dim=(1, 2))
