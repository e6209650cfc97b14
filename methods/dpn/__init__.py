"""DPN: Deep Polarized Network ("dpn").

Fan, Ng, Ju, Zhang, Chan, "Deep Polarized Network for Supervised Learning of Accurate Binary Hashing Codes",
IJCAI 2020. Authors' code: kamwoh/DPN. Fidelity table: ``methods/dpn/README.md``; every constant: ``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled, then a linear hash layer: v = W^T f(x)
  (K outputs, no activation); codes b = sign(v);
* target codes: one random {-1, +1}^K code t_c per SEEN class (``codes=bernoulli``; ``codes=spread`` keeps them
  mutually distant), drawn from the seed before training and fixed;
* loss: the polarization loss (1/B) sum_n sum_k max(0, m - v_nk t_{y_n,k}) with margin m (``losses.py``), plus
  ``reg`` * mean(v^2) (0 by default; the FIRe / COMAE template's 0.1 is an option).

Supervised (reads the seen-class labels), no attributes: a supervised hashing baseline in the zero-shot setting,
as COMAE's Table 1 runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from zshbench.config import NON_NEG
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, class_codes, step_scheduler, steps_per_epoch
from zshbench.methods.dpn.losses import polarization_loss
from zshbench.methods.dpn.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["DPNConfig", "DPNHasher", "DPNNet"]


@dataclass
class DPNConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, lr, weight_decay: the training budget (optimizer and schedule: profiles.py).
    backbone_lr_scale: the backbone's learning rate relative to lr (0 freezes the backbone).
    margin: the margin m of the polarization loss.
    reg: weight of mean(v^2) added to the loss (not in the paper; FIRe's template uses 0.1).
    codes: the seen classes' target codes: "bernoulli" (random bits), "spread" (mutually distant codes) or
        "hadamard" (orthogonal rows of a Hadamard matrix; bits a power of 2, at least the number of seen classes).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    margin: float | None = None
    reg: float | None = None
    codes: Literal["bernoulli", "spread", "hadamard"] | None = None


class DPNNet(HeadNet):
    """Backbone -> pooled features -> linear hash layer (K outputs v); ``targets`` (S, K): the seen-class codes."""

    def __init__(self, p: dict[str, Any], n_bits: int, targets: torch.Tensor):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        nn.init.normal_(self.hash_fc.weight, std=float(p["hash_init_std"]))
        self.register_buffer("targets", targets.float().clone())

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.hash_fc(self.pooled(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


@register_method("dpn")
class DPNHasher(TorchHasher):
    """DPN (see the module docstring and README.md)."""

    Config = DPNConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {"margin": NON_NEG, "reg": NON_NEG, "weight_decay": NON_NEG, "backbone_lr_scale": NON_NEG}
    weights_attr = "backbone"  # the timm CNN inside the shared BackboneNet
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The SEEN classes' target codes, drawn from the seed (TrainSet holds no other class)."""
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        n_seen = len(train.class_names)
        return {"targets": class_codes(n_seen, self.n_bits, p["codes"], self.config.seed, owner=self.name)}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return DPNNet(p, self.n_bits, data["targets"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels = batch
        v = net(images)
        polar = polarization_loss(v, net.targets[labels], float(p["margin"]))
        reg = v.pow(2).mean()
        total = polar + float(p["reg"]) * reg if p["reg"] else polar
        return total, {"polarization": polar.detach(), "reg": reg.detach()}

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        t = net.targets
        same = (t[:, None, :] == t[None, :, :]).all(dim=2).float().sum().item() - t.shape[0]
        return {"n_seen_classes": int(t.shape[0]), "target_code_collisions": int(same // 2)}
