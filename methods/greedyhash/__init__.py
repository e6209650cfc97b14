"""GreedyHash ("greedyhash"), a supervised deep hashing baseline of COMAE Table 1.

Su, Zhang, Han, Tian, "Greedy Hash: Towards Fast Optimization for Accurate Hash Coding in CNN", NeurIPS 2018.
Authors' code: ssppp/GreedyHash (PyTorch); re-implementations: swuxyj/DeepHash-pytorch ``GreedyHash.py``,
CISiPLab/cisip-FIRe (``sup`` GreedyHash). zshbench follows the PAPER; README.md gives one verdict per equation
and what the public code does differently.

* network: the shared backbone of every deep baseline (`zshbench.train.backbones`), a linear hash layer h, the
  greedy sign layer (sgn forward, identity backward) and a linear classification layer on the codes b;
* loss (supervised variant): softmax cross-entropy on the codes plus alpha || |h| - 1 ||_3^3;
* trained on the SEEN classes only: the classification layer has one output per seen class (labels:
  ``supervised=True``; no attributes). It is not used to encode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zshbench.config import NON_NEG, POSITIVE
from zshbench.hasher import Requirements
from zshbench.methods.greedyhash.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["GreedyHashConfig", "GreedyHashHasher"]


@dataclass
class GreedyHashConfig(TorchHasherConfig):
    """None = the profile's value (profiles.py); max_steps, deterministic, progress: the training loop's.

    Attributes:
        profile: "tiny" (resnet10t at 32 x 32 from random init, CPU; the default) or "paper" (ResNet-101 at 224,
            ImageNet weights, COMAE Sec. 4.1.4's baseline setting).
        weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
        epochs, batch_size, lr, weight_decay: the Adam training budget.
        alpha: weight of the penalty || |h| - 1 ||_p^p (>= 0).
        power: p of the penalty (> 0; the paper's 3).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    alpha: float | None = None
    power: float | None = None


@register_method("greedyhash")
class GreedyHashHasher(TorchHasher):
    """GreedyHash, supervised (see the module docstring and README.md)."""

    Config = GreedyHashConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels; no attributes
    profiles = PROFILES
    config_rules = {"alpha": NON_NEG, "power": POSITIVE, "weight_decay": NON_NEG}
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    weights_attr = "backbone"  # the timm CNN inside the network
    timm_name_key = "backbone"  # "pretrained" = timm's weights of the profile's backbone

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The classification layer's size: the number of SEEN classes (saved with the model)."""
        p["n_classes"] = int(train.n_classes)
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        from zshbench.methods.greedyhash.model import GreedyHashNet

        return GreedyHashNet(p, self.n_bits)

    def loss(self, net, batch, p: dict[str, Any], generator):
        from zshbench.methods.greedyhash.losses import greedyhash_loss

        images, labels = batch
        logits, h = net(images)
        return greedyhash_loss(logits, labels, h, p["alpha"], p["power"])

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {"n_seen_classes": int(p["n_classes"])}
