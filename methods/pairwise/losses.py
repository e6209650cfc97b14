"""The losses of DPSH, DSH and HashNet as plain functions of tensors (tested against hand computations and loops).

Equation numbers are those of the methods' papers (README.md has one row per equation):

* DPSH (Li, Wang, Kang, IJCAI 2016): Theta_ij = u_i^T u_j / 2; J = -sum_{s_ij in S} (s_ij Theta_ij -
  log(1 + e^Theta_ij)) + eta sum_i ||b_i - u_i||^2 (eq. 3-5), b_i = sgn(u_i) (eq. 6), whose gradient for a point
  is eq. 7: dJ/du_i = sum_j (a_ij - s_ij) u_j + 2 eta (u_i - b_i), a_ij = sigmoid(Theta_ij);
* DSH (Liu, Wang, Shan, Chen, CVPR 2016): L_r = 1/2 (1 - y) ||b_1 - b_2||^2 + 1/2 y max(m - ||b_1 - b_2||^2, 0) +
  alpha (|| |b_1| - 1 ||_1 + || |b_2| - 1 ||_1) per pair (eq. 3), summed over the pairs (eq. 4);
* HashNet (Cao, Long, Wang, Yu, ICCV 2017): sum_{s_ij in S} w_ij (log(1 + exp(alpha <h_i, h_j>)) - alpha s_ij
  <h_i, h_j>) (eq. 4) with w_ij = |S| / |S_1| or |S| / |S_0| (eq. 3), h = tanh(beta z) by continuation (Alg. 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "signs",
    "same_label",
    "dpsh_loss",
    "dsh_loss",
    "dsh_regulariser",
    "hashnet_loss",
    "hashnet_pair_weights",
    "continuation_beta",
]


def signs(u: torch.Tensor) -> torch.Tensor:
    """sgn(u) in {-1, +1} with sgn(0) = +1 (the convention of the packed codes: bit = u >= 0)."""
    return torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u))


def same_label(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(len(a), len(b)) float matrix: 1 where the single labels are equal (s_ij = 1), else 0."""
    return (a[:, None] == b[None, :]).float()


