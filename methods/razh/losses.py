"""RAZH's losses (paper eq. 10-14 and 16-18), as plain functions of tensors (tested against hand computations).

Every loss takes ``reduction``: ``"mean"`` (zshbench's default for the tiny profile: each term an average) or
``"paper"`` (the sums as printed, for which Table VIII's alpha/beta were tuned). README.md ("loss scaling")
gives the factors between the two.

* `hash_loss` (eq. 10/17 with the weights theta of eq. 11): weighted pairwise likelihood of the similarity
  s_ij (1 when i and j share a label) given Theta_ij = scale * h_i^T h_j (scale 1/2, eq. 9/10/17).
  mean: ``mean_{i != j} theta_ij * (log(1 + exp(Theta_ij)) - s_ij * Theta_ij)`` with ``theta_ij = |S| / |S_1|``
  for similar and ``|S| / |S_0|`` for dissimilar ordered off-diagonal pairs; paper: the sum over all N^2 pairs
  (i = j included, as printed) with ``theta = N / s_p`` and ``N / s_n``, ``s_p = 1/2 sum s_ij`` and
  ``s_n = 1/2 sum (1 - s_ij)`` (the printed ``s_n = N - s_p`` is negative for ordinary batches, so the number of
  dissimilar pairs is counted the way s_p counts the similar ones);
* `classification_loss` (eq. 12): softmax cross-entropy over the seen classes (mean or sum over the batch);
* `reconstruction_loss` (eq. 13): squared error between predicted and target pixel patches over the scored
  patches (mean: per patch, then over the scored patches; paper: summed over values, patches and items);
* `alignment_loss` (eq. 14/18): log-cosh between the mixed image's codes h^a and the codes h (mean over
  elements; paper: ``1/(2N) sum_i sum_k``);
* `total_loss` (eq. 16): ``L = L_cls + alpha * L_h + beta * (L_r + L_hal)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "REDUCTIONS",
    "hash_loss",
    "classification_loss",
    "reconstruction_loss",
    "alignment_loss",
    "logcosh",
    "patchify",
    "total_loss",
]


REDUCTIONS = ("mean", "paper")


def _check(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: expected one of {REDUCTIONS}")


def hash_loss(h: torch.Tensor, labels: torch.Tensor, scale: float = 0.5, reduction: str = "mean") -> torch.Tensor:
    """Weighted pairwise likelihood loss (eq. 10, 11, 17); see the module docstring for both reductions.

    Args:
        h: (n, n_bits) relaxed codes in [-1, 1].
        labels: (n,) class indices; s_ij = 1 when labels match.
        scale: Theta_ij = scale * h_i^T h_j (1/2 in eq. 9/10/17).
        reduction: "mean" (off-diagonal pairs, averaged) or "paper" (all N^2 pairs, summed).
    """
    _check(reduction)
    n = h.shape[0]
    if n < 2:
        return h.sum() * 0.0
    h = h.float()
    theta = scale * h @ h.t()
    s = (labels[:, None] == labels[None, :]).float()
    if reduction == "paper":
        s_p = 0.5 * s.sum()
        s_n = 0.5 * (1.0 - s).sum()
        w = torch.where(s == 1, n / s_p.clamp_min(0.5), n / s_n.clamp_min(0.5))
        return (w * (F.softplus(theta) - s * theta)).sum()
    off = ~torch.eye(n, dtype=torch.bool, device=h.device)
    s_off = s[off]
    n_pairs = s_off.numel()
    n_sim = s_off.sum()
    n_dis = n_pairs - n_sim
    w = torch.where(s == 1, n_pairs / n_sim.clamp_min(1.0), n_pairs / n_dis.clamp_min(1.0))
    nll = F.softplus(theta) - s * theta
    return (w * nll)[off].mean()


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Softmax cross-entropy over the seen classes (eq. 12); "paper" sums over the batch as printed."""
    _check(reduction)
    return F.cross_entropy(logits.float(), labels, reduction="sum" if reduction == "paper" else "mean")


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, M, patch*patch*C), patches in row-major order (the ViT patch-embedding order)."""
    b, c, hh, ww = images.shape
    gh, gw = hh // patch, ww // patch
    x = images.reshape(b, c, gh, patch, gw, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, patch * patch * c)


def reconstruction_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    norm_pix: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """Squared error over the patches with weight 1 (all patches when None) (eq. 13).

    Args:
        pred: (B, M, P) predicted pixel patches.
        target: (B, M, P) pixel patches of the original image.
        weight: (B, M) 0/1 selection (e.g. the masked patches).
        norm_pix: normalise each target patch by its mean and standard deviation (MAE's ``norm_pix_loss``).
        reduction: "mean" (mean per patch, then over the selected patches) or "paper" (sum over values, selected
            patches and items: eq. 13's sum over i of squared errors).
    """
    _check(reduction)
    target = target.float()
    if norm_pix:
        mu = target.mean(-1, keepdim=True)
        var = target.var(-1, keepdim=True, unbiased=True)
        target = (target - mu) / (var + 1e-6).sqrt()
    if reduction == "paper":
        per_patch = ((pred.float() - target) ** 2).sum(-1)
        return per_patch.sum() if weight is None else (per_patch * weight.float()).sum()
    per_patch = ((pred.float() - target) ** 2).mean(-1)
    if weight is None:
        return per_patch.mean()
    weight = weight.float()
    return (per_patch * weight).sum() / weight.sum().clamp_min(1.0)


def logcosh(x: torch.Tensor) -> torch.Tensor:
    """log(cosh(x)), computed stably as |x| + log1p(exp(-2|x|)) - log 2."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def alignment_loss(h_mixed: torch.Tensor, h: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Hash-code alignment (eq. 14/18): log-cosh of h^a - h, mean over elements or (paper) 1/(2N) sum_i sum_k."""
    _check(reduction)
    lc = logcosh(h_mixed.float() - h.float())
    return lc.sum() / (2.0 * h.shape[0]) if reduction == "paper" else lc.mean()


def total_loss(l_cls, l_h, l_r, l_hal, alpha: float, beta: float):
    """Eq. 16: L = L_cls + alpha L_h + beta (L_r + L_hal); a None term counts as 0 (ablations)."""
    z = 0.0
    return (
        (l_cls if l_cls is not None else z)
        + alpha * (l_h if l_h is not None else z)
        + beta * ((l_r if l_r is not None else z) + (l_hal if l_hal is not None else z))
    )
