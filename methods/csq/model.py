"""CSQ's network: the shared backbone (`zshbench.train.backbones.BackboneNet`) and a linear hash layer, h =
tanh(z); ``centres`` (one row per SEEN class) is a buffer, so a saved model keeps its training targets.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from zshbench.train.backbones import BackboneNet

__all__ = ["CSQNet"]


class CSQNet(BackboneNet):
    """Backbone features -> z (K); h = tanh(z). ``centres``: (seen classes, K) in {-1, +1}."""

    def __init__(self, p: dict[str, Any], n_bits: int, centres: torch.Tensor):
        super().__init__(p)
        self.hash_layer = nn.Linear(self.num_features, int(n_bits))
        self.register_buffer("centres", centres.detach().clone().float())

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """Hash-layer pre-activations z (B, K); the continuous code is tanh(z)."""
        return self.hash_layer(self.features(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8).float()
