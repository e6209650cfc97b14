"""TBH ("tbh"): Auto-Encoding Twin-Bottleneck Hashing.

Shen, Qin, Chen, Yu, Liu, Zhu, Shao, "Auto-Encoding Twin-Bottleneck Hashing", CVPR 2020. Authors' code (TensorFlow
2): ymcidence/TBH; a PyTorch port in CISiPLab/cisip-FIRe. Fidelity table: ``methods/tbh/README.md``; every
constant: ``profiles.py``.

* network: the shared backbone (`zshbench.train.backbones`, frozen: its pooled features x are TBH's input and its
  reconstruction target), encoder x -> h = relu(W1 x + c1) -> binary bottleneck logits l (K) and continuous
  bottleneck z (L); the binary codes b in {0, 1}^K build the batch graph A_ij = (1 - d_H(b_i, b_j) / K)^p that a
  graph convolution applies to z (Z' = sigmoid(D^-1/2 A D^-1/2 Z W)); the decoder Z' -> x^ reconstructs x;
  two discriminators push b toward Bernoulli(1/2) and Z' toward U(0, 1) (``layers.py``, ``losses.py``);
* encoding: b = 1[sigmoid(l) >= 1/2] = 1[l >= 0] (deterministic, one item at a time: no graph at test time).

UNSUPERVISED: it declares neither labels nor attributes, so the runner shows it neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from zshbench.config import NON_NEG, NON_NEG_INT, POSITIVE
from zshbench.errors import UserError
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, step_scheduler, steps_per_epoch
from zshbench.methods.tbh.layers import GraphConv, binary_bottleneck, hamming_adjacency, reverse
from zshbench.methods.tbh.losses import adversarial_loss, reconstruction_loss
from zshbench.methods.tbh.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["TBHConfig", "TBHHasher", "TBHNet"]

SAMPLING = ("stochastic", "threshold")
REDUCTIONS = ("sum", "mean")


@dataclass
class TBHConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, frozen, CPU, the default) or "paper" (ResNet-101 at 224,
        pre-trained, frozen).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, iterations (optimizer steps; > 0 replaces epochs), batch_size, lr, weight_decay: the budget (Adam).
    backbone_lr_scale: the backbone's learning rate relative to lr (0, both profiles: frozen; > 0 also moves the
        reconstruction target).
    adv_weight: lambda, the weight of the two adversarial regularisers (0 switches them off).
    adj_power: p in A = (1 - d_H / K)^p (1: the paper's formula, 1.4: the authors' code).
    sampling: "stochastic" (eps ~ U(0, 1): the paper) or "threshold" (eps = 1/2: the released code).
    rec_reduction: "sum" (the authors' l2_loss over the batch) or "mean" (divided by the batch size).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    iterations: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    adv_weight: float | None = None
    adj_power: float | None = None
    sampling: Literal["stochastic", "threshold"] | None = None
    rec_reduction: Literal["sum", "mean"] | None = None


class TBHNet(HeadNet):
    """Backbone -> features x -> encoder (binary logits, continuous bottleneck) -> graph convolution -> decoder,
    plus the two discriminators (Linear -> sigmoid, the authors' Dense(1, sigmoid))."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        hidden, cont = int(p["hidden"]), int(p["cont_dim"])
        self.enc_hidden = nn.Sequential(nn.Linear(self.num_features, hidden), nn.ReLU())
        self.enc_binary = nn.Linear(hidden, n_bits)
        self.enc_cont = nn.Linear(hidden, cont)
        self.cont_sigmoid = bool(p["cont_sigmoid"])
        self.gcn = GraphConv(cont)
        self.decoder = nn.Sequential(nn.Linear(cont, hidden), nn.ReLU(), nn.Linear(hidden, self.num_features))
        self.disc_binary = nn.Sequential(nn.Linear(n_bits, 1), nn.Sigmoid())
        self.disc_cont = nn.Sequential(nn.Linear(cont, 1), nn.Sigmoid())

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(binary logits l, continuous bottleneck z) of features ``x``."""
        h = self.enc_hidden(x)
        z = self.enc_cont(h)
        return self.enc_binary(h), torch.sigmoid(z) if self.cont_sigmoid else z

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.pooled(images_uint8))[0]

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)  # 1[sigmoid(l) >= 1/2] = 1[l >= 0]


def tbh_objective(net: TBHNet, x: torch.Tensor, eps, prior_b: torch.Tensor, prior_c: torch.Tensor, p: dict):
    """(L = L_rec + lambda L_adv with the encoder's side reversed, parts) on features ``x`` (losses.py)."""
    logits, z = net.encoder(x)
    b = binary_bottleneck(logits, eps)
    z_conv = net.gcn(z, hamming_adjacency(b, float(p["adj_power"])))
    rec = reconstruction_loss(net.decoder(z_conv), x, str(p["rec_reduction"]))
    adv_b = adversarial_loss(net.disc_binary(reverse(b)), net.disc_binary(prior_b))
    adv_c = adversarial_loss(net.disc_cont(reverse(z_conv)), net.disc_cont(prior_c))
    adv = adv_b + adv_c
    total = rec + float(p["adv_weight"]) * adv
    return total, {"reconstruction": rec.detach(), "adv_binary": adv_b.detach(), "adv_cont": adv_c.detach()}


@register_method("tbh")
class TBHHasher(TorchHasher):
    """TBH (see the module docstring and README.md)."""

    Config = TBHConfig
    version = "1"
    paper = "Shen et al., CVPR 2020"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=False, attributes=False)
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "adv_weight": NON_NEG,
        "adj_power": POSITIVE,
        "weight_decay": NON_NEG,
        "backbone_lr_scale": NON_NEG,
        "lr": POSITIVE,
        "iterations": NON_NEG_INT,
    }
    weights_attr = "backbone"
    timm_name_key = "backbone"

    def validate_config(self) -> None:
        super().validate_config()
        s, r = self.config.sampling, self.config.rec_reduction
        if s is not None and s not in SAMPLING:
            raise UserError(
                f"tbh: sampling must be 'stochastic' (eps ~ U(0, 1): the paper) or 'threshold' (eps = 1/2: the "
                f"authors' released code); got {s!r}. Set it with --set sampling=stochastic."
            )
        if r is not None and r not in REDUCTIONS:
            raise UserError(
                f"tbh: rec_reduction must be 'sum' (the authors' l2_loss over the batch) or 'mean' (divided by the "
                f"batch size); got {r!r}. Set it with --set rec_reduction=sum."
            )

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        if int(p["iterations"]) > 0:  # the authors count optimizer steps: as many epochs as cover them
            p["epochs"] = max(1, math.ceil(int(p["iterations"]) / self._steps_per_epoch))
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return TBHNet(p, self.n_bits)

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, _ = batch  # no labels: the runner hides them (requires.supervised is False)
        x = net.pooled(images).float()
        n, k, c = x.shape[0], self.n_bits, int(p["cont_dim"])
        eps = torch.rand(n, k, generator=generator).to(x.device) if p["sampling"] == "stochastic" else 0.5
        prior_b = (torch.rand(n, k, generator=generator) >= 0.5).float().to(x.device)  # Bernoulli(1/2)
        prior_c = torch.rand(n, c, generator=generator).to(x.device)  # U(0, 1)
        return tbh_objective(net, x, eps, prior_b, prior_c, p)
