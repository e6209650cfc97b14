"""DCH's network: the shared backbone (`zshbench.train.backbones.BackboneNet`) and the fch hash layer.

h = tanh(W f(x) + b) (K units) in training; the code is sgn(h) (Sec. 3.1 of the paper). `DCHNet.encode` returns
the pre-activation W f(x) + b, whose signs are the codes' (tanh keeps the sign).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from zshbench.train.backbones import BackboneNet

__all__ = ["DCHNet"]


class DCHNet(BackboneNet):
    """Backbone features -> fch layer (K units); ``backbone`` is the timm CNN the weights policy loads into."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        self.hash_layer = nn.Linear(self.num_features, int(n_bits))

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """Continuous codes h = tanh(fch(f(x))) in (-1, 1), (B, K)."""
        return torch.tanh(self.hash_layer(self.features(images_uint8)))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.hash_layer(self.features(images_uint8)).float()
