"""ADSH's pieces (Jiang and Li, "Asymmetric Deep Supervised Hashing", AAAI 2018), each small enough to check by hand.

The objective (the paper's Sec. "Model Formulation"; u_i = tanh(F(x_i; Theta)) the network's relaxed code of a
sampled query item i in Omega, v_j in {-1, +1}^c the code of database item j, c the code length):

    J(Theta, V) = sum_{i in Omega} sum_{j in Gamma} (u_i^T v_j - c S_ij)^2  +  gamma sum_{i in Omega} ||v_i - u_i||^2

* `similarity`: S_ij = +1 for items of one class, -1 otherwise (the paper); ``balanced``: -r instead of -1 with
  r = (#similar pairs) / (#dissimilar pairs) over Omega x Gamma (the authors' code, "soft constraint");
* `adsh_loss`: the mini-batch part of J that depends on Theta, divided by (n B) (n = |Gamma|, B = the batch) as
  the authors' code;
* `update_codes`: the discrete step for V with Theta fixed. With U (m x c) the queries' u, Ubar (n x c) U in the rows
  of Omega and 0 elsewhere, and Q = -2 c S^T U - 2 gamma Ubar (n x c), J = ||V U^T||_F^2 + tr(V^T Q) + const,
  and bit k (column V_k), the others fixed, is minimised exactly by

      V_k = -sign(2 Vhat_k Uhat_k^T U_k + Q_k)      (Vhat_k, Uhat_k: V and U without column k)

  applied for k = 1 .. c in turn (`update_column`); sign(0) is taken as +1 (the bit's two values then tie).
"""

from __future__ import annotations

import torch

__all__ = ["similarity", "neg_similarity", "adsh_loss", "update_column", "update_codes", "code_objective"]

SIMILARITY_MODES = ("paper", "balanced")


def neg_similarity(query_labels: torch.Tensor, db_labels: torch.Tensor, mode: str) -> float:
    """The value of S_ij for a dissimilar pair: -1 (``paper``) or -r, r = #similar / #dissimilar pairs of
    query_labels x db_labels (``balanced``; -1 when no pair is dissimilar)."""
    if mode == "paper":
        return -1.0
    same = (query_labels[:, None] == db_labels[None, :]).sum().item()
    diff = query_labels.numel() * db_labels.numel() - same
    return -(same / diff) if diff else -1.0


def similarity(query_labels: torch.Tensor, db_labels: torch.Tensor, neg: float) -> torch.Tensor:
    """(m, n) float S: 1 where the labels agree, ``neg`` elsewhere."""
    same = query_labels[:, None] == db_labels[None, :]
    return torch.where(same, torch.ones((), device=same.device), torch.full((), float(neg), device=same.device))


def adsh_loss(
    u: torch.Tensor, v: torch.Tensor, s: torch.Tensor, v_own: torch.Tensor, gamma: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, square, quantization), each divided by n B.

    Args:
        u: (B, c) relaxed codes tanh(F(x)) of the batch (sampled queries).
        v: (n, c) database codes in {-1, +1} (fixed in this step).
        s: (B, n) similarities of the batch items to the database items.
        v_own: (B, c) the database codes of the batch items themselves (v_i, i in Omega).
        gamma: weight of the quantization term.
    """
    c = u.shape[1]
    scale = float(v.shape[0] * u.shape[0])
    square = (u @ v.T - c * s).pow(2).sum() / scale
    quant = (v_own - u).pow(2).sum() / scale
    return square + gamma * quant, square, quant


def _neg_sign(x: torch.Tensor) -> torch.Tensor:
    """-sign(x) with sign(0) = +1: -1 where x >= 0, +1 where x < 0."""
    return torch.where(x >= 0, -torch.ones_like(x), torch.ones_like(x))


def update_column(v: torch.Tensor, u: torch.Tensor, q: torch.Tensor, k: int) -> torch.Tensor:
    """Column k of V minimising ||V U^T||^2 + tr(V^T Q) with the other columns fixed (see the module docstring).

    Args:
        v: (n, c) current database codes. u: (m, c) the queries' relaxed codes. q: (n, c) Q. k: the bit.
    """
    keep = [j for j in range(v.shape[1]) if j != k]
    return _neg_sign(2.0 * v[:, keep] @ (u[:, keep].T @ u[:, k]) + q[:, k])


def update_codes(v: torch.Tensor, u: torch.Tensor, s: torch.Tensor, omega: torch.Tensor, gamma: float) -> torch.Tensor:
    """One pass of bitwise updates of V (a new tensor).

    Args:
        v: (n, c) database codes (any values; zeros at the start, as the authors' code).
        u: (m, c) relaxed codes of the sampled queries, row i = database item omega[i].
        s: (m, n) their similarities to the database.
        omega: (m,) long: the queries' rows in the database.
        gamma: weight of the quantization term.
    """
    c = u.shape[1]
    ubar = torch.zeros_like(v)
    ubar[omega] = u
    q = -2.0 * c * (s.T @ u) - 2.0 * gamma * ubar
    v = v.clone()
    for k in range(c):
        v[:, k] = update_column(v, u, q, k)
    return v


def code_objective(v: torch.Tensor, u: torch.Tensor, s: torch.Tensor, omega: torch.Tensor, gamma: float) -> float:
    """J for fixed U (unnormalised): sum_ij (u_i^T v_j - c S_ij)^2 + gamma sum_i ||v_{omega_i} - u_i||^2."""
    c = u.shape[1]
    return float((u @ v.T - c * s).pow(2).sum() + gamma * (v[omega] - u).pow(2).sum())
