"""GreedyHash's hash layer and losses (Su, Zhang, Han, Tian, "Greedy Hash: Towards Fast Optimization for
Accurate Hash Coding in CNN", NeurIPS 2018); README.md gives one verdict per equation.

* `greedy_sign`: the hash layer. Forward b = sgn(h); backward dL/dh = dL/db (the gradient passes the sign
  unchanged: the greedy update of H in the direction of the gradient on B, Sec. 3);
* `sign_penalty`: || |h| - 1 ||_p^p (p = 3), which keeps h near sgn(h) so that the greedy step stays accurate;
  averaged over the items and bits;
* `greedyhash_loss` (supervised variant): softmax cross-entropy of a linear classification layer on the codes b
  plus alpha times the penalty.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["greedy_sign", "sign_penalty", "greedyhash_loss"]


class _GreedySign(torch.autograd.Function):
    """b = sgn(h) (+1 for h >= 0, the benchmark's bit rule); the backward pass copies the gradient."""

    @staticmethod
    def forward(ctx, h: torch.Tensor) -> torch.Tensor:
        return torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h))

    @staticmethod
    def backward(ctx, grad_b: torch.Tensor) -> torch.Tensor:
        return grad_b


def greedy_sign(h: torch.Tensor) -> torch.Tensor:
    """The GreedyHash layer: sgn(h) forward, identity backward."""
    return _GreedySign.apply(h)


def sign_penalty(h: torch.Tensor, power: float) -> torch.Tensor:
    """mean over items and bits of ||h| - 1|^p (the paper's || |h| - 1 ||_p^p divided by n K)."""
    return (h.float().abs() - 1.0).abs().pow(power).mean()


def greedyhash_loss(
    logits: torch.Tensor, labels: torch.Tensor, h: torch.Tensor, alpha: float, power: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy of the classification layer on b = sgn(h) plus alpha times the penalty; and the parts."""
    ce = F.cross_entropy(logits.float(), labels)
    pen = sign_penalty(h, power)
    return ce + alpha * pen, {"ce": ce.detach(), "penalty": pen.detach()}
