"""DDSH: Deep Discrete Supervised Hashing ("ddsh").

Jiang, Cui, Li, "Deep Discrete Supervised Hashing", IEEE TIP 2018 (RAZH Table II). Authors' release:
jiangqy/DDSH-TIP2018 (MATLAB / MatConvNet). Fidelity table: ``methods/ddsh/README.md``; every constant:
``profiles.py``; the two steps as functions: ``losses.py``.

* network: the shared backbone, pooled, then a linear hash layer: u = F(x) (q outputs); codes b = sgn(u);
* every ``iters`` passes, m training items Omega are drawn (the "sampled columns"); the others are Gamma;
* each pass starts with the discrete step: B_Omega, bit by bit, by the authors' balanced binary quadratic
  program on the weighted similarity (the supervision guides the discrete codes directly), then trains the network
  on the Gamma items to fit q S_Gamma,Omega with tanh(u) B_Omega^T (the supervision guides the features through the
  discrete codes), and sets B_Gamma = sgn(u) batch by batch.

Supervised (reads the seen-class labels), no attributes. Trained single-process (`distributed_training` False):
the passes over Gamma are not `ShuffledBatches`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn as nn

from zshbench.config import NON_NEG, POS_INT
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer
from zshbench.methods.ddsh.losses import network_loss, objective, omega_step, signs, weighted_similarity
from zshbench.methods.ddsh.profiles import PROFILES
from zshbench.methods.dsdh import log_spaced_lr
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["DDSHConfig", "DDSHHasher", "DDSHNet", "GammaPasses", "omega_items"]


@dataclass
class DDSHConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs: passes over the Gamma items (the authors' epochs x iters).
    batch_size, lr, weight_decay: the training budget (optimizer and schedule: profiles.py).
    sample_column: m, the number of sampled items Omega (at most half the training items are used).
    iters: passes over Gamma per sample of Omega.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    sample_column: int | None = None
    iters: int | None = None


class DDSHNet(HeadNet):
    """Backbone -> pooled features -> linear hash layer (q outputs u). Buffers: ``train_labels`` (n,), ``codes`` B
    (n, q) in {-1, +1} (B_Omega of the discrete step, sgn(u) for the Gamma items) and ``omega`` (m,), the current
    sampled items."""

    def __init__(self, p: dict[str, Any], n_bits: int, train_labels, codes, omega):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, int(n_bits))
        self.register_buffer("train_labels", torch.as_tensor(train_labels).long().clone())
        self.register_buffer("codes", torch.as_tensor(codes).float().clone())
        self.register_buffer("omega", torch.as_tensor(omega).long().clone())

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.hash_fc(self.pooled(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


def omega_items(n: int, m: int, seed: int, draw: int) -> torch.Tensor:
    """The ``draw``-th sample of Omega: m of the n items without replacement, sorted, from a generator seeded by
    (seed, draw) alone (so a resumed fit draws the same samples)."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(draw))
    return torch.sort(torch.randperm(int(n), generator=g)[: int(m)]).values


class GammaPasses:
    """``passes(epoch)`` yields the batches of one pass over the Gamma items, shuffled by ``generator``:
    (uint8 images, labels, item indices, Omega, first batch of the pass?). Omega is redrawn every ``iters``
    passes (`omega_items`). Batches of fewer than 2 items are dropped."""

    def __init__(self, n: int, m: int, iters: int, batch_size: int, seed: int, load, generator):
        self.n, self.m, self.iters, self.batch_size = int(n), int(m), int(iters), int(batch_size)
        self.seed, self.load, self.generator = int(seed), load, generator

    def __len__(self) -> int:
        full, rest = divmod(self.n - self.m, self.batch_size)
        return full + (1 if rest >= 2 else 0)

    def __call__(self, epoch: int):
        omega = omega_items(self.n, self.m, self.seed, int(epoch) // self.iters)
        keep = torch.ones(self.n, dtype=torch.bool)
        keep[omega] = False
        gamma = torch.nonzero(keep).flatten()
        order = gamma[torch.randperm(len(gamma), generator=self.generator)]
        first = True
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            if len(idx) < 2:
                continue
            images, labels = self.load(idx)
            yield images, labels, idx.to(labels.device), omega.to(labels.device), first
            first = False


@register_method("ddsh")
class DDSHHasher(TorchHasher):
    """DDSH (see the module docstring and README.md)."""

    Config = DDSHConfig
    version = "2"  # 2: tiny budget 4 -> 8 passes (the fashion learning curve, README.md)
    paper = "Jiang, Cui, Li, IEEE TIP 2018"  # shown by `zshbench list methods --verbose`
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    distributed_training = False  # the passes over Gamma are not ShuffledBatches (see the module docstring)
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {"sample_column": POS_INT, "iters": POS_INT, "weight_decay": NON_NEG}
    weights_attr = "backbone"
    timm_name_key = "backbone"

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The labels, the initial codes (random signs from the seed) and the first Omega; m is capped at half the
        training items (``p["m"]``, saved with the model)."""
        n = len(train)
        p["m"] = max(1, min(int(p["sample_column"]), n // 2))
        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        g = torch.Generator().manual_seed(int(self.config.seed))
        b0 = signs(torch.randn(n, self.n_bits, generator=g))
        self._steps_per_epoch = GammaPasses(n, p["m"], p["iters"], p["batch_size"], 0, None, None).__len__()
        return {"train_labels": labels, "codes": b0, "omega": omega_items(n, p["m"], self.config.seed, 0)}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return DDSHNet(p, self.n_bits, data["train_labels"], data["codes"], data["omega"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        if p.get("lr_final") is None:
            return None
        return log_spaced_lr(optimizer, p["lr"], p["lr_final"], p["epochs"], self._steps_per_epoch)

    def train_batches(self, train: TrainSet, p: dict[str, Any], generator):
        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        dev = self._device

        def load(idx):
            imgs = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
            return imgs.to(dev), labels[idx].to(dev)

        return GammaPasses(len(train), p["m"], p["iters"], p["batch_size"], self.config.seed, load, generator)

    def discrete_step(self, net, omega: torch.Tensor) -> float:
        """B_Omega by `omega_step` for the current B_Gamma; stores Omega and the codes; returns the objective."""
        n = len(net.train_labels)
        s, _ = weighted_similarity(net.train_labels, omega)
        keep = torch.ones(n, dtype=torch.bool, device=omega.device)
        keep[omega] = False
        b_gamma = net.codes[keep]
        b_omega = omega_step(b_gamma, s[keep], s[omega], self.n_bits)
        net.codes[omega] = b_omega
        net.omega.copy_(omega)
        return objective(b_gamma, b_omega, s[keep], s[omega], self.n_bits)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels, idx, omega, first = batch
        exact = torch.autocast(device_type=labels.device.type, enabled=False)  # float32 / float64 under AMP
        if first:
            with torch.no_grad(), exact:
                self._last_objective = self.discrete_step(net, omega)
        u = net(images)
        with exact:
            s_all, _ = weighted_similarity(net.train_labels, omega)  # r over the n x m pairs, as the discrete step
            total, parts = network_loss(u.float(), s_all[idx], net.codes[omega], self.n_bits, len(net.train_labels))
        with torch.no_grad():
            net.codes[idx] = signs(u.detach().float())  # B_Gamma rows of the batch: sgn(u)
        return total, parts

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {
            "n_train": int(len(net.train_labels)),
            "m": int(p["m"]),
            "last_objective": round(float(getattr(self, "_last_objective", float("nan"))), 3),
        }
