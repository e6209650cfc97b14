"""JMLH's pieces (Shen, Qin, Chen, Liu, Zhu, Shen, ICCV Workshops 2019), each small enough to check by hand.

* the stochastic binary layer: probabilities q = sigmoid(z) of the hash layer's outputs z; a code bit is
  b_k = 1[q_k > eps_k], eps_k ~ U(0, 1) in training (b_k ~ Bernoulli(q_k)), eps_k = 1/2 at encoding (b_k = 1[z_k > 0]);
  its gradient passes straight through the threshold: d b_k / d q_k := 1 (`stochastic_bits`);
* the KL regulariser of the variational objective to the Bernoulli(1/2) prior, summed over the K bits and
  averaged over the batch:

      KL(q || 1/2) = sum_k [ q_k log(2 q_k) + (1 - q_k) log(2 (1 - q_k)) ]   (>= 0, zero exactly at q = 1/2)

* the loss: cross-entropy of a linear classifier on the codes over the SEEN classes plus ``kl_weight`` * KL.
"""

from __future__ import annotations

import torch

__all__ = ["stochastic_bits", "kl_to_half", "EPS_LOG"]

EPS_LOG = 1e-7  # inside the logarithms (as FIRe's and the authors' code); keeps KL finite at q = 0 or 1


def stochastic_bits(q: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """{0, 1} codes 1[q > eps] whose gradient with respect to q is the identity (straight-through).

    Args:
        q: (B, K) bit probabilities in (0, 1).
        eps: (B, K) thresholds: U(0, 1) draws (stochastic codes, Bernoulli(q)) or 1/2 (deterministic codes).
    """
    hard = (q > eps).to(q.dtype)
    return q + (hard - q).detach()


def kl_to_half(q: torch.Tensor) -> torch.Tensor:
    """Batch mean of sum_k KL(Bernoulli(q_k) || Bernoulli(1/2)) (nats); q: (B, K) probabilities."""
    half = torch.log(torch.tensor(2.0, dtype=q.dtype, device=q.device))
    kl = q * (torch.log(q + EPS_LOG) + half) + (1 - q) * (torch.log(1 - q + EPS_LOG) + half)
    return kl.sum(dim=1).mean()
