"""DPSH: deep pairwise-supervised hashing ("dpsh").

Li, Wang, Kang, "Feature Learning based Deep Supervised Hashing with Pairwise Labels", IJCAI 2016. The pairwise
likelihood of LFH on Theta_ij = u_i^T u_j / 2 plus eta ||b_i - u_i||^2 (eq. 3-5), u_i = W^T phi(x_i) + v (eq. 4),
learned by alternating b_i = sgn(u_i) (eq. 6) with a gradient step of eq. 7 on the network. See README.md for the
fidelity table (rows D1-D12).

Mini-batch handling of B and of the pairs (README.md, rows D5 and D6): B is never relaxed. In eq. 5, B appears only
in the quantisation term, so the exact B-step for the points of a mini-batch is b_i = sgn(u_i) of their current
outputs (eq. 6, Alg. 1); the other b_j do not enter that step's gradient. The pairs of a batch point are ALL
training items (eq. 5 sums over S): the u_j of items outside the batch come from a memory bank holding each item's
latest output, as in the authors' code, and the step descends eq. 7 for the batch points. ``pairs=batch`` pairs
the batch with itself instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from zshbench.config import NON_NEG
from zshbench.methods.pairwise.common import PairwiseConfig, PairwiseHasher, PairwiseNet
from zshbench.methods.pairwise.losses import dpsh_loss, same_label
from zshbench.methods.pairwise.profiles import PROFILES
from zshbench.registry import register_method

__all__ = ["DPSHConfig", "DPSHHasher", "DPSHNet"]


@dataclass
class DPSHConfig(PairwiseConfig):
    """DPSH's fields (None = the profile's value, see profiles.py), besides `PairwiseConfig`'s.

    Attributes:
        eta: weight of the quantisation term eta sum_i ||b_i - u_i||^2 (eq. 3-5).
        pairs: "all" (each batch point against every training item, eq. 5; a memory bank holds the u_j of the
            items outside the batch) or "batch" (the pairs inside the mini-batch only).
    """

    eta: float | None = None
    pairs: Literal["all", "batch"] | None = None


class DPSHNet(PairwiseNet):
    """`PairwiseNet` plus, with ``pairs=all``, the labels of the training items and the memory bank of their
    latest outputs u_j (buffers: checkpointed with the network, so a resumed fit continues with the same bank)."""

    def __init__(self, p: dict[str, Any], n_bits: int, train_labels: torch.Tensor | None):
        super().__init__(p, n_bits)
        if train_labels is not None:
            self.register_buffer("train_labels", train_labels.clone().long())
            self.register_buffer("bank", torch.zeros(len(train_labels), int(n_bits)))

    def update_bank(self, idx: torch.Tensor, u: torch.Tensor) -> None:
        """Store the current outputs of items ``idx`` (of every DDP rank when training data-parallel)."""
        from zshbench.train import distributed as dd

        u = u.detach().float()
        if not dd.current().distributed:
            self.bank[idx] = u
            return
        for i, v in dd.all_gather_object((idx.cpu(), u.cpu())):
            self.bank[i.to(self.bank.device)] = v.to(self.bank.device)


@register_method("dpsh")
class DPSHHasher(PairwiseHasher):
    """DPSH (see the module docstring and README.md)."""

    Config = DPSHConfig
    version = "1"
    profiles = PROFILES["dpsh"]
    config_rules = {**PairwiseHasher.config_rules, "eta": NON_NEG}

    def prepare(self, train, p: dict[str, Any]) -> dict[str, Any]:
        """With ``pairs=all``: the training labels (seen classes only), which the network keeps for s_ij."""
        if p["pairs"] == "all":
            return {"train_labels": torch.as_tensor(np.asarray(train.labels), dtype=torch.long)}
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return DPSHNet(p, self.n_bits, data.get("train_labels") if p["pairs"] == "all" else None)

    def train_batches(self, train, p: dict[str, Any], generator):
        return self._indexed_batches(train, p["batch_size"], generator)

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels, idx = batch
        u = net(images)
        if p["pairs"] == "all":
            net.update_bank(idx, u)  # the batch's own rows hold the current outputs (its j = i and in-batch pairs)
            return dpsh_loss(u, net.bank, same_label(labels, net.train_labels), p["eta"], columns_detached=True)
        return dpsh_loss(u, u, same_label(labels, labels), p["eta"], columns_detached=False)

    def run_facts(self, train, p: dict[str, Any], net) -> dict[str, Any]:
        return {"pairs": p["pairs"], "n_train": len(train)}
