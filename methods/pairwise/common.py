"""What DPSH, DSH and HashNet share: the shared backbone with a linear hash layer, the config fields of the
training setting, and the `TorchHasher` hooks that do not depend on the loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn as nn

from zshbench.config import NON_NEG
from zshbench.hasher import Requirements
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.train.backbones import BackboneNet

__all__ = ["PairwiseConfig", "PairwiseNet", "PairwiseHasher", "planned_steps"]


@dataclass
class PairwiseConfig(TorchHasherConfig):
    """Fields every pairwise baseline has (None = the profile's value, see profiles.py; max_steps,
    deterministic, progress: the training loop's, `TorchHasherConfig`).

    Attributes:
        profile: "tiny" (resnet10t at 32 x 32 from scratch, CPU-friendly, the default) or "paper" (ImageNet
            ResNet-101 at 224, COMAE Sec. 4.1.4).
        weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors/.pth).
        epochs, batch_size, lr, weight_decay: the Adam training budget.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None


class PairwiseNet(BackboneNet):
    """uint8 images (B, H, W, C) -> the hash layer's real outputs (B, n_bits): the shared backbone's pooled
    features (`BackboneNet`) and one fully connected layer (u = W^T phi(x) + v). The codes are their signs."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p)
        self.hash_layer = nn.Linear(self.num_features, int(n_bits))

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return self.hash_layer(self.features(images_uint8))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


def planned_steps(n: int, batch_size: int, epochs: int, max_steps: int | None, world_size: int = 1) -> int:
    """The number of optimizer steps `fit_loop` will take: batches per epoch as `ShuffledBatches` cuts them
    (runs of fewer than 2 items dropped, also per DDP rank) x epochs, capped by ``max_steps``."""
    full, rem = divmod(int(n), int(batch_size))
    per_epoch = full * (int(batch_size) // world_size >= 2) + (rem > 0 and rem // world_size >= 2)
    total = int(epochs) * int(per_epoch)
    return min(total, int(max_steps)) if max_steps is not None else total


class PairwiseHasher(TorchHasher):
    """Base of the three pairwise baselines: labels (no attributes), the shared backbone, a linear hash layer."""

    Config: ClassVar[type] = PairwiseConfig
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels; no attributes
    weights_attr = "backbone"  # `weights` loads into the timm CNN of `BackboneNet`
    timm_name_key = "backbone"  # "pretrained" = timm's weights of the profile's backbone
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules: ClassVar[dict[str, tuple[Any, str]]] = {"weight_decay": NON_NEG}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return PairwiseNet(p, self.n_bits)

    def _indexed_batches(self, train, batch_size: int, generator):
        """`ShuffledBatches` of (uint8 images, labels, item indices) on the fitted device (the indices address a
        memory bank of the training items)."""
        from zshbench.train.batches import ShuffledBatches

        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        dev = self._device

        def load(idx):
            imgs = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
            return imgs.to(dev), labels[idx].to(dev), idx.to(dev)

        return ShuffledBatches(len(train), int(batch_size), load, generator, min_size=2)
