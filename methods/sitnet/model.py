"""The SitNet network and losses (README.md has the fidelity table).

The paper's Figure 1 (its labels are all of the paper's method text that could be read, README.md): convolution
and pooling layers -> fc layers -> a hashing layer, trained by two losses on the codes, a **regularized center
loss** (the supervised task on the seen classes) and a **semantic embedding loss** (the semantic vectors of the
class names). Here:

* `SitNetNet` = the shared `BackboneNet` (pooled CNN features f(x)) + a hash layer z = W_h f + c_h + the DISCRETE
  hashing layer b = sgn(z) (`sign_ste`: the sign in the forward pass, a straight-through gradient backward);
* ``centers`` (S, L): one learnable center per SEEN class; ``sem_head``: s_hat = W_s b + c_s (the code mapped
  into the d-dimensional semantic space); ``class_vectors`` (S, d) buffer: the SEEN classes' semantic vectors;
* encoding returns z (the codes are its signs, sgn(0) = +1, the bit convention of `Hasher.encode`).

Losses of one batch (N items, labels y_i over the S seen classes, L bits, semantic vectors s_1..s_S):

    L_sem = (1/N) sum_i sum_{c != y_i} max(0, margin - s_hat_i . s_{y_i} + s_hat_i . s_c)       ("ranking")
          or (1/N) sum_i -log softmax_c(s_hat_i . s_c)_{y_i}                                    ("softmax")
          or (1/N) sum_i ||s_hat_i - s_{y_i}||^2                                                ("regression")
    L_ctr = (1/N) sum_i ||b_i - c_{y_i}||^2 / L
          + mu (1 / (S (S - 1))) sum_{j != k} max(0, center_margin - ||c_j - c_k||^2 / L)
    L     = L_sem + lambda_center L_ctr          (+ lambda_cls L_cls, L_cls = seen-class softmax on b, off by default)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from zshbench.train.backbones import BackboneNet

__all__ = [
    "SitNetNet",
    "sign_ste",
    "classification_loss",
    "semantic_loss",
    "center_loss",
    "total_loss",
]


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
    """L_cls: mean cross-entropy of the seen-class logits (an option, off by default)."""
    return F.cross_entropy(logits, labels)


def semantic_loss(
    s_hat: torch.Tensor, class_vectors: torch.Tensor, labels: torch.Tensor, kind: str, margin: float
) -> torch.Tensor:
    """L_sem of the batch, scored against the S SEEN classes' vectors: the hinge ranking of the own class's
    compatibility s_hat . s_y above every other seen class's by ``margin`` ("ranking"), the softmax cross-entropy
    of the compatibilities ("softmax"), or the squared distance to the own class's vector ("regression"); mean
    over the batch."""
    if kind == "regression":
        return (s_hat - class_vectors[labels]).pow(2).sum(dim=1).mean()
    scores = s_hat @ class_vectors.T  # (N, S) compatibilities with the seen classes
    if kind == "softmax":
        return F.cross_entropy(scores, labels)
    if kind == "ranking":
        own = scores.gather(1, labels[:, None])
        hinge = (margin - own + scores).clamp_min(0.0)
        hinge = hinge.masked_fill(F.one_hot(labels, class_vectors.shape[0]).bool(), 0.0)
        return hinge.sum(dim=1).mean()
    raise ValueError(f"semantic_loss: unknown kind {kind!r} (expected ranking, softmax or regression)")


def center_loss(
    b: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor, mu: float, center_margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The regularized center loss, as (pull, spread): pull = (1/N) sum_i ||b_i - c_{y_i}||^2 / L (codes drawn to
    their class's center); spread = the mean over ordered center pairs j != k of max(0, center_margin -
    ||c_j - c_k||^2 / L) (centers of different classes kept apart). L_ctr = pull + mu spread."""
    n_bits = b.shape[1]
    pull = (b - centers[labels]).pow(2).sum(dim=1).mean() / n_bits
    s = centers.shape[0]
    if s < 2 or mu == 0:
        return pull, torch.zeros((), dtype=b.dtype, device=b.device)
    d2 = torch.cdist(centers, centers).pow(2) / n_bits  # (S, S)
    off = ~torch.eye(s, dtype=torch.bool, device=centers.device)
    spread = (center_margin - d2[off]).clamp_min(0.0).mean()
    return pull, spread


def total_loss(
    l_sem: torch.Tensor,
    l_ctr: torch.Tensor,
    lambda_center: float,
    l_cls: torch.Tensor | None = None,
    lambda_cls: float = 0.0,
) -> torch.Tensor:
    """L = L_sem + lambda_center L_ctr (+ lambda_cls L_cls when the classification option is on)."""
    out = l_sem + lambda_center * l_ctr
    if l_cls is not None and lambda_cls:
        out = out + lambda_cls * l_cls
    return out


class SitNetNet(BackboneNet):
    """The shared backbone with SitNet's hash layer, discrete layer, class centers and semantic head.

    Args:
        p: resolved profile (``backbone``, ``img_size``, ``ste``, ``semantic_loss``, ``margin``, ``lambda_center``,
            ``center_reg``, ``center_margin``, ``lambda_cls``, ``sem_head_init``).
        n_bits: code length L.
        class_vectors: (S, d) semantic vectors of the seen classes (the semantic targets).
    """

    def __init__(self, p: dict[str, Any], n_bits: int, class_vectors: torch.Tensor):
        super().__init__(p)
        self.p = dict(p)
        s, d = class_vectors.shape
        self.register_buffer("class_vectors", class_vectors.float().clone())
        self.hash_layer = nn.Linear(self.num_features, n_bits)
        self.sem_head = nn.Linear(n_bits, d)
        if p["sem_head_init"] == "zeros":  # s_hat starts at 0 (README.md, row "semantic head initialisation")
            nn.init.zeros_(self.sem_head.weight)
            nn.init.zeros_(self.sem_head.bias)
        # one center per seen class, drawn N(0, 1) under the build seed
        self.centers = nn.Parameter(torch.randn(s, n_bits))
        self.cls_head = nn.Linear(n_bits, s) if float(p.get("lambda_cls", 0.0)) > 0 else None

    def relaxed(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """z = W_h f(x) + c_h (B, L): the hash layer's input to the sign."""
        return self.hash_layer(self.features(images_uint8))

    @torch.no_grad()
    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """z in float32; the hasher's codes are sgn(z)."""
        return self.relaxed(images_uint8).float()

    def train_losses(self, images_uint8: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """(L, {"sem", "center", "spread"[, "cls"]: detached parts}) of one batch."""
        p = self.p
        b = sign_ste(self.relaxed(images_uint8), p["ste"]).float()
        s_hat = self.sem_head(b)
        l_sem = semantic_loss(s_hat, self.class_vectors.to(s_hat.dtype), labels, p["semantic_loss"], p["margin"])
        pull, spread = center_loss(b, self.centers, labels, float(p["center_reg"]), float(p["center_margin"]))
        l_ctr = pull + float(p["center_reg"]) * spread
        parts = {"sem": l_sem.detach(), "center": pull.detach(), "spread": spread.detach()}
        l_cls = None
        if self.cls_head is not None:
            l_cls = classification_loss(self.cls_head(b), labels)
            parts["cls"] = l_cls.detach()
        total = total_loss(l_sem, l_ctr, float(p["lambda_center"]), l_cls, float(p.get("lambda_cls", 0.0)))
        return total, parts
