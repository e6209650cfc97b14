"""PIXEL's losses as hand-checkable functions (README.md, rows L1-L6). Notation: a batch of B items with labels
y_i over the S SEEN classes, K attributes, E-dimensional attribute embeddings, L bits.

Classification on the codes (the code's CosSim head + 'cosface' margin, OrthoCos's form; the functions are
`zshbench.methods.orthohash.losses`'):

    cos_ic = h_i . c_c / (||h_i|| ||c_c||)                    (c_c: a learnable centre per SEEN class)
    L_ce   = -(1/B) sum_i log softmax_c( s (cos_ic - m [c = y_i]) )_{y_i}

Attribute regression (the code's ``tr_loss``): a_hat_i = the mean over the E embedding dimensions of the image
attribute embeddings V_i (K, E); targets: the L2-normalised class attribute rows a_{y_i}:

    L_tr   = (1/(B K)) sum_i ||a_hat_i - a_{y_i} / ||a_{y_i}|| ||^2

Semantic distance (the code's ``compute_loss_semantics_dist``): V_i and the text attribute embeddings T_i (K, E),
each row scaled to unit length, alpha a learnable scalar, P = B (B - 1) / 2 pairs:

    L_se   = (1/P) sum_{i<j} [ (1/(K E)) ||(V_i - V_j) - alpha (T_i - T_j)||_F^2
                               + w_same [y_i = y_j] ( mean(V_i - V_j) + mean(T_i - T_j) ) ]

(``mean`` over the K E entries; the same-class term is SIGNED and depends on the batch order: README.md, L5.)

    L      = L_ce + w_se L_se + w_tr L_tr
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zshbench.methods.orthohash.losses import cosine_logits, orthocos_loss

__all__ = ["attribute_regression_loss", "cosface_loss", "semantic_distance_loss", "total_loss"]


def cosface_loss(h: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor, scale: float, margin: float):
    """(L_ce, cosines (B, S)): the additive-margin cosine softmax of the codes h (B, L) against the seen-class
    centres (S, L)."""
    cos = cosine_logits(h, centres)
    return orthocos_loss(cos, labels, scale, margin), cos


def attribute_regression_loss(a_hat: torch.Tensor, class_attributes: torch.Tensor, labels: torch.Tensor):
    """L_tr: mean squared error between a_hat (B, K) and the L2-normalised attribute rows of the items' classes
    (``class_attributes`` (S, K), raw; a zero row stays zero)."""
    target = F.normalize(class_attributes, dim=1)[labels]
    return F.mse_loss(a_hat, target.to(a_hat.dtype), reduction="mean")


def semantic_distance_loss(
    img: torch.Tensor, txt: torch.Tensor, labels: torch.Tensor, alpha: torch.Tensor, same_class_weight: float
) -> torch.Tensor:
    """L_se of the batch: ``img`` and ``txt`` (B, K, E) are the image and text attribute embeddings (their rows
    are scaled to unit length here), ``alpha`` a scalar tensor. Pairs i < j in batch order; 0 (connected to the
    graph) for a batch of one item."""
    b = img.shape[0]
    v = F.normalize(img, dim=-1).flatten(1)
    t = F.normalize(txt, dim=-1).flatten(1)
    if b < 2:
        return (v.sum() + t.sum()) * 0.0
    n_el = v.shape[1]
    z = v - alpha * t  # (V_i - V_j) - alpha (T_i - T_j) = z_i - z_j
    sq = (z * z).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp_min(0.0) / n_el  # (B, B)
    m = v.mean(dim=1) + t.mean(dim=1)  # mean(V_i) + mean(T_i)
    diff = m[:, None] - m[None, :]  # mean(V_i - V_j) + mean(T_i - T_j)
    upper = torch.ones(b, b, dtype=torch.bool, device=img.device).triu(1)
    same = (labels[:, None] == labels[None, :]) & upper
    total = d2[upper].sum() + same_class_weight * diff[same].sum()
    return total / (b * (b - 1) / 2)


def total_loss(l_ce: torch.Tensor, l_se: torch.Tensor, l_tr: torch.Tensor, w_se: float, w_tr: float):
    """L = L_ce + w_se L_se + w_tr L_tr."""
    return l_ce + w_se * l_se + w_tr * l_tr
