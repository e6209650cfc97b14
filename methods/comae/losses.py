"""COMAE's losses (paper eq. 2-6), as plain functions of tensors (tested against hand computations).

* `point_loss` (eq. 2): mean squared error between the predicted attributes a_hat (B, A) and the image's
  class-level attribute vector (B, A), averaged over all B * A entries;
* `pair_masks` + `pair_loss` (eq. 3-4): attribute-wise contrastive loss. For attribute dimension d and anchor
  i of the batch, the positives are S_d^+(i) = {j != i : |a_{i,d} - a_{j,d}| < epsilon} and the candidate
  negatives are S_d^-(i) = {j : |a_{i,d} - a_{j,d}| >= epsilon} (j = i is never a negative since its
  difference is 0). At most k negatives are drawn per (d, i) uniformly without replacement from S_d^-(i)
  (all of them when there are k or fewer) with a seeded ``torch.Generator``. With s_ij = sim(a_hat_i,
  a_hat_j) / tau (sim = dot product by default, cosine as an option),

      l_{d,i} = -(1 / |S_d^+(i)|) sum_{p in S_d^+(i)} log( exp(s_ip) / (exp(s_ip) + sum_{n in N_d(i)} exp(s_in)) )

  and L_pair = the mean of l_{d,i} over the VALID (d, i): those with at least one positive AND at least one
  sampled negative. Anchors without positives or without negatives contribute nothing (they are not counted
  in the mean); a batch without any valid (d, i) gives 0 (a zero connected to the graph);
* `class_loss` (eq. 5): cross-entropy of the logits g(x)^T W a_c over the SEEN classes c;
* `hash_loss` (eq. 6, Sec. 3.5): additive-margin cosine softmax (AM-softmax) between the relaxed code h and
  learnable class centres c_c: logits s * (cos(h, c_c) - m * [c = y]), cross-entropy;
* `total_loss`: L = lambda_1 L_point + lambda_2 L_pair + lambda_3 L_class + L_hash (absent terms skipped).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["point_loss", "pair_masks", "sample_negatives", "pair_loss", "class_loss", "hash_loss", "total_loss"]


def point_loss(a_hat: torch.Tensor, a_true: torch.Tensor) -> torch.Tensor:
    """Eq. 2: ``mean((a_hat - a)^2)`` over the batch and the attributes."""
    return F.mse_loss(a_hat.float(), a_true.float())


def pair_masks(a_true: torch.Tensor, epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive and candidate-negative masks of eq. 3, both (D, N, N) bool: ``[d, i, j]``.

    Args:
        a_true: (N, D) class-level attribute vectors of the batch items.
        epsilon: the threshold: positives differ by less than epsilon in dimension d.
    """
    a = a_true.float().t()  # (D, N)
    diff = (a[:, :, None] - a[:, None, :]).abs()  # (D, N, N)
    n = a.shape[1]
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    pos = (diff < epsilon) & ~eye
    neg = diff >= epsilon
    return pos, neg


def sample_negatives(neg: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """At most ``k`` negatives per (d, i), uniformly without replacement from the candidates ``neg`` (D, N, N).

    Random keys are drawn on the CPU from ``generator`` (so the draw does not depend on the device); the k
    candidates with the smallest keys are kept.
    """
    keys = torch.rand(neg.shape, generator=generator).to(neg.device)
    keys = keys.masked_fill(~neg, 2.0)  # non-candidates sort last (and are masked out below)
    idx = keys.topk(min(int(k), neg.shape[-1]), dim=-1, largest=False).indices
    chosen = torch.zeros_like(neg).scatter_(-1, idx, True)
    return neg & chosen


def pair_loss(a_hat: torch.Tensor, pos: torch.Tensor, neg_sampled: torch.Tensor, tau: float,
              similarity: str = "dot") -> torch.Tensor:
    """Eq. 4 (see the module docstring): mean over the valid (d, i) of the per-positive InfoNCE terms.

    Args:
        a_hat: (N, D) predicted attribute vectors.
        pos: (D, N, N) positives ``[d, i, j]``.
        neg_sampled: (D, N, N) sampled negatives.
        tau: temperature.
        similarity: "dot" (a_hat_i . a_hat_j, the paper's notation) or "cosine".
    """
    x = a_hat.float()
    if similarity == "cosine":
        x = F.normalize(x, dim=-1)
    s = (x @ x.t()) / tau  # (N, N)
    n_pos = pos.sum(-1)  # (D, N)
    valid = (n_pos > 0) & neg_sampled.any(-1)
    if not bool(valid.any()):
        return s.sum() * 0.0
    neg_lse = torch.logsumexp(s.unsqueeze(0).masked_fill(~neg_sampled, float("-inf")), dim=-1)  # (D, N)
    # log(exp(s_ip) / (exp(s_ip) + sum_n exp(s_in))) = s_ip - logaddexp(s_ip, lse_n s_in)
    # rows without negatives have neg_lse = -inf; they are invalid, replace by 0 to keep the graph finite
    neg_lse = torch.where(valid, neg_lse, torch.zeros_like(neg_lse))
    term = s.unsqueeze(0) - torch.logaddexp(s.unsqueeze(0), neg_lse.unsqueeze(-1))  # (D, N, N)
    per_anchor = -(term * pos.float()).sum(-1) / n_pos.clamp_min(1).float()  # (D, N)
    return per_anchor[valid].mean()


def class_loss(g: torch.Tensor, W: torch.Tensor, class_attr: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 5: cross-entropy of ``g(x)^T W a_c`` over the seen classes.

    Args:
        g: (B, C) pooled features. W: (C, A) map into attribute space. class_attr: (S, A) seen-class
            attributes. labels: (B,) seen-class indices.
    """
    logits = g.float() @ W.float() @ class_attr.float().t()  # (B, S)
    return F.cross_entropy(logits, labels)


def hash_loss(h: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """AM-softmax between the relaxed codes ``h`` (B, n_bits) and the class ``centres`` (S, n_bits)."""
    cos = F.normalize(h.float(), dim=-1) @ F.normalize(centres.float(), dim=-1).t()  # (B, S)
    onehot = F.one_hot(labels, centres.shape[0]).to(cos.dtype)
    return F.cross_entropy(scale * (cos - margin * onehot), labels)


def total_loss(parts: dict[str, torch.Tensor], lambdas: tuple[float, float, float]) -> torch.Tensor:
    """L = lambda_1 L_point + lambda_2 L_pair + lambda_3 L_class + L_hash over the parts present."""
    l1, l2, l3 = lambdas
    total = parts["hash"]
    for name, lam in (("point", l1), ("pair", l2), ("class", l3)):
        if name in parts:
            total = total + lam * parts[name]
    return total
