"""The SitNet network and losses (README.md has the fidelity table).

* `SitNetNet` = the shared `BackboneNet` (pooled CNN features f(x)) + a hash layer z = W_h f + c_h + the
  DISCRETE hashing layer b = sgn(z) (`sign_ste`: the sign in the forward pass, a straight-through gradient in
  the backward pass), then two task heads on the codes b (the multi-task architecture):
  - classification over the SEEN classes: logits = W_c b + c_c;
  - semantic embedding: s_hat = W_s b + c_s, in the space of the class-name word vectors;
* ``class_vectors`` (S, d) buffer: the word vectors of the SEEN class names only;
* encoding returns z (the codes are its signs, sgn(0) = +1, the bit convention of `Hasher.encode`).

Losses of one batch (N items, labels y_i over the S seen classes):

    L_cls = (1/N) sum_i -log softmax(W_c b_i + c_c)_{y_i}
    L_sem = (1/N) sum_i ||s_hat_i - s_{y_i}||^2                                          ("regression")
          or (1/N) sum_i sum_{j != y_i} max(0, margin - s_hat_i . s_{y_i} + s_hat_i . s_j)   ("ranking")
    L     = L_cls + lambda_sem L_sem
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from zshbench.train.backbones import BackboneNet

__all__ = ["SitNetNet", "sign_ste", "classification_loss", "semantic_loss", "total_loss"]


def sign_ste(z: torch.Tensor, mode: str = "identity") -> torch.Tensor:
    """The discrete hashing layer: sgn(z) in {-1, +1} (sgn(0) = +1) forward; backward d b / d z = 1 ("identity")
    or 1 where |z| <= 1 and 0 elsewhere ("hardtanh")."""
    b = torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))
    if mode == "identity":
        return z + (b - z).detach()
    if mode == "hardtanh":
        zc = z.clamp(-1.0, 1.0)
        return zc + (b - zc).detach()
    raise ValueError(f"sign_ste: unknown mode {mode!r} (expected identity or hardtanh)")


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_cls: mean cross-entropy of the seen-class logits."""
    return F.cross_entropy(logits, labels)


def semantic_loss(
    s_hat: torch.Tensor, class_vectors: torch.Tensor, labels: torch.Tensor, kind: str, margin: float
) -> torch.Tensor:
    """L_sem of the batch: squared distance to the own class's vector ("regression"), or the hinge ranking of
    the own class's vector above every other seen class's by ``margin`` ("ranking"); mean over the batch."""
    target = class_vectors[labels]
    if kind == "regression":
        return (s_hat - target).pow(2).sum(dim=1).mean()
    if kind == "ranking":
        scores = s_hat @ class_vectors.T  # (N, S)
        own = scores.gather(1, labels[:, None])
        hinge = (margin - own + scores).clamp_min(0.0)
        hinge = hinge.masked_fill(F.one_hot(labels, class_vectors.shape[0]).bool(), 0.0)
        return hinge.sum(dim=1).mean()
    raise ValueError(f"semantic_loss: unknown kind {kind!r} (expected regression or ranking)")


def total_loss(l_cls: torch.Tensor, l_sem: torch.Tensor, lambda_sem: float) -> torch.Tensor:
    """L = L_cls + lambda_sem L_sem."""
    return l_cls + lambda_sem * l_sem


class SitNetNet(BackboneNet):
    """The shared backbone with SitNet's hash layer and its two task heads.

    Args:
        p: resolved profile (``backbone``, ``img_size``, ``ste``, ``semantic_loss``, ``margin``, ``lambda_sem``).
        n_bits: code length L.
        class_vectors: (S, d) word vectors of the seen classes (the semantic targets).
    """

    def __init__(self, p: dict[str, Any], n_bits: int, class_vectors: torch.Tensor):
        super().__init__(p)
        self.p = dict(p)
        s, d = class_vectors.shape
        self.register_buffer("class_vectors", class_vectors.float().clone())
        self.hash_layer = nn.Linear(self.num_features, n_bits)
        self.cls_head = nn.Linear(n_bits, s)
        self.sem_head = nn.Linear(n_bits, d)
        if p["sem_head_init"] == "zeros":  # s_hat starts at 0: L_sem starts at mean ||s_y||^2 (1 for unit vectors)
            nn.init.zeros_(self.sem_head.weight)
            nn.init.zeros_(self.sem_head.bias)

    def relaxed(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """z = W_h f(x) + c_h (B, L): the hash layer's input to the sign."""
        return self.hash_layer(self.features(images_uint8))

    @torch.no_grad()
    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """z in float32; the hasher's codes are sgn(z)."""
        return self.relaxed(images_uint8).float()

    def train_losses(self, images_uint8: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """(L, {"cls", "sem": detached parts}) of one batch."""
        p = self.p
        b = sign_ste(self.relaxed(images_uint8), p["ste"])
        l_cls = classification_loss(self.cls_head(b), labels)
        s_hat = self.sem_head(b)
        l_sem = semantic_loss(s_hat, self.class_vectors.to(s_hat.dtype), labels, p["semantic_loss"], p["margin"])
        return total_loss(l_cls, l_sem, float(p["lambda_sem"])), {"cls": l_cls.detach(), "sem": l_sem.detach()}