def dpsh_loss(
    u: torch.Tensor, columns: torch.Tensor, s: torch.Tensor, eta: float, *, columns_detached: bool
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DPSH's objective (eq. 5) for the points of a mini-batch, normalised by (batch size x number of columns).

    Args:
        u: (B, K) network outputs u_i of the batch (with gradient).
        columns: (N, K) the u_j the batch is paired with: the memory bank of every training item (detached, the
            batch's rows holding the current outputs) or ``u`` itself (the in-batch option).
        s: (B, N) pairwise labels s_ij in {0, 1}.
        eta: weight of the quantisation term.
        columns_detached: True for the memory bank. The likelihood terms then carry a factor 2: eq. 5 holds each
            pair twice (s_ij and s_ji), and only the batch side is live, so the gradient for u_i is exactly eq. 7,
            sum_j (a_ij - s_ij) u_j + 2 eta (u_i - b_i) (divided by B N). With ``columns`` = ``u`` both sides are
            live and the plain sum gives the same gradient over the batch's pairs.

    Returns:
        (loss, {"likelihood": mean over the B x N terms of log(1 + e^Theta) - s Theta, "quantisation": mean over
        the batch of ||b_i - u_i||^2}), b_i = sgn(u_i) detached (eq. 6: with the network fixed, the optimal B).
    """
    u = u.float()
    theta = 0.5 * u @ columns.float().T
    nll = F.softplus(theta) - s * theta  # -log p(s_ij | u): log(1 + e^Theta) - s Theta, computed stably
    b = signs(u.detach())
    quant = (b - u).pow(2).sum(dim=1)
    n_terms = theta.numel()
    factor = 2.0 if columns_detached else 1.0
    total = (factor * nll.sum() + eta * quant.sum()) / n_terms
    return total, {"likelihood": nll.mean().detach(), "quantisation": quant.mean().detach()}


def dsh_loss(
    b: torch.Tensor, labels: torch.Tensor, margin: float, alpha: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DSH's relaxed loss (eq. 3) averaged over the unique pairs i < j of the mini-batch (eq. 4 / their number).

    Each pair's regulariser alpha (|| |b_i| - 1 ||_1 + || |b_j| - 1 ||_1) is counted as eq. 3 prints it: every
    item is in B - 1 of the B (B - 1) / 2 pairs, so the average holds 2 alpha x the batch mean of || |b_i| - 1 ||_1.

    Args:
        b: (B, K) real-valued network outputs (B >= 2).
        labels: (B,) single labels; y = 0 for a similar pair (same label), 1 otherwise (the paper's convention).
        margin: m of eq. 3 (the paper: 2k).
        alpha: the regulariser's weight.

    Returns:
        (loss, {"contrastive": mean over the pairs of the two distance terms, "regulariser": mean over the items
        of || |b_i| - 1 ||_1}).
    """
    b = b.float()
    n = b.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=b.device)
    d = (b[i] - b[j]).pow(2).sum(dim=1)  # squared Euclidean distance, the relaxed Hamming distance
    y = (labels[i] != labels[j]).float()
    pair = 0.5 * (1.0 - y) * d + 0.5 * y * F.relu(margin - d)
    reg = dsh_regulariser(b).sum(dim=1)
    total = pair.mean() + 2.0 * alpha * reg.mean()
    return total, {"contrastive": pair.mean().detach(), "regulariser": reg.mean().detach()}


def dsh_regulariser(b: torch.Tensor) -> torch.Tensor:
    """Elementwise | |b| - 1 | (eq. 3) whose gradient is the paper's sub-gradient delta(b) (eq. 7) EVERYWHERE:
    delta(x) = 1 for -1 <= x <= 0 or x >= 1, else -1. Autograd of ``abs`` would take 0 at the kinks x in
    {-1, 0, 1}; the value is the same, the gradient there is eq. 7's."""
    value = (b.abs() - 1.0).abs()
    delta = torch.where(((b >= -1.0) & (b <= 0.0)) | (b >= 1.0), 1.0, -1.0).to(b.dtype)
    return value.detach() + delta * (b - b.detach())


def hashnet_pair_weights(labels, weighting: str) -> tuple[float, float]:
    """(w for similar pairs, w for dissimilar pairs) of eq. 3 over the ordered pairs i != j of the TRAINING set.

    "balanced": |S| / |S_1| and |S| / |S_0| (c_ij = 1: single-label data); a side without pairs gets weight 0.
    "none": 1 and 1.
    """
    import numpy as np

    if weighting == "none":
        return 1.0, 1.0
    if weighting != "balanced":
        raise ValueError(f"weighting must be 'balanced' or 'none', got {weighting!r}")
    counts = np.bincount(np.asarray(labels, dtype=np.int64)).astype(np.float64)
    n = float(counts.sum())
    s_all = n * (n - 1.0)
    s1 = float((counts * (counts - 1.0)).sum())
    s0 = s_all - s1
    return (s_all / s1 if s1 > 0 else 0.0), (s_all / s0 if s0 > 0 else 0.0)


def hashnet_loss(
    h: torch.Tensor, labels: torch.Tensor, alpha: float, w_similar: float, w_dissimilar: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """HashNet's weighted negative log-likelihood (eq. 4) averaged over the ordered pairs i != j of the batch.

    Args:
        h: (B, K) continuous codes tanh(beta z) (B >= 2).
        labels: (B,) single labels (s_ij = 1 for the same label).
        alpha: the adaptive sigmoid's parameter (eq. 2).
        w_similar, w_dissimilar: w_ij of eq. 3 for s_ij = 1 and 0 (`hashnet_pair_weights`).

    Returns:
        (loss, {"nll": unweighted mean over the pairs, "similar_pairs": their share in the batch}).
    """
    h = h.float()
    n = h.shape[0]
    x = alpha * (h @ h.T)
    s = same_label(labels, labels)
    nll = F.softplus(x) - s * x  # log(1 + exp(alpha <h_i, h_j>)) - alpha s_ij <h_i, h_j>, computed stably
    w = s * w_similar + (1.0 - s) * w_dissimilar
    off = ~torch.eye(n, dtype=torch.bool, device=h.device)
    total = (w * nll)[off].mean()
    return total, {"nll": nll[off].mean().detach(), "similar_pairs": s[off].mean().detach()}


def continuation_beta(step: int, total_steps: int, beta_init: float, power: float, stages: int) -> float:
    """beta of stage t = floor(step x stages / total_steps) (at most stages - 1): beta_init (1 + t) ** power.

    With 10,000 steps and 50 stages this is the authors' schedule (1 + 0.005 iter) ** 0.5 updated every 200
    iterations; over another budget the same 50 stages are spread evenly over the run.
    """
    t = min(math.floor(step * stages / max(total_steps, 1)), stages - 1)
    return float(beta_init * (1.0 + t) ** power)
