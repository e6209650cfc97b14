"""CIBHash ("cibhash"): unsupervised hashing with a contrastive information bottleneck.

Qiu, Su, Ouyang, Chen, "Unsupervised Hashing with Contrastive Information Bottleneck", IJCAI 2021. Authors' code:
qiuzx2/CIBHash. Fidelity table: ``methods/cibhash/README.md``; every constant: ``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled features x, an encoder MLP
  f(x) = W2 relu(W1 x + c1) + c2 (K outputs), bit probabilities q = sigmoid(f(x));
* training: two augmented views of every image (``augment.py``), codes b = sign(q - u) with a straight-through
  gradient (u ~ U(0, 1), or u = 1/2 with ``sampling="threshold"``), loss NT-Xent(b^(1), b^(2)) + beta times the
  symmetric Bernoulli KL between the views' q (``losses.py``);
* encoding: b = sign(q - 1/2) = sign(f(x)) (deterministic, one item at a time).

UNSUPERVISED: it declares neither labels nor attributes, so the runner shows it neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from zshbench.config import NON_NEG, POSITIVE
from zshbench.errors import UserError
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, step_scheduler, steps_per_epoch
from zshbench.methods.cibhash.augment import two_views
from zshbench.methods.cibhash.losses import cibhash_loss, stochastic_sign
from zshbench.methods.cibhash.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["CIBHashConfig", "CIBHashHasher", "CIBHashNet"]

SAMPLING = ("stochastic", "threshold")


@dataclass
class CIBHashConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, trained, CPU, the default) or "paper" (ResNet-101 at 224,
        pre-trained, frozen).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, lr, weight_decay: the training budget (Adam).
    backbone_lr_scale: the backbone's learning rate relative to lr (0 freezes it: the paper profile).
    temperature: tau of the contrastive loss; beta: the weight of the KL term.
    sampling: "stochastic" (b = sign(q - u), u ~ U(0, 1): the paper) or "threshold" (b = sign(q - 1/2): the
        authors' code).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    temperature: float | None = None
    beta: float | None = None
    sampling: Literal["stochastic", "threshold"] | None = None


class CIBHashNet(HeadNet):
    """Backbone -> pooled features -> encoder MLP -> logits f(x) (K); q = sigmoid(f(x))."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        hidden = int(p["hidden"])
        self.encoder = nn.Sequential(nn.Linear(self.num_features, hidden), nn.ReLU(), nn.Linear(hidden, n_bits))

    def logits_of_views(self, views_unit: torch.Tensor) -> torch.Tensor:
        """Logits f(x) of augmented float views in [0, 1] (B, 3, S, S): normalised, through the backbone."""
        x = (views_unit - self.mean) / self.std
        if self.frozen_backbone:
            with torch.no_grad():
                feats = self.backbone(x)
        else:
            feats = self.backbone(x)
        return self.encoder(feats)

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.pooled(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)  # sign(sigmoid(f) - 1/2) = sign(f)


@register_method("cibhash")
class CIBHashHasher(TorchHasher):
    """CIBHash (see the module docstring and README.md)."""

    Config = CIBHashConfig
    version = "2"  # 2: tiny budget 1 -> 8 epochs (the fashion learning curve, README.md)
    paper = "Qiu et al., IJCAI 2021"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=False, attributes=False)
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "temperature": POSITIVE,
        "beta": NON_NEG,
        "weight_decay": NON_NEG,
        "backbone_lr_scale": NON_NEG,
        "lr": POSITIVE,
    }
    weights_attr = "backbone"
    timm_name_key = "backbone"

    def validate_config(self) -> None:
        super().validate_config()
        s = self.config.sampling
        if s is not None and s not in SAMPLING:
            raise UserError(
                f"cibhash: sampling must be 'stochastic' (b = sign(q - u), u uniform: the paper) or 'threshold' "
                f"(b = sign(q - 1/2): the authors' code); got {s!r}. Set it with --set sampling=stochastic."
            )

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        for key in ("jitter_p", "grey_p", "blur_p"):
            if not 0.0 <= float(p[key]) <= 1.0:
                raise UserError(f"cibhash: the profile value {key} must be a probability in [0, 1]; got {p[key]}.")
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return CIBHashNet(p, self.n_bits)

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, _ = batch  # no labels: the runner hides them (requires.supervised is False)
        v1, v2 = two_views(images, p, generator, net.mean.device)
        q1 = torch.sigmoid(net.logits_of_views(v1).float())
        q2 = torch.sigmoid(net.logits_of_views(v2).float())
        if p["sampling"] == "stochastic":
            u1 = torch.rand(q1.shape, generator=generator).to(q1.device)
            u2 = torch.rand(q2.shape, generator=generator).to(q2.device)
        else:
            u1 = u2 = 0.5
        b1, b2 = stochastic_sign(q1, u1), stochastic_sign(q2, u2)
        total, con, kl = cibhash_loss(q1, q2, b1, b2, float(p["temperature"]), float(p["beta"]))
        return total, {"contrastive": con.detach(), "kl": kl.detach()}
