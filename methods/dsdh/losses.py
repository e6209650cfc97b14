"""DSDH's three steps as plain functions of tensors (tested against hand computations, brute force and SDH's DCC).

Li, Sun, He, Tan, "Deep Supervised Discrete Hashing", NeurIPS 2017. Items are ROWS here (the paper's columns):
B (n, L) codes in {-1, +1}, U (n, L) network outputs, Y (n, C) one-hot labels of the SEEN classes, W (L, C) the
linear classifier of the codes. The objective (README.md, rows 1-5):

    J = sum_{s_ij} (log(1 + e^Theta_ij) - s_ij Theta_ij) + mu ||Y - B W||^2 + nu ||W||^2 + eta ||B - U||^2,
    Theta_ij = u_i^T u_j / 2,

minimised by alternating (README.md, row 9):

* B-step (`dcc_b_step`): with W and U fixed, min mu ||Y - B W||^2 + eta ||B - U||^2 over B in {-1, +1}, i.e.
  min ||B W||^2 - 2 tr(B^T P) with P = Y W^T + (eta / mu) U, bit column by bit column (discrete cyclic
  coordinate descent, as in SDH): z = sgn(p_k - B' W' w_k);
* W-step (`w_step`): W = (B^T B + (nu / mu) I)^{-1} B^T Y;
* network step (`network_loss`): with B fixed, the likelihood on Theta plus eta ||b_i - u_i||^2, whose gradient
  for a batch point is sum_j (a_ij - s_ij) u_j + 2 eta (u_i - b_i), a_ij = sigmoid(Theta_ij) (DPSH's eq. 7 with
  the B of the B-step in place of sgn(u)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["signs", "one_hot", "same_label", "w_step", "dcc_b_step", "network_loss", "objective"]


def signs(x: torch.Tensor) -> torch.Tensor:
    """sgn(x) in {-1, +1} with sgn(0) = +1 (the convention of the packed codes: bit = x >= 0)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def one_hot(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(n, C) float one-hot rows y_i of single labels in 0..C-1."""
    return F.one_hot(labels.long(), int(n_classes)).float()


def same_label(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(len(a), len(b)) float: s_ij = 1 where the single labels are equal, else 0."""
    return (a[:, None] == b[None, :]).float()


def w_step(b: torch.Tensor, y: torch.Tensor, mu: float, nu: float) -> torch.Tensor:
    """W = (B^T B + (nu / mu) I)^{-1} B^T Y: the (L, C) minimiser of mu ||Y - B W||^2 + nu ||W||^2 (float64 solve)."""
    b64, y64 = b.double(), y.double()
    ll = b.shape[1]
    eye = torch.eye(ll, dtype=torch.float64, device=b.device)
    return torch.linalg.solve(b64.T @ b64 + (float(nu) / float(mu)) * eye, b64.T @ y64).to(b.dtype)


def dcc_b_step(
    b: torch.Tensor, u: torch.Tensor, y: torch.Tensor, w: torch.Tensor, mu: float, eta: float, sweeps: int
) -> tuple[torch.Tensor, int, int]:
    """The B-step: discrete cyclic coordinate descent for min ||B W||^2 - 2 tr(B^T P), P = Y W^T + (eta / mu) U.

    Each bit column k in turn is set to its exact minimiser given the other columns,
    z = sgn(p_k - (B W w_k - b_k (w_k . w_k))) (= sgn(p_k - B' W' w_k), B' and W' without column / row k),
    sgn(0) = +1, starting from the current ``b`` (warm start), for at most ``sweeps`` passes over the L bits,
    stopping after a pass that changes no bit. No update can raise the objective.

    Args:
        b: (n, L) current codes in {-1, +1} (not modified).
        u: (n, L) network outputs (the memory bank).
        y: (n, C) one-hot labels.
        w: (L, C) classifier.
        mu, eta: the weights of the classification and quantisation terms.
        sweeps: the most passes over the bits.

    Returns:
        (new codes (n, L), passes run, bits changed in all).
    """
    b = b.clone()
    p = y @ w.T + (float(eta) / float(mu)) * u
    ww = w @ w.T  # (L, L): column k = W w_k
    changed = done = 0
    for _ in range(int(sweeps)):
        done += 1
        this = 0
        for k in range(b.shape[1]):
            z = p[:, k] - (b @ ww[:, k] - b[:, k] * ww[k, k])
            new = signs(z)
            this += int((new != b[:, k]).sum())
            b[:, k] = new
        changed += this
        if this == 0:
            break
    return b, done, changed


def network_loss(
    u: torch.Tensor, bank: torch.Tensor, s: torch.Tensor, b: torch.Tensor, eta: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The network step: J's terms that depend on the outputs u_i of a mini-batch, with B fixed.

    Args:
        u: (m, L) outputs of the batch (with gradient).
        bank: (n, L) the latest outputs of every training item (detached; the batch's rows hold ``u``).
        s: (m, n) pairwise labels s_ij of the batch against every training item.
        b: (m, L) the batch's codes from the B-step (constants).
        eta: weight of the quantisation term.

    The likelihood carries a factor 2 because J holds each pair twice (s_ij and s_ji) and only the batch side is
    live: the gradient for u_i is then exactly sum_j (a_ij - s_ij) u_j + 2 eta (u_i - b_i), divided by m n.

    Returns:
        (loss, {"likelihood": mean over the m x n terms of log(1 + e^Theta) - s Theta, "quantisation": mean over
        the batch of ||b_i - u_i||^2}).
    """
    u = u.float()
    theta = 0.5 * u @ bank.float().T
    nll = F.softplus(theta) - s * theta  # -log p(s_ij | u), computed stably
    quant = (b.float() - u).pow(2).sum(dim=1)
    total = (2.0 * nll.sum() + float(eta) * quant.sum()) / theta.numel()
    return total, {"likelihood": nll.mean().detach(), "quantisation": quant.mean().detach()}


def objective(
    u: torch.Tensor,
    labels: torch.Tensor,
    b: torch.Tensor,
    w: torch.Tensor,
    n_classes: int,
    mu: float,
    nu: float,
    eta: float,
) -> dict[str, float]:
    """J of the module docstring on a whole (small) training set, term by term (float64; for tests and checks)."""
    u, b, w = u.double(), b.double(), w.double()
    y = one_hot(labels, n_classes).double()
    theta = 0.5 * u @ u.T
    s = same_label(labels, labels).double()
    parts = {
        "likelihood": float((F.softplus(theta) - s * theta).sum()),
        "classification": float(mu * (y - b @ w).pow(2).sum()),
        "regulariser": float(nu * w.pow(2).sum()),
        "quantisation": float(eta * (b - u).pow(2).sum()),
    }
    parts["total"] = sum(parts.values())
    return parts
