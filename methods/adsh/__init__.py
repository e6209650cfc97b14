"""ADSH: Asymmetric Deep Supervised Hashing ("adsh"), a supervised baseline of RAZH Table II.

Jiang and Li, "Asymmetric Deep Supervised Hashing", AAAI 2018. Authors' code: jiangqy/ADSH-AAAI2018 (MatConvNet
and PyTorch). Fidelity table: ``methods/adsh/README.md``; every constant: ``profiles.py``.

ADSH treats queries and database points asymmetrically: the network learns the codes of QUERY items only, while the
database codes V in {-1, +1}^{n x c} are free variables learned by discrete optimisation. Training alternates (one
zshbench epoch = one outer iteration):

1. sample Omega: ``num_samples`` items of the training set (the queries of this iteration);
2. train the network ``inner_epochs`` passes over Omega on the asymmetric loss (``losses.adsh_loss``) against the
   fixed V, keeping each query's last relaxed code u_i = tanh(F(x_i));
3. update V bit by bit in closed form from those u_i (``losses.update_codes``).

Zero-shot interpretation (README.md row 2): ADSH's "database" during training is the seen-class TrainSet (the real
retrieval set is unseen and never seen in training), so V holds codes of seen-class training items only and is
training state, dropped after fit; EVERY code zshbench evaluates (queries and database) is the network's,
sign(F(x)).

Supervised (reads the seen-class labels for S), no attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn as nn

from zshbench.config import NON_NEG, POS_INT
from zshbench.errors import UserError
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import HeadNet, build_optimizer, step_scheduler
from zshbench.methods.adsh.losses import (
    SIMILARITY_MODES,
    adsh_loss,
    neg_similarity,
    similarity,
    update_codes,
)
from zshbench.methods.adsh.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["ADSHConfig", "ADSHHasher", "ADSHNet", "ADSHBatches"]

V_INITS = ("zeros", "random")
TRAIN_STATE = ("db_labels", "V", "U", "omega", "outer", "neg")  # buffers used in training only (dropped after fit)


@dataclass
class ADSHConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
    epochs: outer iterations T_out (each: sample Omega, train, update V).
    inner_epochs: passes T_in over the sampled items per outer iteration.
    num_samples: items sampled per outer iteration |Omega| (capped at the training set's size).
    batch_size, lr, weight_decay: the network's training (optimizer and schedule: profiles.py).
    backbone_lr_scale: the backbone's learning rate relative to lr (0 freezes the backbone).
    gamma: weight of the quantization term ||v_i - u_i||^2.
    similarity: "balanced" (the authors' code, the default: S = 1 / -r, r = #similar / #dissimilar pairs) or
        "paper" (S = +1 / -1, the paper's text).
    v_init: the database codes before the first update: "zeros" (the authors' code) or "random" (+-1 bits).
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    inner_epochs: int | None = None
    num_samples: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    gamma: float | None = None
    similarity: Literal["paper", "balanced"] | None = None
    v_init: Literal["zeros", "random"] | None = None


class ADSHNet(HeadNet):
    """Backbone -> pooled features -> linear layer -> tanh: u = tanh(F(x)) in (-1, 1)^c.

    Training state (buffers, emptied after fit): ``db_labels`` (n,) the training set's labels, ``V`` (n, c) the
    database codes, ``U`` (n, c) the last u of each sampled item, ``omega`` (n,) the current outer iteration's
    sample, ``outer`` the outer iteration ``omega`` belongs to (-1: none yet), ``neg`` S's dissimilar value.
    """

    def __init__(self, p: dict[str, Any], n_bits: int, data: dict[str, Any]):
        super().__init__(p)
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        n = int(data["db_labels"].shape[0])
        self.register_buffer("db_labels", torch.as_tensor(data["db_labels"]).long().clone())
        self.register_buffer("V", torch.as_tensor(data["V"]).float().clone().reshape(n, n_bits))
        self.register_buffer("U", torch.zeros(n, n_bits))
        self.register_buffer("omega", torch.zeros(n, dtype=torch.bool))
        self.register_buffer("outer", torch.tensor(-1, dtype=torch.long))
        self.register_buffer("neg", torch.tensor(-1.0))

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.hash_fc(self.pooled(images_uint8)))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


class ADSHBatches:
    """The batches of one outer iteration (``batches(epoch)``): ``num_samples`` items Omega drawn without
    replacement, then ``inner_epochs`` shuffled passes over them in batches of ``batch_size`` (a last batch of
    one item is dropped). Every index is drawn from the generator when the epoch starts, so resuming mid-epoch
    replays the same batches. Each batch: (uint8 images, labels, item indices, epoch, Omega)."""

    def __init__(self, n: int, p: dict[str, Any], load, generator):
        self.n, self.load, self.generator = int(n), load, generator
        self.m = min(int(p["num_samples"]), self.n)
        self.inner = int(p["inner_epochs"])
        self.batch_size = int(p["batch_size"])

    def per_pass(self) -> int:
        full, rest = divmod(self.m, self.batch_size)
        return full + (1 if rest >= 2 else 0)

    def __len__(self) -> int:
        return self.inner * self.per_pass()

    def __call__(self, epoch: int):
        omega = torch.randperm(self.n, generator=self.generator)[: self.m]
        plan = []
        for _ in range(self.inner):
            perm = omega[torch.randperm(self.m, generator=self.generator)]
            plan += [perm[s : s + self.batch_size] for s in range(0, self.m, self.batch_size)]
        for idx in plan:
            if len(idx) < 2:
                continue
            images, labels = self.load(idx)
            yield images, labels, idx, epoch, omega


@register_method("adsh")
class ADSHHasher(TorchHasher):
    """ADSH (see the module docstring and README.md)."""

    Config = ADSHConfig
    version = "1"
    paper = "Jiang and Li, AAAI 2018"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = PROFILES
    distributed_training = False  # V is one matrix updated from every query's u: trained by one process
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1, "num_samples": 32}
    config_rules = {
        "gamma": NON_NEG,
        "weight_decay": NON_NEG,
        "backbone_lr_scale": NON_NEG,
        "num_samples": POS_INT,
        "inner_epochs": POS_INT,
    }
    weights_attr = "backbone"
    timm_name_key = "backbone"

    def validate_config(self) -> None:
        super().validate_config()
        for key, allowed in (("similarity", SIMILARITY_MODES), ("v_init", V_INITS)):
            value = getattr(self.config, key)
            if value is not None and value not in allowed:
                raise UserError(
                    f"{self.name}: {key} must be one of {', '.join(allowed)}; got {value!r}. Set it with "
                    f"--set {key}={allowed[0]} or --set {key}={allowed[1]}."
                )

    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The training set is ADSH's database: its labels and the initial codes V (zeros or seeded +-1 bits)."""
        n = len(train)
        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        if p["v_init"] == "random":
            g = torch.Generator().manual_seed(int(self.config.seed))
            v = torch.randint(0, 2, (n, self.n_bits), generator=g).float() * 2.0 - 1.0
        else:
            v = torch.zeros(n, self.n_bits)
        self._n_train = n
        return {"db_labels": labels, "V": v}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return ADSHNet(p, self.n_bits, data)

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def train_batches(self, train, p: dict[str, Any], generator):
        shuffled = self._train_batches(train, p["batch_size"], generator)  # its loader: (images, labels)
        return ADSHBatches(len(train), p, shuffled.load, generator)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        m = min(int(p["num_samples"]), int(self._n_train))
        full, rest = divmod(m, int(p["batch_size"]))
        per_outer = int(p["inner_epochs"]) * (full + (1 if rest >= 2 else 0))
        return step_scheduler(optimizer, p, per_outer)

    @staticmethod
    def _start_outer(net, p: dict[str, Any], outer: int, omega: torch.Tensor) -> None:
        """At the first step of outer iteration ``outer``: update V from the previous iteration's queries (their
        last u, kept in U), then record the new sample Omega and the value of S for dissimilar pairs."""
        with torch.no_grad(), torch.autocast(device_type=net.V.device.type, enabled=False):
            if int(net.outer) >= 0 and bool(net.omega.any()):
                prev = torch.nonzero(net.omega).flatten()
                s = similarity(net.db_labels[prev], net.db_labels, float(net.neg))
                net.V.copy_(update_codes(net.V, net.U[prev].float(), s, prev, float(p["gamma"])))
            omega = omega.to(net.omega.device)
            net.omega.zero_()
            net.omega[omega] = True
            net.outer.fill_(int(outer))
            net.neg.fill_(neg_similarity(net.db_labels[omega], net.db_labels, p["similarity"]))

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels, idx, outer, omega = batch
        if int(outer) != int(net.outer):
            self._start_outer(net, p, int(outer), omega)
        idx = idx.to(net.V.device)
        u = net(images).float()
        net.U[idx] = u.detach()
        s = similarity(net.db_labels[idx], net.db_labels, float(net.neg))
        total, square, quant = adsh_loss(u, net.V, s, net.V[idx], float(p["gamma"]))
        return total, {"square": square.detach(), "quantization": quant.detach()}

    def _fit(self, train) -> None:
        super()._fit(train)
        net = self.model_
        codes = net.V.clone()
        for name in TRAIN_STATE:  # training state: encoding needs none of it (a saved model stays small)
            buf = getattr(net, name)
            setattr(net, name, buf[:0] if buf.dim() else buf)
        self.info_["v_code_balance"] = round(float(codes.mean()), 4) if codes.numel() else 0.0
        self.info_["v_updates"] = max(int(len(self.info_["train"]["epochs"])) - 1, 0)

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {"n_database_codes": int(net.V.shape[0]), "omega_size": min(int(p["num_samples"]), len(train))}
