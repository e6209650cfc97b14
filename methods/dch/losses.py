"""DCH's losses (Cao, Long, Liu, Wang, "Deep Cauchy Hashing for Hamming Space Retrieval", CVPR 2018).

Equation numbers are the paper's; README.md gives one verdict per equation.

* `hamming_proxy` (eq. 6): d(h_i, h_j) = K/4 ||h_i/||h_i|| - h_j/||h_j||||^2 = K/2 (1 - cos(h_i, h_j));
* `pair_weights` (eq. 2): w_ij = S / S_1 for a similar pair, S / S_0 for a dissimilar one (S_1, S_0: the numbers
  of similar and dissimilar pairs, S = S_0 + S_1), over the pairs of the mini-batch;
* `cauchy_cross_entropy` (eq. 8, from the Cauchy probability gamma / (gamma + d) of eq. 4 in the likelihood of
  eq. 3): sum_ij w_ij [s_ij log(d_ij / gamma) + log(1 + gamma / d_ij)], averaged over the pairs i != j;
* `cauchy_quantization` (eq. 9, from the Cauchy prior of eq. 5): sum_i log(1 + d(|h_i|, 1) / gamma), averaged
  over the items;
* `dch_loss` (eq. 7): L + lambda Q.

Everything is computed in float32 (also under bf16 autocast).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["hamming_proxy", "pair_weights", "cauchy_cross_entropy", "cauchy_quantization", "dch_loss"]


def hamming_proxy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. 6: (n, m) distances K/2 (1 - cos(a_i, b_j)) between the rows of ``a`` (n, K) and ``b`` (m, K).

    For codes in {-1, 1}^K this is their Hamming distance; a zero row has cosine 0 with everything."""
    k = a.shape[1]
    with torch.autocast(device_type=a.device.type, enabled=False):  # float32 even inside bf16 autocast
        cos = F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T
    return 0.5 * k * (1.0 - cos)


def pair_weights(similar: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Eq. 2 over the ``valid`` pairs: S / S_1 on similar pairs, S / S_0 on dissimilar ones, 0 elsewhere.

    Args:
        similar: bool (n, n), s_ij = 1.
        valid: bool (n, n), the pairs the loss sums over (S of them).
    """
    sim = similar & valid
    dis = ~similar & valid
    n_all = valid.sum().float()
    w_sim = n_all / sim.sum().clamp_min(1).float()
    w_dis = n_all / dis.sum().clamp_min(1).float()
    return sim.float() * w_sim + dis.float() * w_dis


def cauchy_cross_entropy(u: torch.Tensor, labels: torch.Tensor, gamma: float, dist_eps: float) -> torch.Tensor:
    """Eq. 8 on the mini-batch: (1/S) sum_{i != j} w_ij [s_ij log(d_ij / gamma) + log(1 + gamma / d_ij)].

    Written in the equivalent stable form log(1 + d/gamma) for a similar pair and log(1 + gamma/d) for a
    dissimilar one; d_ij (eq. 6) is clamped below at ``dist_eps``. s_ij = 1 when items i and j share a label.

    Args:
        u: (n, K) continuous codes h (tanh outputs).
        labels: (n,) integer class labels.
        gamma: the Cauchy scale (> 0).
        dist_eps: smallest distance used (> 0).
    """
    n = u.shape[0]
    d = hamming_proxy(u, u).clamp_min(dist_eps)
    similar = labels[:, None] == labels[None, :]
    valid = ~torch.eye(n, dtype=torch.bool, device=u.device)
    w = pair_weights(similar, valid)
    per_pair = torch.where(similar, torch.log1p(d / gamma), torch.log1p(gamma / d))
    return (w * per_pair).sum() / valid.sum().clamp_min(1).float()


def cauchy_quantization(u: torch.Tensor, gamma: float) -> torch.Tensor:
    """Eq. 9 averaged over the items: mean_i log(1 + d(|h_i|, 1) / gamma), d of eq. 6 to the all-ones vector."""
    ones = torch.ones(1, u.shape[1], dtype=torch.float32, device=u.device)
    d = hamming_proxy(u.float().abs(), ones)[:, 0]
    return torch.log1p(d / gamma).mean()


def dch_loss(
    u: torch.Tensor, labels: torch.Tensor, gamma: float, lambda_q: float, dist_eps: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 7: L + lambda Q, and its parts (detached)."""
    cce = cauchy_cross_entropy(u, labels, gamma, dist_eps)
    quant = cauchy_quantization(u, gamma)
    return cce + lambda_q * quant, {"cauchy_ce": cce.detach(), "cauchy_quant": quant.detach()}
