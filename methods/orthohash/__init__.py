"""OrthoHash, OrthoCos form ("orthohash"; COMAE's Table 1 row "OrthoCos").

Hoe, Ng, Zhang, Chan, Song, Xiang, "One Loss for All: Deep Hashing with a Single Cosine Similarity based Learning
Objective", NeurIPS 2021. Authors' code: kamwoh/orthohash (also in CISiPLab/cisip-FIRe, on which COMAE's published
code is built: its hash loss is this one with learnable centres). Fidelity table: ``methods/orthohash/README.md``;
every constant: ``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled, a linear hash layer without bias and a
  BatchNorm layer (code balance): v = BN(W^T f(x)); codes b = sign(v) (BN with its running statistics);
* codebook: one {-1, +1}^K code o_c per SEEN class (``codes=bernoulli``; ``codes=spread`` keeps them mutually
  distant), drawn from the seed before training and fixed;
* loss: the cosine-margin softmax cross-entropy over cos(v, o_c) with scale s and margin m (``losses.py``): the
  single objective; the authors' optional cosine quantization term 1 - cos(v, sign(v)) has the weight ``quan``
  (0 by default, as in their code).

Supervised (reads the seen-class labels), no attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from zshbench.config import NON_NEG, POSITIVE
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, class_codes, step_scheduler, steps_per_epoch
from zshbench.methods.orthohash.losses import cosine_logits, orthocos_loss, quantization_loss
from zshbench.methods.orthohash.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["OrthoHashConfig", "OrthoHashHasher", "OrthoHashNet"]


@dataclass
class OrthoHashConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, lr, weight_decay: the training budget (optimizer and schedule: profiles.py).
    backbone_lr_scale: the backbone's learning rate relative to lr (0 freezes the backbone).
    scale: s, the scale of the cosine logits. margin: m, the additive cosine margin of the true class.
    quan: weight of the optional quantization term mean(1 - cos(v, sign(v))) (0: the single objective).
    codes: the seen classes' codebook: "bernoulli" (random bits), "spread" (mutually distant codes) or "hadamard"
        (orthogonal rows of a Hadamard matrix; bits a power of 2, at least the number of seen classes).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    scale: float | None = None
    margin: float | None = None
    quan: float | None = None
    codes: Literal["bernoulli", "spread", "hadamard"] | None = None


class OrthoHashNet(HeadNet):
    """Backbone -> pooled features -> linear (no bias) -> BatchNorm1d: v (K); ``codebook`` (S, K): seen classes."""

    def __init__(self, p: dict[str, Any], n_bits: int, codebook: torch.Tensor):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        nn.init.normal_(self.hash_fc.weight, std=float(p["hash_init_std"]))
        self.hash_bn = nn.BatchNorm1d(n_bits, momentum=float(p["bn_momentum"]))
        self.register_buffer("codebook", codebook.float().clone())

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.hash_bn(self.hash_fc(self.pooled(images_uint8)))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


@register_method("orthohash")
class OrthoHashHasher(TorchHasher):
    """OrthoHash / OrthoCos (see the module docstring and README.md)."""

    Config = OrthoHashConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "scale": POSITIVE,
        "margin": NON_NEG,
        "quan": NON_NEG,
        "weight_decay": NON_NEG,
        "backbone_lr_scale": NON_NEG,
    }
    weights_attr = "backbone"  # the timm CNN inside the shared BackboneNet
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The SEEN classes' codebook, drawn from the seed (TrainSet holds no other class)."""
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        n_seen = len(train.class_names)
        return {"codebook": class_codes(n_seen, self.n_bits, p["codes"], self.config.seed, owner=self.name)}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return OrthoHashNet(p, self.n_bits, data["codebook"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels = batch
        v = net(images).float()
        cos = cosine_logits(v, net.codebook)
        ce = orthocos_loss(cos, labels, float(p["scale"]), float(p["margin"]))
        quan = quantization_loss(v)
        total = ce + float(p["quan"]) * quan if p["quan"] else ce
        acc = (cos.argmax(dim=1) == labels).float().mean()
        return total, {"ce": ce.detach(), "quan": quan.detach(), "code_acc": acc.detach()}

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {"n_seen_classes": int(net.codebook.shape[0])}
