"""DPN's polarization loss (Fan et al., IJCAI 2020, Sec. 3): a bit-wise hinge between the network outputs v and the
{-1, +1} target code t of the item's class.

    l(v, t) = sum_k max(0, m - v_k t_k)                 (one item, K bits, margin m >= 0)
    L       = (1 / B) sum_n l(v_n, t_{y_n})             (a mini-batch of B items)

l is zero exactly when every output has the sign of its target bit and a magnitude of at least m: sign(v) = t.
"""

from __future__ import annotations

import torch

__all__ = ["polarization_loss"]


def polarization_loss(v: torch.Tensor, targets: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean over the batch of sum_k max(0, margin - v_nk t_nk).

    Args:
        v: (B, K) network outputs.
        targets: (B, K) target codes in {-1, +1} (the rows of the items' classes).
        margin: m >= 0.
    """
    return torch.relu(margin - v * targets).sum(dim=1).mean()
