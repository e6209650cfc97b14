"""Image batches for deep methods: uint8 (B, H, W, C) -> normalised float (B, 3, S, S) on the model's device."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["prepare_images"]


def prepare_images(images: torch.Tensor, size: int, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1], repeat grey to 3 channels (drop an alpha channel), resize bilinearly to ``size`` x
    ``size`` (antialiased when shrinking) and normalise with ``mean``/``std`` of shape (1, 3, 1, 1), on their
    device."""
    x = images.to(mean.device).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif x.shape[1] > 3:
        x = x[:, :3]
    s = int(size)
    if tuple(x.shape[-2:]) != (s, s):
        x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=x.shape[-1] > s)
    return (x - mean) / std
