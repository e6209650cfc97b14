"""The Bi-half layer (Li and van Gemert, AAAI 2021, Sec. 3): a parameter-free hash layer that gives every bit a
half-half distribution over the mini-batch.

Forward (the optimal coupling pi_0 between the batch's continuous values of one bit and the half-half binary
distribution): for every column k of U (N x K), the floor(N/2) largest entries get +1 and the others -1.

Backward (straight-through, plus the gradient of the penalty (gamma / 2) ||U - B||^2 / (N K)):

    dL/dU = dL/dB + gamma (U - B) / (N K)

Ties within a column are broken by position (a stable sort), so the layer is deterministic.
"""

from __future__ import annotations

import torch

__all__ = ["bi_half", "bi_half_codes", "BiHalf"]


def bi_half_codes(u: torch.Tensor) -> torch.Tensor:
    """(N, K) in {-1, +1}: per column the floor(N/2) largest values of ``u`` -> +1, the rest -> -1."""
    n = u.shape[0]
    order = torch.argsort(u, dim=0, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(0, order, torch.arange(n, device=u.device).unsqueeze(1).expand_as(order))
    return torch.where(ranks < n // 2, 1.0, -1.0).to(u.dtype)


class BiHalf(torch.autograd.Function):
    """B = pi_0(U) forward; dL/dU = dL/dB + gamma (U - B) / (N K) backward."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, gamma: float) -> torch.Tensor:
        b = bi_half_codes(u)
        ctx.save_for_backward(u, b)
        ctx.gamma = float(gamma)
        return b

    @staticmethod
    def backward(ctx, grad_b: torch.Tensor):
        u, b = ctx.saved_tensors
        return grad_b + ctx.gamma * (u - b) / b.numel(), None


def bi_half(u: torch.Tensor, gamma: float) -> torch.Tensor:
    """The Bi-half layer on a batch ``u`` (N, K) with penalty weight ``gamma``."""
    return BiHalf.apply(u, gamma)
