"""DCH: Deep Cauchy Hashing ("dch"), a supervised pairwise deep hashing baseline (RAZH Table II).

Cao, Long, Liu, Wang, "Deep Cauchy Hashing for Hamming Space Retrieval", CVPR 2018. Authors' code:
thulab/DeepHash (TensorFlow); a widely used re-implementation: swuxyj/DeepHash-pytorch ``DCH.py``. zshbench
follows the PAPER; README.md gives one verdict per equation and what the public code does differently.

* network: the shared backbone of every deep baseline (`zshbench.train.backbones`) and one fch layer with tanh
  (K units); code = sgn(h);
* loss (eq. 7): the Cauchy cross-entropy on the normalised Hamming-distance proxy of eq. 6 with the pair
  weights of eq. 2 (eq. 8), plus lambda times the Cauchy quantization loss (eq. 9), over the pairs of each
  mini-batch;
* trained on the SEEN classes only (labels: ``supervised=True``; no attributes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zshbench.config import NON_NEG, POSITIVE
from zshbench.hasher import Requirements
from zshbench.methods.dch.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig

__all__ = ["DCHConfig", "DCHHasher"]


@dataclass
class DCHConfig(TorchHasherConfig):
    """None = the profile's value (profiles.py); max_steps, deterministic, progress: the training loop's.

    Attributes:
        profile: "tiny" (resnet10t at 32 x 32 from random init, CPU; the default) or "paper" (ResNet-101 at 224,
            ImageNet weights, COMAE Sec. 4.1.4's baseline setting).
        weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
        epochs, batch_size, lr, weight_decay: the Adam training budget.
        gamma: scale of the Cauchy distribution (eq. 4, 5; > 0).
        lambda_q: weight of the Cauchy quantization loss (eq. 7; >= 0).
        dist_eps: smallest value of the distance of eq. 6 inside the logs (> 0).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    gamma: float | None = None
    lambda_q: float | None = None
    dist_eps: float | None = None


@register_method("dch")
class DCHHasher(TorchHasher):
    """Deep Cauchy Hashing (see the module docstring and README.md)."""

    Config = DCHConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels; no attributes
    profiles = PROFILES
    config_rules = {"gamma": POSITIVE, "lambda_q": NON_NEG, "dist_eps": POSITIVE, "weight_decay": NON_NEG}
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    weights_attr = "backbone"  # the timm CNN inside the network
    timm_name_key = "backbone"  # "pretrained" = timm's weights of the profile's backbone

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        from zshbench.methods.dch.model import DCHNet

        return DCHNet(p, self.n_bits)

    def loss(self, net, batch, p: dict[str, Any], generator):
        from zshbench.methods.dch.losses import dch_loss

        images, labels = batch
        return dch_loss(net(images), labels, p["gamma"], p["lambda_q"], p["dist_eps"])
