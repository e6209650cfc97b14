"""The backbones every deep baseline shares, so methods compare under one network per profile (the papers run all
baselines on one backbone: COMAE Sec. 4.1.4 uses ResNet-101 at 224 for every method).

* ``tiny``: timm ``resnet10t`` from random initialisation at 32 x 32 (the CPU profile; COMAE's tiny backbone);
* ``paper``: timm ``resnet101.tv_in1k`` (torchvision's ImageNet-1k weights) at 224 x 224.

`BackboneNet` turns uint8 images (B, H, W, C) into pooled features (B, C) with the profile's input size and
normalisation; a method puts its hash head (and its losses) on top. Pretrained weights are loaded through the
template's weights policy (``TorchHasher.load_weights`` with ``weights_attr = "backbone"``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from zshbench.train.images import prepare_images

__all__ = ["BACKBONE_PROFILES", "BackboneNet", "build_cnn"]

# the keys every deep baseline's profiles share; a method adds its own (lr, epochs, its loss weights, ...)
BACKBONE_PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"backbone": "resnet10t", "img_size": 32, "weights": "none"},
    "paper": {"backbone": "resnet101.tv_in1k", "img_size": 224, "weights": "pretrained"},
}


def build_cnn(name: str) -> nn.Module:
    """A timm CNN without classifier, global-average pooled: ``forward`` gives (B, num_features)."""
    import timm

    return timm.create_model(name, pretrained=False, num_classes=0)


class BackboneNet(nn.Module):
    """uint8 images -> pooled backbone features, with the profile's input size and ImageNet normalisation.

    Args:
        p: a resolved profile holding ``backbone`` and ``img_size`` (see `BACKBONE_PROFILES`).
    """

    def __init__(self, p: dict[str, Any]):
        super().__init__()
        self.img_size = int(p["img_size"])
        self.backbone = build_cnn(str(p["backbone"]))
        self.num_features = int(self.backbone.num_features)
        self.register_buffer("mean", torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1))

    def features(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, num_features) pooled features of uint8 (B, H, W, C) images."""
        return self.backbone(prepare_images(images_uint8, self.img_size, self.mean, self.std))
