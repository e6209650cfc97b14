"""Seeded torch augmentations for CIBHash's two views (the paper: random crop, horizontal flip, colour distortion,
greyscale; the authors' code adds a 3 x 3 Gaussian blur), applied to a whole uint8 batch at once.

`two_views(images, p, generator)` gives two independently augmented float views in [0, 1], (B, 3, S, S) at the
profile's ``img_size``; every random number comes from ``generator`` (checkpointed by the training loop), so a fit
is reproducible on the CPU. The steps, in this fixed order, with the profile key of each constant:

1. random resized crop + horizontal flip (one affine resampling, bilinear): a box of area fraction
   a ~ U(``crop_scale``) of the image and aspect ratio r with log r ~ U(log 3/4, log 4/3) (its sides clipped to
   the image), at a uniform position, resized to S x S; flipped left-right with probability 1/2;
2. colour jitter with probability ``jitter_p``: brightness, contrast, saturation factors ~ U(1 - s, 1 + s) and a
   hue shift ~ U(-h, h) of a turn (``jitter`` = (brightness, contrast, saturation, hue)), each result clipped to
   [0, 1]; the hue is a rotation of the chroma plane in YIQ space (an approximation of HSV's hue shift);
3. greyscale with probability ``grey_p`` (luma 0.299 R + 0.587 G + 0.114 B in all three channels);
4. Gaussian blur with probability ``blur_p``: a ``blur_kernel`` x ``blur_kernel`` kernel, sigma ~ U(``blur_sigma``),
   reflect padding.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["augment", "two_views", "crop_flip", "colour_jitter", "greyscale", "gaussian_blur"]

_LUMA = (0.299, 0.587, 0.114)
# RGB <-> YIQ (NTSC); the hue shift rotates (I, Q)
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _rand(n: int, generator, device) -> torch.Tensor:
    """U(0, 1) draws from the (CPU) ``generator``, moved to ``device``."""
    return torch.rand(n, generator=generator).to(device)


def _uniform(n: int, lo: float, hi: float, generator, device) -> torch.Tensor:
    return lo + (hi - lo) * _rand(n, generator, device)


def _coin(n: int, prob: float, generator, device) -> torch.Tensor:
    return _rand(n, generator, device) < prob


def crop_flip(x: torch.Tensor, size: int, scale: tuple[float, float], generator) -> torch.Tensor:
    """Random resized crop (area fraction ~ U(scale), log aspect ~ U(log 3/4, log 4/3)) and a flip with
    probability 1/2, of float images (B, 3, H, W), resampled bilinearly to (B, 3, size, size)."""
    b, dev = x.shape[0], x.device
    area = _uniform(b, float(scale[0]), float(scale[1]), generator, dev)
    log_r = _uniform(b, math.log(3 / 4), math.log(4 / 3), generator, dev)
    ratio = torch.exp(log_r)
    w = torch.sqrt(area * ratio).clamp(max=1.0)  # box width / image width
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1.0 - w) * (2.0 * _rand(b, generator, dev) - 1.0)  # centre in [-1 + w, 1 - w]
    cy = (1.0 - h) * (2.0 * _rand(b, generator, dev) - 1.0)
    flip = torch.where(_coin(b, 0.5, generator, dev), -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def greyscale(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) luma replicated to three channels."""
    luma = x[:, 0:1] * _LUMA[0] + x[:, 1:2] * _LUMA[1] + x[:, 2:3] * _LUMA[2]
    return luma.expand_as(x)


def colour_jitter(x: torch.Tensor, strength: tuple[float, float, float, float], generator) -> torch.Tensor:
    """Brightness, contrast, saturation (factors ~ U(1 - s, 1 + s)) and hue (a turn fraction ~ U(-h, h)), in this
    order, on every image of (B, 3, H, W) in [0, 1]; clipped to [0, 1] after each."""
    b, dev = x.shape[0], x.device
    sb, sc, ss, sh = (float(v) for v in strength)
    view = (b, 1, 1, 1)
    x = (x * _uniform(b, 1 - sb, 1 + sb, generator, dev).view(view)).clamp(0, 1)
    mean = greyscale(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * _uniform(b, 1 - sc, 1 + sc, generator, dev).view(view) + mean).clamp(0, 1)
    grey = greyscale(x)
    x = ((x - grey) * _uniform(b, 1 - ss, 1 + ss, generator, dev).view(view) + grey).clamp(0, 1)
    angle = 2 * math.pi * _uniform(b, -sh, sh, generator, dev)
    m = _RGB2YIQ.to(dev)
    yiq = torch.einsum("ij,bjhw->bihw", m, x)
    cos, sin = torch.cos(angle).view(view[:-1]), torch.sin(angle).view(view[:-1])
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(m), yiq).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, kernel: int, sigma: torch.Tensor) -> torch.Tensor:
    """Each image of (B, 3, H, W) blurred with its own ``kernel`` x ``kernel`` Gaussian (``sigma``: (B,))."""
    b, c, hh, ww = x.shape
    r = kernel // 2
    t = torch.arange(kernel, device=x.device, dtype=x.dtype) - r
    g = torch.exp(-(t[None, :] ** 2) / (2 * sigma[:, None] ** 2))
    g = g / g.sum(dim=1, keepdim=True)  # (B, k): separable
    k2 = (g[:, :, None] * g[:, None, :]).repeat_interleave(c, dim=0).unsqueeze(1)  # (B C, 1, k, k)
    padded = F.pad(x.reshape(1, b * c, hh, ww), (r, r, r, r), mode="reflect")
    return F.conv2d(padded, k2, groups=b * c).reshape(b, c, hh, ww)


def augment(x: torch.Tensor, p: dict[str, Any], generator) -> torch.Tensor:
    """One augmented view (B, 3, S, S) in [0, 1] of float images ``x`` (B, 3, H, W) in [0, 1] (module docstring)."""
    b, dev = x.shape[0], x.device
    out = crop_flip(x, int(p["img_size"]), tuple(p["crop_scale"]), generator)
    jit = _coin(b, float(p["jitter_p"]), generator, dev)
    out = torch.where(jit.view(b, 1, 1, 1), colour_jitter(out, tuple(p["jitter"]), generator), out)
    grey = _coin(b, float(p["grey_p"]), generator, dev)
    out = torch.where(grey.view(b, 1, 1, 1), greyscale(out), out)
    blur = _coin(b, float(p["blur_p"]), generator, dev)
    lo, hi = (float(v) for v in p["blur_sigma"])
    sigma = _uniform(b, lo, hi, generator, dev)
    k = int(p["blur_kernel"])
    if k > 1 and min(out.shape[-2:]) > k // 2:
        out = torch.where(blur.view(b, 1, 1, 1), gaussian_blur(out, k, sigma), out)
    return out


def to_unit(images_uint8: torch.Tensor, device) -> torch.Tensor:
    """uint8 (B, H, W, C) -> float (B, 3, H, W) in [0, 1] on ``device`` (grey repeated, alpha dropped)."""
    x = images_uint8.to(device).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    return x[:, :3]


def two_views(images_uint8: torch.Tensor, p: dict[str, Any], generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently augmented views, float (B, 3, S, S) in [0, 1]."""
    x = to_unit(images_uint8, device)
    return augment(x, p, generator), augment(x, p, generator)
