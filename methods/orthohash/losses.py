"""OrthoHash's single objective, the OrthoCos form (Hoe et al., NeurIPS 2021, Sec. 3.2): a cross-entropy over the
scaled cosine similarities between the continuous code v of an item and the binary orthogonal code o_c of every
(seen) class, with an additive cosine margin m on the item's own class:

    cos_c = v . o_c / (||v|| ||o_c||)
    L     = -(1/B) sum_n log( exp(s (cos_{y_n} - m)) / (exp(s (cos_{y_n} - m)) + sum_{c != y_n} exp(s cos_c)) )

plus, as an option (weight ``quan``, 0 by default as in the authors' code), their cosine quantization term

    Q     = (1/B) sum_n ( 1 - cos(v_n, sign(v_n)) )          (sign(v_n) a constant: no gradient through it)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["cosine_logits", "orthocos_loss", "quantization_loss"]


def cosine_logits(v: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """(B, C) cosine similarities between the rows of ``v`` (B, K) and of ``codebook`` (C, K)."""
    return F.normalize(v, dim=1) @ F.normalize(codebook, dim=1).T


def orthocos_loss(cos: torch.Tensor, labels: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """Additive-margin softmax cross-entropy over the cosines ``cos`` (B, C): the true class's cosine lowered by
    ``margin``, every cosine multiplied by ``scale``, mean over the batch."""
    shifted = cos - margin * F.one_hot(labels, cos.shape[1]).to(cos.dtype)
    return F.cross_entropy(scale * shifted, labels)


def quantization_loss(v: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of 1 - cos(v_n, sign(v_n)), the sign detached (the authors' ``quan_type="cs"``)."""
    return (1.0 - F.cosine_similarity(v, v.detach().sign(), dim=1)).mean()
