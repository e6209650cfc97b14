"""TBH's layers (Shen et al., CVPR 2020, Sec. 3): the stochastic binary bottleneck, the Hamming-similarity graph over
the batch, the graph convolution that applies it to the continuous bottleneck, and a gradient-reversal function
that lets one optimizer play both sides of the adversarial game.

Binary bottleneck (`binary_bottleneck`): bit probabilities q = sigmoid(l) of the logits l; code
b = 1[q >= eps] in {0, 1} with eps ~ U(0, 1) (the paper's stochastic neuron) or eps = 1/2 (the authors' released
code); backward, the gradient of b passes straight through to q: dL/dl = q (1 - q) dL/db (the authors'
"distributional derivative").

Adjacency (`hamming_adjacency`): A_ij = (1 - d_H(b_i, b_j) / K)^p for codes in {0, 1}^K, with
d_H(b_i, b_j) = sum_k b_ik (1 - b_jk) + (1 - b_ik) b_jk (differentiable in b); p = 1 in the paper's formula, 1.4
in the authors' code. A_ii = 1 (self-connected).

Graph convolution (`GraphConv`): Z' = sigmoid(D^-1/2 A D^-1/2 (Z W + c)), D = diag(A 1) (+1e-8 inside the root,
the authors' margin).
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["BinaryBottleneck", "binary_bottleneck", "hamming_adjacency", "normalized_adjacency", "GraphConv", "reverse"]

MARGIN = 1e-8  # the authors' OVERFLOW_MARGIN inside D^-1/2


class BinaryBottleneck(torch.autograd.Function):
    """b = 1[sigmoid(l) >= eps] forward; dL/dl = q (1 - q) dL/db backward (q = sigmoid(l))."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        q = torch.sigmoid(logits)
        ctx.save_for_backward(q)
        return (q >= eps).to(logits.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (q,) = ctx.saved_tensors
        return q * (1 - q) * grad, None


def binary_bottleneck(logits: torch.Tensor, eps: torch.Tensor | float) -> torch.Tensor:
    """{0, 1} codes of ``logits`` against thresholds ``eps`` (a tensor of their shape or a number)."""
    if not torch.is_tensor(eps):
        eps = torch.full_like(logits, float(eps))
    return BinaryBottleneck.apply(logits, eps)


def hamming_adjacency(b: torch.Tensor, power: float) -> torch.Tensor:
    """(N, N) A_ij = (1 - d_H(b_i, b_j) / K)^power of {0, 1} codes ``b`` (N, K)."""
    k = b.shape[1]
    dist = b @ (1 - b).T + (1 - b) @ b.T
    return (1 - dist / k).clamp(min=0).pow(float(power))


def normalized_adjacency(a: torch.Tensor) -> torch.Tensor:
    """D^-1/2 A D^-1/2 with D = diag(A 1)."""
    d = (a.sum(dim=1) + MARGIN).pow(-0.5)
    return d[:, None] * a * d[None, :]


class GraphConv(nn.Module):
    """Z' = sigmoid(D^-1/2 A D^-1/2 (Z W + c)) on a batch graph A."""

    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, z: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(normalized_adjacency(adjacency) @ self.fc(z))


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return -grad


def reverse(x: torch.Tensor) -> torch.Tensor:
    """The identity forward, the negated gradient backward (gradient reversal)."""
    return _Reverse.apply(x)
