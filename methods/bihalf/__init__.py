"""Bi-half Net ("bihalf"): unsupervised hashing by maximizing bit entropy.

Li, van Gemert, "Deep Unsupervised Image Hashing by Maximizing Bit Entropy", AAAI 2021. Authors' code:
liyunqianggyn/Deep-Unsupervised-Image-Hashing. Fidelity table: ``methods/bihalf/README.md``; every constant:
``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled features x, a linear hash layer h = W^T x + c;
* training: B = BiHalf(h) (``layer.py``: per bit, the top half of the batch +1, the bottom half -1; straight-through
  gradient plus gamma (U - B) / (N K)); loss: the squared difference between the cosine similarity of the codes
  and that of the features x over the batch's pairs (i, i + N/2) (``losses.py``);
* encoding: b = sign(h) (one item at a time: no batch statistics at test).

UNSUPERVISED: it declares neither labels nor attributes, so the runner shows it neither (its batches carry no
labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from zshbench.config import NON_NEG
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, step_scheduler, steps_per_epoch
from zshbench.methods.bihalf.layer import bi_half
from zshbench.methods.bihalf.losses import reconstruction_loss, similarity_loss
from zshbench.methods.bihalf.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.train.images import prepare_images
from zshbench.trainset import TrainSet

__all__ = ["BiHalfConfig", "BiHalfHasher", "BiHalfNet"]


@dataclass
class BiHalfConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, optimizer ("sgd" with momentum 0.9, or "adam"), lr, weight_decay: the training budget.
    backbone_lr_scale: the backbone's learning rate relative to lr (0, both profiles' value: frozen backbone).
    gamma: the weight of the Bi-half layer's penalty gradient gamma (U - B) / (N K).
    objective: "similarity" (codes keep the features' cosine similarities: the paper's pre-trained image setting)
        or "reconstruction" (a decoder rebuilds the image from the codes: the paper's from-scratch autoencoder;
        the authors trained it with optimizer=adam lr=1e-3 weight_decay=1e-5 gamma=1 and a trainable encoder,
        backbone_lr_scale=1).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: Literal["sgd", "adam"] | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    gamma: float | None = None
    objective: Literal["similarity", "reconstruction"] | None = None


class BiHalfNet(HeadNet):
    """Backbone -> pooled features x -> linear hash layer h (K); training codes: BiHalf(h), encoding: sign(h).
    With ``objective="reconstruction"`` also the decoder b -> image logits (the authors' autoencoder: linear,
    ReLU, linear) and the [0, 1] pixel targets at ``recon_size`` x ``recon_size``."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        self.decoder = None
        self.recon_size = int(p.get("recon_size", 0))
        if p["objective"] == "reconstruction":
            r, hidden = int(p["recon_size"]), int(p["decoder_hidden"])
            self.decoder = nn.Sequential(nn.Linear(n_bits, hidden), nn.ReLU(), nn.Linear(hidden, 3 * r * r))
            self.register_buffer("pixel_zero", torch.zeros(1, 3, 1, 1), persistent=False)
            self.register_buffer("pixel_one", torch.ones(1, 3, 1, 1), persistent=False)

    def pixels(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, 3 R R) reconstruction targets: the images in [0, 1] at R = recon_size, flattened."""
        return prepare_images(images_uint8, self.recon_size, self.pixel_zero, self.pixel_one).flatten(1)

    def forward(self, images_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features x, continuous codes h)."""
        x = self.pooled(images_uint8)
        return x, self.hash_fc(x)

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)[1]


@register_method("bihalf")
class BiHalfHasher(TorchHasher):
    """Bi-half (see the module docstring and README.md)."""

    Config = BiHalfConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=False, attributes=False)
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {"gamma": NON_NEG, "weight_decay": NON_NEG, "backbone_lr_scale": NON_NEG}
    weights_attr = "backbone"  # the timm CNN inside the shared BackboneNet
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return BiHalfNet(p, self.n_bits)

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, _ = batch  # no labels: the runner hides them (requires.supervised is False)
        x, h = net(images)
        b = bi_half(h, float(p["gamma"]))
        flipped = (b != torch.sign(h)).float().mean().detach()  # bits where the half-half rule overrides the sign
        if p["objective"] == "reconstruction":
            loss = reconstruction_loss(net.decoder(b).float(), net.pixels(images))
            return loss, {"reconstruction": loss.detach(), "flipped": flipped}
        loss = similarity_loss(x.float(), b.float())
        return loss, {"similarity": loss.detach(), "flipped": flipped}
