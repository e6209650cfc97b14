"""JMLH: "Embarrassingly Simple Binary Representation Learning" ("jmlh"), a supervised baseline of COMAE Table 1.

Shen, Qin, Chen, Liu, Zhu, Shen, ICCV Workshops 2019. Public code: the authors' TensorFlow version (ymcidence/TBH,
``model/jmlh.py``, ``train/jmlh_train.py``) and CISiPLab/cisip-FIRe's PyTorch one (``models/architectures/
arch_jmlh.py``, ``functions/loss/jmlh.py``). Fidelity table: ``methods/jmlh/README.md``; every constant:
``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled, a linear hash layer z = W^T f(x) + c, bit
  probabilities q = sigmoid(z);
* stochastic binary bottleneck: b = 1[q > eps], eps ~ U(0, 1) in training (Bernoulli(q) codes), gradient straight
  through the threshold (`losses.stochastic_bits`);
* loss: cross-entropy of a linear classifier on b over the SEEN classes + ``kl_weight`` * KL(q || Bernoulli(1/2))
  (`losses.kl_to_half`);
* codes: deterministic, b = 1[q > 1/2] = sign(z) (the encode path returns z).

Supervised (reads the seen-class labels), no attributes: the classifier has one output per seen class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from zshbench.config import NON_NEG
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, step_scheduler, steps_per_epoch
from zshbench.methods.jmlh.losses import kl_to_half, stochastic_bits
from zshbench.methods.jmlh.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["JMLHConfig", "JMLHHasher", "JMLHNet"]


@dataclass
class JMLHConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, lr, weight_decay: the training budget (optimizer and schedule: profiles.py).
    backbone_lr_scale: the backbone's learning rate relative to lr (0 freezes the backbone).
    kl_weight: weight of the KL regulariser to the Bernoulli(1/2) prior (>= 0; 0 leaves the classifier alone).
    stochastic: Bernoulli codes in training (eps ~ U(0, 1)); false: the deterministic threshold 1/2 throughout.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    kl_weight: float | None = None
    stochastic: bool | None = None


class JMLHNet(HeadNet):
    """Backbone -> pooled features -> hash layer (K logits z) -> {0, 1} bottleneck -> classifier (S seen classes)."""

    def __init__(self, p: dict[str, Any], n_bits: int, n_classes: int):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        nn.init.normal_(self.hash_fc.weight, std=float(p["hash_init_std"]))
        if self.hash_fc.bias is not None:
            nn.init.zeros_(self.hash_fc.bias)
        self.cls_fc = nn.Linear(n_bits, int(n_classes))

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """The hash layer's logits z (B, K); q = sigmoid(z)."""
        return self.hash_fc(self.pooled(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """z: the code bit is 1 exactly when q = sigmoid(z) > 1/2, i.e. z > 0 (deterministic codes)."""
        with torch.no_grad():
            return self(images_uint8)


@register_method("jmlh")
class JMLHHasher(TorchHasher):
    """JMLH (see the module docstring and README.md)."""

    Config = JMLHConfig
    version = "1"
    paper = "Shen et al., ICCV Workshops 2019"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {"kl_weight": NON_NEG, "weight_decay": NON_NEG, "backbone_lr_scale": NON_NEG}
    weights_attr = "backbone"
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The classifier's size: one output per SEEN class (saved in ``p``: a loaded model is rebuilt with it)."""
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        p["n_classes"] = len(train.class_names)
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return JMLHNet(p, self.n_bits, p["n_classes"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels = batch
        z = net(images).float()
        q = torch.sigmoid(z)
        if p["stochastic"]:
            eps = torch.rand(q.shape, generator=generator).to(q.device)
        else:
            eps = torch.full_like(q, 0.5)
        b = stochastic_bits(q, eps)
        ce = F.cross_entropy(net.cls_fc(b), labels)
        kl = kl_to_half(q)
        total = ce + float(p["kl_weight"]) * kl
        return total, {"ce": ce.detach(), "kl": kl.detach()}

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {"n_seen_classes": int(p["n_classes"])}
