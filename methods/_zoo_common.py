"""Pieces shared by the deep baselines ``dpn``, ``orthohash`` and ``bihalf`` (one implementation each).

* `HeadNet`: the shared `BackboneNet` (``zshbench.train.backbones``) with a frozen-backbone switch: a profile with
  ``backbone_lr_scale = 0`` freezes the CNN (no gradients, BatchNorm kept in eval mode, features computed without
  a graph), as the published code of Bi-half and FIRe's Bi-half / DPN templates do;
* `class_codes`: one {-1, +1} target code per SEEN class (DPN's target codes, OrthoHash's codebook), drawn from a
  seeded generator: ``bernoulli`` (every bit +-1 with probability 1/2) or ``spread`` (random codes kept only when
  far enough, in normalised Hamming distance, from the codes already drawn: the authors' "optimize" option) or
  ``hadamard`` (the first rows of the Sylvester Hadamard matrix: exactly orthogonal; K a power of 2, classes <= K);
* `build_optimizer`: Adam or SGD over the trainable parameters, the backbone's learning rate scaled by
  ``backbone_lr_scale``;
* `step_scheduler`: the learning rate multiplied by ``lr_gamma`` at the fractions ``lr_milestones`` of the training
  steps (the published codes' StepLR / MultiStepLR), stepped after every optimizer step.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from zshbench.errors import UserError
from zshbench.train.backbones import BackboneNet

__all__ = ["HeadNet", "class_codes", "hadamard_codes", "build_optimizer", "step_scheduler", "steps_per_epoch"]

CODE_METHODS = ("bernoulli", "spread", "hadamard")
SPREAD_START, SPREAD_STEP, SPREAD_TRIES = 0.61, 0.01, 10_000  # the authors' initdist, reducedist, maxtries


class HeadNet(BackboneNet):
    """`BackboneNet` (``backbone`` = the timm CNN, where the weights policy loads) for a hash head on top.

    Args:
        p: the resolved profile: ``backbone``, ``img_size`` and ``backbone_lr_scale`` (0 freezes the CNN).
    """

    def __init__(self, p: dict[str, Any]):
        super().__init__(p)
        self.frozen_backbone = float(p["backbone_lr_scale"]) == 0.0
        if self.frozen_backbone:
            for q in self.backbone.parameters():
                q.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen_backbone:  # a frozen CNN keeps its BatchNorm statistics: training features = encoding ones
            self.backbone.eval()
        return self

    def pooled(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, num_features) pooled backbone features (without a graph when the backbone is frozen)."""
        if self.frozen_backbone:
            with torch.no_grad():
                return self.features(images_uint8)
        return self.features(images_uint8)


def class_codes(n_classes: int, n_bits: int, method: str, seed: int, *, owner: str) -> torch.Tensor:
    """(n_classes, n_bits) float codes in {-1, +1}, one per SEEN class, drawn with ``seed``.

    ``bernoulli``: i.i.d. bits, P(+1) = 1/2 (DPN's "random codes", OrthoHash's default codebook).
    ``spread``: the codes are drawn one class at a time; the first of 10,000 random candidates whose normalised
    Hamming distance to every kept code is at least d is kept, starting at d = 0.61; when none is, d drops by 0.01
    (down to 0, where any candidate is kept) and 10,000 new candidates are drawn; the rows are finally shuffled.
    The idea of the authors' ``--centroid-method O`` / ``--codebook-method O`` (FIRe's ``cent_init: M``), which
    counts the 10,000 rejections across classes, one candidate at a time.
    ``hadamard``: the first ``n_classes`` rows of the Sylvester Hadamard matrix of order ``n_bits`` (any two rows
    differ in exactly K/2 bits: orthogonal codes); needs K a power of 2 and at most K classes (no seed involved).
    """
    if method not in CODE_METHODS:
        raise UserError(
            f"{owner}: the class codes must be one of {', '.join(CODE_METHODS)}; got {method!r}. "
            f"Set them with --set codes=bernoulli (random bits), --set codes=spread (mutually distant codes) or "
            f"--set codes=hadamard (orthogonal rows of a Hadamard matrix)."
        )
    if method == "hadamard":
        return hadamard_codes(n_classes, n_bits, owner=owner)
    g = torch.Generator().manual_seed(int(seed))
    if method == "bernoulli":
        return torch.randint(0, 2, (n_classes, n_bits), generator=g).float() * 2.0 - 1.0
    codes = torch.empty(n_classes, n_bits)
    dist = SPREAD_START
    for i in range(n_classes):
        while True:
            cand = torch.randint(0, 2, (SPREAD_TRIES, n_bits), generator=g).float() * 2.0 - 1.0
            if i == 0:
                codes[0] = cand[0]
                break
            # normalised Hamming distance of every candidate to its nearest kept code
            nearest = ((n_bits - cand @ codes[:i].T) / (2.0 * n_bits)).min(dim=1).values
            ok = torch.nonzero(nearest >= dist - 1e-9)
            if len(ok):
                codes[i] = cand[int(ok[0, 0])]
                break
            dist = max(0.0, dist - SPREAD_STEP)
    return codes[torch.randperm(n_classes, generator=g)]


