"""DDSH's discrete step and network step as plain functions of tensors (tested by hand and by brute force).

Jiang, Cui, Li, "Deep Discrete Supervised Hashing", IEEE TIP 2018, as its authors' release runs it
(jiangqy/DDSH-TIP2018, ``trainDDSH.m``, ``Solve.m``). Items are rows: the n training items split into the sampled
columns Omega (m items, discrete codes B_Omega) and the rest Gamma (codes B_Gamma = sgn(F(x)) of the network).
With q bits and the weighted similarity S (1 for a similar pair, -r for a dissimilar one, r = #similar / #dissimilar
over the n x m pairs), the objective is

    L = ||q S_Gamma,Omega - B_Gamma B_Omega^T||^2 + ||q S_Omega,Omega - B_Omega B_Omega^T||^2      (`objective`)

* discrete step (`omega_step`): B_Omega bit by bit, bit k fitted to the residual of the bits before it
  (R_Omega = q S_Omega - sum_{l<k} b_l b_l^T, R_Gamma = q S_Gamma - sum_{l<k} B_Gamma,l b_l^T), i.e.
  min_b b^T Q b + p^T b with Q = -2 R_Omega (diagonal set to 0: b_i^2 = 1) and p = -2 R_Gamma^T B_Gamma,k, over
  balanced b in {-1, +1}^m (half of the entries +1), solved by the authors' clustering heuristic (`balanced_bqp`);
* network step (`network_loss`): for the batch's Gamma items, ||q S_j,Omega - tanh(u_j) B_Omega^T||^2, then
  B_Gamma rows = sgn(u).
"""

from __future__ import annotations

import torch

__all__ = ["signs", "weighted_similarity", "balanced_bqp", "omega_step", "network_loss", "objective", "half_size"]


def signs(x: torch.Tensor) -> torch.Tensor:
    """sgn(x) in {-1, +1} with sgn(0) = +1 (the convention of the packed codes: bit = x >= 0)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def weighted_similarity(labels: torch.Tensor, omega: torch.Tensor) -> tuple[torch.Tensor, float]:
    """(n, m) S against the sampled items: 1 for the same label, -r otherwise, r = #similar / #dissimilar over these
    n x m pairs (the authors' ``SS * (s1 + s0) - s0`` with s1 = 1, s0 = r; r = 1 when no pair is dissimilar)."""
    same = (labels[:, None] == labels[omega][None, :]).float()
    n_dis = float((1.0 - same).sum())
    r = float(same.sum()) / n_dis if n_dis > 0 else 1.0
    return same * (1.0 + r) - r, r


def half_size(m: int) -> int:
    """H = round((m + 1) / 2), rounding halves up (MATLAB's ``round``): the size of the chosen set in `balanced_bqp`,
    the constant variable included, so H - 1 of the m entries are +1."""
    return (int(m) + 2) // 2


def balanced_bqp(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Approximately min_b b^T Q b + p^T b over b in {-1, +1}^m with H - 1 entries +1 (`half_size`).

    Substituting b = 2 z - 1 (z in {0, 1}^m) and homogenising with z_0 = 1 gives z_h^T Q_h z_h (+ a constant),
    Q_h = [[4 Q, l / 2], [l^T / 2, 0]], l = 2 p - 2 (Q + Q^T) 1. The authors read it as an equal-size clustering of
    the columns of a factor P (P^T P = lambda I - Q_h, lambda large): for every variable a, the candidate set is a
    (when a is one of the m), its nearest columns, H in all with z_0; the candidate with the smallest objective is
    kept. Nearness in P needs no factor: ||P_a - P_c||^2 = 2 lambda - Q_aa - Q_cc + 2 (Q_h)_ac, and the diagonal of
    Q_h is 0, so the nearest columns to a are those with the smallest (Q_h)_ac (ties: the lower index).

    Args:
        q: (m, m) with a zero diagonal.
        p: (m,).

    Returns:
        (m,) float in {-1, +1}.
    """
    m = q.shape[0]
    big = m + 1
    hh = half_size(m)
    lin = 2.0 * p - 2.0 * (q + q.T).sum(dim=1)
    qh = torch.zeros(big, big, dtype=torch.float64, device=q.device)
    qh[:m, :m] = 4.0 * q.double()
    qh[:m, m] = qh[m, :m] = 0.5 * lin.double()
    key = qh[:, :m].clone()  # (anchor, candidate column among the m)
    rows = torch.arange(m, device=q.device)
    key[rows, rows] = -torch.inf  # an anchor among the m is its own nearest column
    order = torch.sort(key, dim=1, stable=True).indices[:, : hh - 1]
    z = torch.zeros(big, big, dtype=torch.float64, device=q.device)
    z.scatter_(1, order, 1.0)
    z[:, m] = 1.0
    obj = ((z @ qh) * z).sum(dim=1)
    best = int(torch.argmin(obj))  # the first of equal objectives
    return (2.0 * z[best, :m] - 1.0).to(q.dtype)


def omega_step(b_gamma: torch.Tensor, s_gamma: torch.Tensor, s_omega: torch.Tensor, n_bits: int) -> torch.Tensor:
    """The discrete step: B_Omega (m, q) bit by bit (see the module docstring), given B_Gamma (g, q) and S.

    Args:
        b_gamma: (g, q) codes of the Gamma items (sgn of their latest outputs).
        s_gamma: (g, m) weighted similarity of the Gamma items to the Omega items.
        s_omega: (m, m) weighted similarity among the Omega items.
        n_bits: q.
    """
    q_bits = int(n_bits)
    m = s_omega.shape[0]
    b_gamma = b_gamma.double()
    b_omega = torch.zeros(m, q_bits, dtype=torch.float64, device=s_omega.device)
    lq = -2.0 * q_bits * s_omega.double()
    lp = q_bits * s_gamma.double()
    eye = torch.eye(m, dtype=torch.bool, device=s_omega.device)
    for k in range(q_bits):
        if k > 0:
            prev = b_omega[:, k - 1]
            lq = lq + 2.0 * torch.outer(prev, prev)
            lp = lp - torch.outer(b_gamma[:, k - 1], prev)
        qk = lq.masked_fill(eye, 0.0)
        pk = -2.0 * lp.T @ b_gamma[:, k]
        b_omega[:, k] = balanced_bqp(qk, pk)
    return b_omega.float()


def network_loss(
    u: torch.Tensor, s_batch: torch.Tensor, b_omega: torch.Tensor, n_bits: int, n_train: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """sum_j ||q S_j,Omega - tanh(u_j) B_Omega^T||^2 over the batch's Gamma items, divided by (batch size x n), the
    authors' normalisation of the gradient (``dzdw / (batch_size * numTrain)``).

    Returns:
        (loss, {"fit": the mean over the batch x m terms of (q s - h^T b)^2}).
    """
    h = torch.tanh(u.float())
    resid = float(n_bits) * s_batch - h @ b_omega.float().T
    sq = resid.pow(2)
    total = sq.sum() / (u.shape[0] * float(n_train))
    return total, {"fit": sq.mean().detach()}


def objective(b_gamma, b_omega, s_gamma, s_omega, n_bits: int) -> float:
    """L of the module docstring (the authors' ``calc_loss`` before its division by n)."""
    q_bits = float(n_bits)
    return float(
        (q_bits * s_gamma - b_gamma @ b_omega.T).pow(2).sum() + (q_bits * s_omega - b_omega @ b_omega.T).pow(2).sum()
    )
