"""CSQ's losses (Yuan, Wang, Zhang, Tay, Jie, Liu, Feng, "Central Similarity Quantization for Efficient Image and
Video Retrieval", CVPR 2020); README.md gives one verdict per equation.

With h = tanh(z) in (-1, 1) the hash layer's output and c in {-1, +1}^K the centre of the item's class, both
mapped to [0, 1] as (x + 1) / 2:

* `central_loss`: L_C, the binary cross-entropy between the mapped code and the mapped centre, averaged over the
  bits (the paper's 1/K) and the items. Computed from the logits 2z, since (tanh(z) + 1) / 2 = sigmoid(2z): the
  same value, without log(0) for a saturated tanh;
* `quantization_loss`: L_Q = log cosh(|h| - 1) (the paper; "logcosh") or (|h| - 1)^2 (the public code;
  "square"), averaged over the items and bits;
* `csq_loss`: L_C + lambda_1 L_Q.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["central_loss", "quantization_loss", "csq_loss", "log_cosh"]


def central_loss(z: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """L_C: mean over items and bits of BCE((tanh(z) + 1) / 2, (c + 1) / 2), from the logits 2z.

    Args:
        z: (n, K) hash-layer pre-activations (h = tanh(z)).
        centres: (n, K) the centre of each item's class, in {-1, +1}.
    """
    return F.binary_cross_entropy_with_logits(2.0 * z.float(), (centres.float() + 1.0) / 2.0)


def log_cosh(x: torch.Tensor) -> torch.Tensor:
    """log(cosh(x)) without overflow: |x| + log(1 + exp(-2|x|)) - log 2."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def quantization_loss(h: torch.Tensor, form: str = "logcosh") -> torch.Tensor:
    """L_Q averaged over items and bits: log cosh(|h| - 1) ("logcosh", the paper) or (|h| - 1)^2 ("square")."""
    x = h.float().abs() - 1.0
    if form == "logcosh":
        return log_cosh(x).mean()
    if form == "square":
        return x.pow(2).mean()
    raise ValueError(f"quantization must be 'logcosh' or 'square', got {form!r}")


def csq_loss(
    z: torch.Tensor, centres: torch.Tensor, lambda_q: float, form: str = "logcosh"
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """L_C + lambda_1 L_Q and the parts (detached); ``centres`` (n, K) are the items' class centres."""
    lc = central_loss(z, centres)
    lq = quantization_loss(torch.tanh(z.float()), form)
    return lc + lambda_q * lq, {"central": lc.detach(), "quantization": lq.detach()}