def hadamard_codes(n_classes: int, n_bits: int, *, owner: str) -> torch.Tensor:
    """(n_classes, n_bits) float: the first ``n_classes`` rows of the Sylvester Hadamard matrix H_K (H_1 = [1],
    H_2k = [[H_k, H_k], [H_k, -H_k]]), mutually orthogonal. `UserError` unless K is a power of 2 and
    ``n_classes <= n_bits``."""
    k, c = int(n_bits), int(n_classes)
    if k < 1 or k & (k - 1) or c > k:
        need = 1 << max(c - 1, 0).bit_length()  # the smallest power of 2 >= c
        raise UserError(
            f"{owner}: codes=hadamard needs the number of bits to be a power of 2 and at least the number of seen "
            f"classes ({c}); got {k} bits. Use --bits {need} (or another power of 2 >= {c}) or --set codes=bernoulli."
        )
    h = torch.ones(1, 1)
    while h.shape[0] < k:
        h = torch.cat([torch.cat([h, h], dim=1), torch.cat([h, -h], dim=1)], dim=0)
    return h[:c].clone()


def build_optimizer(net: nn.Module, p: dict[str, Any]):
    """``p["optimizer"]`` ("adam" or "sgd", momentum ``p["momentum"]``) with ``lr`` and ``weight_decay`` over every
    trainable parameter; the backbone's get ``lr * backbone_lr_scale`` (none when it is 0: frozen)."""
    backbone = [q for n, q in net.named_parameters() if n.startswith("backbone.") and q.requires_grad]
    head = [q for n, q in net.named_parameters() if not n.startswith("backbone.") and q.requires_grad]
    lr = float(p["lr"])
    groups = [{"params": head, "lr": lr}]
    if backbone and float(p["backbone_lr_scale"]) > 0:
        groups.insert(0, {"params": backbone, "lr": lr * float(p["backbone_lr_scale"])})
    wd = float(p.get("weight_decay", 0.0))
    if p["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(p["momentum"]), weight_decay=wd)
    if p["optimizer"] == "adam":
        return torch.optim.Adam(groups, lr=lr, weight_decay=wd)
    raise UserError(f"optimizer must be 'adam' or 'sgd'; got {p['optimizer']!r} (a profile value).")


def steps_per_epoch(n_items: int, batch_size: int) -> int:
    """Optimizer steps of one epoch of `ShuffledBatches` (a last batch of one item is dropped)."""
    full, rest = divmod(int(n_items), int(batch_size))
    return full + (1 if rest >= 2 else 0)


def step_scheduler(optimizer, p: dict[str, Any], n_steps_per_epoch: int):
    """A `LambdaLR` multiplying every group's learning rate by ``lr_gamma`` at each fraction in ``lr_milestones``
    of the ``epochs * n_steps_per_epoch`` training steps; None when there are no milestones."""
    fractions = [float(f) for f in p.get("lr_milestones", ())]
    if not fractions:
        return None
    total = int(p["epochs"]) * int(n_steps_per_epoch)
    marks = sorted(round(f * total) for f in fractions)
    gamma = float(p["lr_gamma"])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: gamma ** sum(step >= m for m in marks))
