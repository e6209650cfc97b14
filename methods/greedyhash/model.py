"""GreedyHash's network: the shared backbone (`zshbench.train.backbones.BackboneNet`), a linear hash layer h, the
greedy sign layer b = sgn(h), and a linear classification layer on b over the SEEN classes (training only).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from zshbench.methods.greedyhash.losses import greedy_sign
from zshbench.train.backbones import BackboneNet

__all__ = ["GreedyHashNet"]


class GreedyHashNet(BackboneNet):
    """Backbone features -> h (K) -> b = sgn(h) -> class logits (``n_classes`` seen classes)."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        self.hash_layer = nn.Linear(self.num_features, int(n_bits))
        self.classifier = nn.Linear(int(n_bits), int(p["n_classes"]), bias=bool(p["classifier_bias"]))

    def forward(self, images_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class logits from the codes b, continuous h)."""
        h = self.hash_layer(self.features(images_uint8))
        return self.classifier(greedy_sign(h)), h

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.hash_layer(self.features(images_uint8)).float()
