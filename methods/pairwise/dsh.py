"""DSH: deep supervised hashing ("dsh").

Liu, Wang, Shan, Chen, "Deep Supervised Hashing for Fast Image Retrieval", CVPR 2016. A contrastive loss on the
squared Euclidean distance of the real-valued outputs (the relaxed Hamming distance) with margin m = 2k for
dissimilar pairs, plus alpha || |b| - 1 ||_1 pulling every output towards +-1 (eq. 3-4); the pairs are all unique
pairs of each mini-batch (generated online); codes are the signs of the outputs. See README.md (rows S1-S10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zshbench.config import NON_NEG, POSITIVE
from zshbench.methods.pairwise.common import PairwiseConfig, PairwiseHasher
from zshbench.methods.pairwise.losses import dsh_loss
from zshbench.methods.pairwise.profiles import PROFILES
from zshbench.registry import register_method

__all__ = ["DSHConfig", "DSHHasher"]


@dataclass
class DSHConfig(PairwiseConfig):
    """DSH's fields (None = the profile's value, see profiles.py), besides `PairwiseConfig`'s.

    Attributes:
        alpha: weight of the regulariser || |b| - 1 ||_1 (eq. 3).
        margin_per_bit: the margin m of eq. 3 in units of the code length k (the paper: m = 2k).
    """

    alpha: float | None = None
    margin_per_bit: float | None = None


@register_method("dsh")
class DSHHasher(PairwiseHasher):
    """DSH (see the module docstring and README.md)."""

    Config = DSHConfig
    version = "1"
    profiles = PROFILES["dsh"]
    config_rules = {**PairwiseHasher.config_rules, "alpha": NON_NEG, "margin_per_bit": POSITIVE}

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels = batch
        return dsh_loss(net(images), labels, p["margin_per_bit"] * self.n_bits, p["alpha"])

    def run_facts(self, train, p: dict[str, Any], net) -> dict[str, Any]:
        return {"margin": p["margin_per_bit"] * self.n_bits}
