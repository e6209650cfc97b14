"""CIBHash's loss (Qiu et al., IJCAI 2021, Sec. 3): the contrastive loss between the binary codes of two views plus
beta times the symmetric KL term of the information bottleneck.

Probabilistic binary layer (`stochastic_sign`): the encoder gives Bernoulli probabilities q = sigmoid(f(x)) per bit;
a code is b = sign(q - u) in {-1, +1} with u ~ U(0, 1) (the paper: b ~ Bernoulli(q)) or u = 1/2 (the authors'
released code); the gradient is straight-through, db/dq = identity.

Contrastive loss (`nt_xent`, NT-Xent of SimCLR on the codes): for the 2N codes z = [b^(1); b^(2)] and
s_ij = cos(z_i, z_j) / tau,

    l_i = -log( exp(s_{i, i+N}) / sum_{j != i} exp(s_ij) )     (indices mod 2N),   L_con = (1/(2N)) sum_i l_i

KL term (`bernoulli_kl`), per pair of views, summed over the K bits and averaged over the batch, the second
argument detached (the authors' code):

    KL(q || r) = sum_k q_k log(q_k / r_k) + (1 - q_k) log((1 - q_k) / (1 - r_k)),
    L_KL = (KL(q^(1) || sg(q^(2))) + KL(q^(2) || sg(q^(1)))) / 2

Total: L = L_con + beta * L_KL.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["StraightThroughSign", "stochastic_sign", "nt_xent", "bernoulli_kl", "cibhash_loss"]

EPS = 1e-8  # inside the logarithms of the KL term (the authors' code)


class StraightThroughSign(torch.autograd.Function):
    """sign(x) forward (sign(0) = +1), the identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def stochastic_sign(prob: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """b = sign(prob - threshold) in {-1, +1} with a straight-through gradient into ``prob``."""
    return StraightThroughSign.apply(prob - threshold)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over the 2N rows of [z1; z2]: the positive of row i is its other view, the 2N - 2 other rows are
    negatives; cosine similarities divided by ``temperature``; mean over the 2N rows."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.T / float(temperature)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def bernoulli_kl(q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Mean over rows of sum over bits of KL(Bernoulli(q) || Bernoulli(r)), ``r`` detached, EPS in the logs."""
    r = r.detach()
    kl = q * (torch.log(q + EPS) - torch.log(r + EPS)) + (1 - q) * (torch.log(1 - q + EPS) - torch.log(1 - r + EPS))
    return kl.sum(dim=1).mean()


def cibhash_loss(
    q1: torch.Tensor, q2: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor, temperature: float, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, contrastive, KL): L_con(b1, b2) + beta (KL(q1 || q2) + KL(q2 || q1)) / 2."""
    con = nt_xent(b1, b2, temperature)
    kl = (bernoulli_kl(q1, q2) + bernoulli_kl(q2, q1)) / 2
    return con + float(beta) * kl, con, kl
