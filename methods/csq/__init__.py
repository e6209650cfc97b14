"""CSQ: Central Similarity Quantization ("csq"), a supervised deep hashing baseline of COMAE Table 1.

Yuan, Wang, Zhang, Tay, Jie, Liu, Feng, "Central Similarity Quantization for Efficient Image and Video
Retrieval", CVPR 2020. Authors' code: yuanli2333/Hadamard-Matrix-for-hashing; re-implementations:
swuxyj/DeepHash-pytorch ``CSQ.py``, CISiPLab/cisip-FIRe (``csq``). zshbench follows the PAPER; README.md gives one
verdict per equation and what the public code does differently.

* hash centres: one per SEEN class only (the TrainSet's classes; an unseen class never gets one): the rows of a
  Hadamard matrix when K is a power of 2 and there are at most 2K seen classes, Bernoulli(0.5) bits otherwise
  (`zshbench.methods.csq.centres`);
* network: the shared backbone of every deep baseline (`zshbench.train.backbones`) and a linear hash layer with
  tanh; code = sgn(h);
* loss: binary cross-entropy between the code and its class's centre (both mapped to [0, 1]) plus lambda_1
  times the quantization loss log cosh(|h| - 1);
* labels: ``supervised=True``; no attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zshbench.config import NON_NEG
from zshbench.hasher import Requirements
from zshbench.methods.csq.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["CSQConfig", "CSQHasher"]


@dataclass
class CSQConfig(TorchHasherConfig):
    """None = the profile's value (profiles.py); max_steps, deterministic, progress: the training loop's.

    Attributes:
        profile: "tiny" (resnet10t at 32 x 32 from random init, CPU; the default) or "paper" (ResNet-101 at 224,
            ImageNet weights, COMAE Sec. 4.1.4's baseline setting).
        weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
        epochs, batch_size, lr, weight_decay: the Adam training budget.
        lambda_q: lambda_1, the weight of the quantization loss (>= 0).
        quantization: "logcosh" (the paper's log cosh(|h| - 1)) or "square" (the public code's (|h| - 1)^2).
        centres: "auto" (the paper's rule: Hadamard rows when K is a power of 2 and there are at most 2K seen
            classes, Bernoulli(0.5) bits otherwise) or "bernoulli" (random centres at any K).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    lambda_q: float | None = None
    quantization: Literal["logcosh", "square"] | None = None
    centres: Literal["auto", "bernoulli"] | None = None


@register_method("csq")
class CSQHasher(TorchHasher):
    """Central Similarity Quantization (see the module docstring and README.md)."""

    Config = CSQConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels; no attributes
    profiles = PROFILES
    config_rules = {"lambda_q": NON_NEG, "weight_decay": NON_NEG}
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    weights_attr = "backbone"  # the timm CNN inside the network
    timm_name_key = "backbone"  # "pretrained" = timm's weights of the profile's backbone

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """One hash centre per SEEN class (the TrainSet holds no other class), kept by the network as a buffer."""
        import torch

        from zshbench.methods.csq.centres import hash_centres

        centres, kind = hash_centres(train.n_classes, self.n_bits, self.config.seed, p["centres"])
        self.centre_kind_ = kind
        return {"centres": torch.from_numpy(centres)}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        from zshbench.methods.csq.model import CSQNet

        return CSQNet(p, self.n_bits, data["centres"])

    def loss(self, net, batch, p: dict[str, Any], generator):
        from zshbench.methods.csq.losses import csq_loss

        images, labels = batch
        return csq_loss(net(images), net.centres[labels], p["lambda_q"], p["quantization"])

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        from zshbench.methods.csq.centres import centre_distances

        d_min, d_mean = centre_distances(net.centres.cpu().numpy())
        return {
            "centres": self.centre_kind_,
            "n_seen_classes": int(net.centres.shape[0]),
            "centre_min_distance": d_min,
            "centre_mean_distance": round(d_mean, 4),
        }
