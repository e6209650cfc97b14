"""RAZH's losses (paper eq. 10-14 and 16-18), as plain functions of tensors (tested against hand computations).

* `hash_loss` (eq. 10/17 with the weights theta of eq. 11): weighted pairwise likelihood of the similarity
  s_ij (1 when i and j share a label) given Theta_ij = scale * h_i^T h_j,
  ``L_h = mean_{i != j} theta_ij * (log(1 + exp(Theta_ij)) - s_ij * Theta_ij)`` with
  ``theta_ij = |S| / |S_1|`` for similar and ``|S| / |S_0|`` for dissimilar pairs of the batch (S = all pairs);
* `classification_loss` (eq. 12): softmax cross-entropy over the seen classes of ``W^T h``;
* `reconstruction_loss` (eq. 13): mean squared error between predicted and target pixel patches, averaged per
  patch and over the selected patches (MAE convention), optional per-patch normalised targets;
* `alignment_loss` (eq. 14/18): log-cosh between the mixed image's codes h^a and the codes h, mean over
  elements;
* `total_loss` (eq. 16): ``L = L_cls + alpha * L_h + beta * (L_r + L_hal)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["hash_loss", "classification_loss", "reconstruction_loss", "alignment_loss", "logcosh",
           "patchify", "total_loss"]


def hash_loss(h: torch.Tensor, labels: torch.Tensor, scale: float = 0.5) -> torch.Tensor:
    """Weighted pairwise likelihood loss over the off-diagonal pairs of the batch (eq. 10, 11, 17).

    Args:
        h: (n, n_bits) relaxed codes in [-1, 1].
        labels: (n,) class indices; s_ij = 1 when labels match.
        scale: Theta_ij = scale * h_i^T h_j (0.5 as in DPSH).
    """
    n = h.shape[0]
    if n < 2:
        return h.sum() * 0.0
    h = h.float()
    theta = scale * h @ h.t()
    s = (labels[:, None] == labels[None, :]).float()
    off = ~torch.eye(n, dtype=torch.bool, device=h.device)
    s_off = s[off]
    n_pairs = s_off.numel()
    n_sim = s_off.sum()
    n_dis = n_pairs - n_sim
    w = torch.where(s == 1, n_pairs / n_sim.clamp_min(1.0), n_pairs / n_dis.clamp_min(1.0))
    nll = F.softplus(theta) - s * theta
    return (w * nll)[off].mean()


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over the seen classes (eq. 12)."""
    return F.cross_entropy(logits.float(), labels)


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, M, patch*patch*C), patches in row-major order (the ViT patch-embedding order)."""
    b, c, hh, ww = images.shape
    gh, gw = hh // patch, ww // patch
    x = images.reshape(b, c, gh, patch, gw, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, patch * patch * c)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                        norm_pix: bool = True) -> torch.Tensor:
    """Mean squared error per patch, averaged over the patches with weight 1 (all patches when None) (eq. 13).

    Args:
        pred: (B, M, P) predicted pixel patches.
        target: (B, M, P) pixel patches of the original image.
        weight: (B, M) 0/1 selection (e.g. the masked patches).
        norm_pix: normalise each target patch by its mean and standard deviation (MAE's ``norm_pix_loss``).
    """
    target = target.float()
    if norm_pix:
        mu = target.mean(-1, keepdim=True)
        var = target.var(-1, keepdim=True, unbiased=True)
        target = (target - mu) / (var + 1e-6).sqrt()
    per_patch = ((pred.float() - target) ** 2).mean(-1)
    if weight is None:
        return per_patch.mean()
    weight = weight.float()
    return (per_patch * weight).sum() / weight.sum().clamp_min(1.0)


def logcosh(x: torch.Tensor) -> torch.Tensor:
    """log(cosh(x)), computed stably as |x| + log1p(exp(-2|x|)) - log 2."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def alignment_loss(h_mixed: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Hash-code alignment (eq. 14/18): mean log-cosh of h^a - h."""
    return logcosh(h_mixed.float() - h.float()).mean()


def total_loss(l_cls, l_h, l_r, l_hal, alpha: float, beta: float):
    """Eq. 16: L = L_cls + alpha L_h + beta (L_r + L_hal); a None term counts as 0 (ablations)."""
    z = 0.0
    return ((l_cls if l_cls is not None else z) + alpha * (l_h if l_h is not None else z)
            + beta * ((l_r if l_r is not None else z) + (l_hal if l_hal is not None else z)))
