"""Bi-half's two unsupervised objectives (Li and van Gemert, AAAI 2021); the Bi-half layer is the same in both.

``similarity`` (the image-hashing experiments on a pre-trained, frozen backbone, as in GreedyHash): the
mini-batch is split into two halves that form M = floor(N/2) pairs (i, i + M); the cosine similarity of the codes
of a pair should equal that of the pair's image features:

    L = (1/M) sum_{i=1..M} ( cos(b_i, b_{i+M}) - cos(x_i, x_{i+M}) )^2

x: the backbone's features (the target; no gradient flows into it), b: the Bi-half codes. With an odd N the last
item is left out.

``reconstruction`` (the autoencoder trained from scratch on MNIST): a decoder maps the codes b back to the image,
and the loss is the binary cross-entropy between the reconstruction and the pixels (scaled to [0, 1]), averaged
over the pixels and the batch:

    L = -(1/(N P)) sum_{n, p} [ y_np log sigma(z_np) + (1 - y_np) log(1 - sigma(z_np)) ],   z_n = decoder(b_n)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["similarity_loss", "reconstruction_loss"]


def similarity_loss(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over the pairs (i, i + M) of (cos(b_i, b_{i+M}) - cos(x_i, x_{i+M}))^2; ``x`` is detached."""
    m = b.shape[0] // 2
    target = F.cosine_similarity(x[:m], x[m : 2 * m], dim=1).detach()
    return (F.cosine_similarity(b[:m], b[m : 2 * m], dim=1) - target).pow(2).mean()


def reconstruction_loss(logits: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy between sigmoid(``logits``) and ``pixels`` in [0, 1] (same shape), mean over elements."""
    return F.binary_cross_entropy_with_logits(logits, pixels)
