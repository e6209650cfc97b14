"""COMAE's losses (paper eq. 2-7), as plain functions of tensors (tested against hand computations).

* `point_loss` (eq. 2): squared error between the predicted attributes a_hat (B, A) and the image's class-level
  attribute vector (B, A). ``reduction="mean"`` (default): the mean over all B * A entries, the text's "MSE";
  ``"sum"``: printed eq. 2, sum_i (1/N) ||a_i - a_hat_i||^2 (sum over attributes, mean over images);
* `pair_masks` + `pair_loss` (eq. 3-4): attribute-wise contrastive loss. For attribute dimension d and anchor
  i of the batch, the positives are S_d^+(i) = {j != i : |a_{i,d} - a_{j,d}| < epsilon} (eq. 3) and the candidate
  negatives S_d^-(i) = {j : |a_{i,d} - a_{j,d}| >= epsilon} (the paper does not define S_d^-; j = i is never a
  negative since its difference is 0). At most k negatives are drawn per (d, i) uniformly without replacement
  (all of them when there are k or fewer) with a seeded ``torch.Generator``; N_d(i) = the drawn ones. With
  s_ij = sim(a_hat_i, a_hat_j) / tau (sim = dot product, the printed a_hat_i a_hat_j; cosine as an option):

  ``form="printed"`` (default), eq. 4 as printed, the positives summed INSIDE the log:

      L_pair = -(1 / (D N)) sum_d sum_i log( sum_{j in S_d^+(i)} e^{s_ij} / sum_{t in S_d^+(i) u N_d(i)} e^{s_it} )

  over the D attributes and the N items of the batch. A (d, i) without a positive has an empty numerator (log 0):
  it contributes 0 but stays in the D N normaliser; a (d, i) without a sampled negative gives log 1 = 0 by itself.

  ``form="per-positive"`` (zshbench's comae version 1; "L_out" of supervised contrastive learning): one term per
  positive p with only that positive in the numerator and denominator,

      l_{d,i} = -(1 / |S_d^+(i)|) sum_{p in S_d^+(i)} log( e^{s_ip} / (e^{s_ip} + sum_{n in N_d(i)} e^{s_in}) ),

  averaged over the VALID (d, i) only: those with at least one positive AND at least one sampled negative.

  Both give 0 (a zero connected to the graph) when no (d, i) counts;
* `class_loss` (eq. 5): cross-entropy of the logits g(x)^T W a_c over the SEEN classes c (the printed
  denominator exp(g^T W a_hat_i) read as the sum over the seen classes, as the text describes);
* `hash_loss` (Sec. 3.5): additive-margin cosine softmax (AM-softmax) between the relaxed code h and
  learnable class centres c_c: logits s * (cos(h, c_c) - m * [c = y]), cross-entropy;
* `total_loss` (eq. 7): L = lambda_1 L_point + lambda_2 L_pair + lambda_3 L_class + lambda_hash L_hash (absent
  terms skipped; eq. 7 names the three attribute losses only, lambda_hash is our choice).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["point_loss", "pair_masks", "sample_negatives", "pair_loss", "class_loss", "hash_loss", "total_loss"]


def point_loss(a_hat: torch.Tensor, a_true: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Eq. 2. ``"mean"``: ``mean((a_hat - a)^2)`` over the batch and the attributes (the text's MSE);
    ``"sum"``: the printed ``sum_i (1/N) ||a_i - a_hat_i||^2`` (summed over the attributes)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"point_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    if reduction == "mean":
        return F.mse_loss(a_hat.float(), a_true.float())
    return (a_hat.float() - a_true.float()).pow(2).sum(-1).mean()


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


def pair_loss(
    a_hat: torch.Tensor,
    pos: torch.Tensor,
    neg_sampled: torch.Tensor,
    tau: float,
    similarity: str = "dot",
    form: str = "printed",
) -> torch.Tensor:
    """Eq. 4 (see the module docstring for both forms).

    Args:
        a_hat: (N, D) predicted attribute vectors.
        pos: (D, N, N) positives ``[d, i, j]``.
        neg_sampled: (D, N, N) sampled negatives.
        tau: temperature.
        similarity: "dot" (a_hat_i . a_hat_j, the paper's notation) or "cosine".
        form: "printed" (eq. 4 as printed) or "per-positive" (one term per positive).
    """
    if form not in ("printed", "per-positive"):
        raise ValueError(f"pair_loss: form must be 'printed' or 'per-positive', got {form!r}")
    x = a_hat.float()
    if similarity == "cosine":
        x = F.normalize(x, dim=-1)
    s = (x @ x.t()) / tau  # (N, N)
    if form == "printed":
        return _pair_loss_printed(s, pos, neg_sampled)
    return _pair_loss_per_positive(s, pos, neg_sampled)


def _masked_logsumexp(s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """logsumexp over the last axis of ``s`` (broadcast to ``mask``) restricted to ``mask``. Rows without any
    entry give a very negative FINITE value (never -inf), so that their gradient stays finite (it is 0 where the
    caller discards them)."""
    floor = torch.finfo(s.dtype).min / 2
    return torch.logsumexp(s.expand(mask.shape).masked_fill(~mask, floor), dim=-1)


def _pair_loss_printed(s: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    d, n = pos.shape[0], pos.shape[1]
    has_pos = pos.any(-1)  # (D, N)
    if not bool(has_pos.any()):
        return s.sum() * 0.0
    s3 = s.unsqueeze(0)  # (1, N, N)
    log_num = _masked_logsumexp(s3, pos)  # log sum_{S+} e^s
    log_den = _masked_logsumexp(s3, pos | neg)  # log sum_{S+ u N} e^s
    term = torch.where(has_pos, log_den - log_num, torch.zeros_like(log_num))  # -log(num / den) >= 0
    return term.sum() / (d * n)


def _pair_loss_per_positive(s: torch.Tensor, pos: torch.Tensor, neg_sampled: torch.Tensor) -> torch.Tensor:
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


def hash_loss(
    h: torch.Tensor, centres: torch.Tensor, labels: torch.Tensor, scale: float, margin: float
) -> torch.Tensor:
    """AM-softmax between the relaxed codes ``h`` (B, n_bits) and the class ``centres`` (S, n_bits)."""
    cos = F.normalize(h.float(), dim=-1) @ F.normalize(centres.float(), dim=-1).t()  # (B, S)
    onehot = F.one_hot(labels, centres.shape[0]).to(cos.dtype)
    return F.cross_entropy(scale * (cos - margin * onehot), labels)


def total_loss(parts: dict[str, torch.Tensor], lambdas: tuple[float, float, float], lambda_hash: float) -> torch.Tensor:
    """Eq. 7 plus the hash loss: lambda_1 L_point + lambda_2 L_pair + lambda_3 L_class + lambda_hash L_hash over
    the parts present."""
    l1, l2, l3 = lambdas
    total = lambda_hash * parts["hash"]
    for name, lam in (("point", l1), ("pair", l2), ("class", l3)):
        if name in parts:
            total = total + lam * parts[name]
    return total
