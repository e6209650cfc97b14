"""DSDH: Deep Supervised Discrete Hashing ("dsdh").

Li, Sun, He, Tan, "Deep Supervised Discrete Hashing", NeurIPS 2017 (RAZH Table II). Authors' release:
liqi-casia/DSDH-HashingCode (MATLAB / MatConvNet). Fidelity table: ``methods/dsdh/README.md``; every constant:
``profiles.py``; the three steps as functions: ``losses.py``.

* network: the shared backbone (`zshbench.train.backbones`), pooled, then a linear hash layer: u = F(x) (L
  outputs, no activation); codes b = sgn(u);
* objective: the pairwise likelihood of DPSH on Theta_ij = u_i^T u_j / 2, plus mu ||y_i - W^T b_i||^2 (the codes
  classify the SEEN classes linearly), nu ||W||^2 and the quantisation term eta ||b_i - u_i||^2, with B discrete;
* training: every step alternates (1) the B-step for all training items by discrete cyclic coordinate descent
  (SDH's DCC) on P = Y W^T + (eta / mu) U, (2) the W-step W = (B^T B + nu / mu I)^{-1} B^T Y, (3) a gradient step of
  the network on the likelihood and eta ||b_i - u_i||^2 for the batch. U is a memory bank of every training item's
  latest output; B, W and the bank are buffers of the network (checkpointed, saved with the model).

Supervised (reads the seen-class labels), no attributes: a supervised hashing baseline in the zero-shot setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn as nn

from zshbench.config import NON_NEG, POS_INT, POSITIVE
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, steps_per_epoch
from zshbench.methods.dsdh.losses import dcc_b_step, network_loss, one_hot, same_label, signs, w_step
from zshbench.methods.dsdh.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["DSDHConfig", "DSDHHasher", "DSDHNet", "log_spaced_lr"]


@dataclass
class DSDHConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs, batch_size, lr, weight_decay: the training budget (optimizer and schedule: profiles.py).
    mu: weight of the classification term mu ||Y - B W||^2.
    nu: weight of nu ||W||^2 (positive: the W-step's ridge nu / mu).
    eta: weight of the quantisation term eta ||B - U||^2.
    dcc_iter: the most DCC sweeps over the bits in one B-step.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    mu: float | None = None
    nu: float | None = None
    eta: float | None = None
    dcc_iter: int | None = None


class DSDHNet(HeadNet):
    """Backbone -> pooled features -> linear hash layer (L outputs u). Buffers: ``train_labels`` (n,) of the SEEN
    classes, ``codes`` B (n, L) in {-1, +1}, ``classifier`` W (L, C) and ``bank`` (n, L), the latest output of
    every training item (zeros before its first batch)."""

    def __init__(self, p: dict[str, Any], n_bits: int, train_labels, codes, classifier):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, int(n_bits))
        self.register_buffer("train_labels", torch.as_tensor(train_labels).long().clone())
        self.register_buffer("codes", torch.as_tensor(codes).float().clone())
        self.register_buffer("classifier", torch.as_tensor(classifier).float().clone())
        self.register_buffer("bank", torch.zeros(len(self.train_labels), int(n_bits)))

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.hash_fc(self.pooled(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)

    def update_bank(self, idx: torch.Tensor, u: torch.Tensor) -> None:
        """Store the batch's current outputs (of every DDP rank when training data-parallel)."""
        from zshbench.train import distributed as dd

        u = u.detach().float()
        if not dd.current().distributed:
            self.bank[idx] = u
            return
        for i, v in dd.all_gather_object((idx.cpu(), u.cpu())):
            self.bank[i.to(self.bank.device)] = v.to(self.bank.device)


def log_spaced_lr(optimizer, lr: float, lr_final: float, epochs: int, n_steps_per_epoch: int):
    """A `LambdaLR`: in epoch e (0-based) every group's learning rate is multiplied by
    (lr_final / lr) ** (e / (epochs - 1)): the authors' ``logspace(-2, -6, maxIter)``, one value per epoch."""
    ratio = float(lr_final) / float(lr)
    last = max(int(epochs) - 1, 1)
    spe = max(int(n_steps_per_epoch), 1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: ratio ** (min(step // spe, last) / last))


@register_method("dsdh")
class DSDHHasher(TorchHasher):
    """DSDH (see the module docstring and README.md)."""

    Config = DSDHConfig
    version = "2"  # 2: tiny budget 1 -> 8 epochs (the fashion learning curve, README.md)
    paper = "Li et al., NeurIPS 2017"  # shown by `zshbench list methods --verbose`
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "mu": POSITIVE,
        "nu": POSITIVE,
        "eta": NON_NEG,
        "dcc_iter": POS_INT,
        "weight_decay": NON_NEG,
    }
    weights_attr = "backbone"  # the timm CNN inside the shared BackboneNet
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The seen-class labels, the initial codes B (random signs drawn from the seed) and the W-step on them."""
        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        p["n_classes"] = int(train.n_classes)
        g = torch.Generator().manual_seed(int(self.config.seed))
        b0 = signs(torch.randn(len(labels), self.n_bits, generator=g))
        w0 = w_step(b0, one_hot(labels, p["n_classes"]), p["mu"], p["nu"])
        return {"train_labels": labels, "codes": b0, "classifier": w0}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return DSDHNet(p, self.n_bits, data["train_labels"], data["codes"], data["classifier"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        if p.get("lr_final") is None:
            return None
        return log_spaced_lr(optimizer, p["lr"], p["lr_final"], p["epochs"], self._steps_per_epoch)

    def train_batches(self, train: TrainSet, p: dict[str, Any], generator):
        """`ShuffledBatches` of (uint8 images, labels, item indices) on the fitted device (the indices address
        the rows of the memory bank and of B)."""
        from zshbench.train.batches import ShuffledBatches

        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        dev = self._device

        def load(idx):
            imgs = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
            return imgs.to(dev), labels[idx].to(dev), idx.to(dev)

        return ShuffledBatches(len(train), int(p["batch_size"]), load, generator, min_size=2)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels, idx = batch
        u = net(images)
        net.update_bank(idx, u)  # U: the batch's rows hold the current outputs
        mu, nu, eta = float(p["mu"]), float(p["nu"]), float(p["eta"])
        with torch.no_grad(), torch.autocast(device_type=u.device.type, enabled=False):  # exact steps under AMP
            y = one_hot(net.train_labels, p["n_classes"])
            b, sweeps, changed = dcc_b_step(net.codes, net.bank, y, net.classifier, mu, eta, int(p["dcc_iter"]))
            net.codes.copy_(b)  # B-step (all training items)
            net.classifier.copy_(w_step(b, y, mu, nu))  # W-step
            cls = (y - b @ net.classifier).pow(2).sum(dim=1).mean()
        s = same_label(labels, net.train_labels)
        with torch.autocast(device_type=u.device.type, enabled=False):  # the loss in float32 under AMP
            total, parts = network_loss(u.float(), net.bank, s, net.codes[idx], eta)  # network step, B fixed
        parts["classification"] = cls
        parts["dcc_sweeps"] = float(sweeps)
        parts["bits_changed"] = changed / float(b.numel())
        return total, parts

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        with torch.no_grad():
            b, w = net.codes, net.classifier
            acc = float((torch.argmax(b @ w, dim=1) == net.train_labels).float().mean())
            agree = float((signs(net.bank) == b).float().mean())
        return {
            "n_train": int(len(net.train_labels)),
            "n_seen_classes": int(p["n_classes"]),
            "train_code_accuracy": round(acc, 6),
            "train_bits_sign_u_equals_b": round(agree, 6),
        }
