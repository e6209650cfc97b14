"""The PIXEL network (README.md has the fidelity table): the shared `BackboneNet` with

* the hash layer h = W_h g(x) + b_h on the pooled features g(x) (the code's ``hash_fc``, identity output); the
  codes are sgn(h);
* ``centres`` (S, L): one learnable centre per SEEN class for the cosine-margin classifier (the code's CosSim);
* the image attribute branch: a 1 x 1 convolution of the last feature map to K attribute maps (``attr_conv``),
  each map's H W values mapped to an E-dimensional embedding (``attr_fc``): V (B, K, E); a_hat = mean_E V;
* the text attribute branch: the frozen token states of each seen class's prompt (buffer ``text_tokens``
  (S, T, 384), zero past a prompt's end) -> ``text_proj`` (384 -> E) -> ``token_to_attr`` (T -> K, over the token
  positions): T (B, K, E); ``alpha``: the learnable scale of the text differences;
* ``class_attributes`` (S, K): the seen classes' attribute rows (targets of L_tr).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from zshbench.methods.pixel import losses as L
from zshbench.train.backbones import BackboneNet
from zshbench.train.images import prepare_images

__all__ = ["PixelNet"]


class PixelNet(BackboneNet):
    """See the module docstring.

    Args:
        p: the resolved profile (``backbone``, ``img_size``, ``embed_dim``, ``hash_bias``, ``alpha_init``, the loss
            weights).
        n_bits: code length L.
        class_attributes: (S, K) seen-class attribute rows.
        text_tokens: (S, T, D) frozen token states of the seen classes' prompts (zero rows past a prompt's end).
    """

    def __init__(
        self,
        p: dict[str, Any],
        n_bits: int,
        class_attributes: torch.Tensor,
        text_tokens: torch.Tensor,
    ):
        super().__init__(p)
        self.p = dict(p)
        s, k = class_attributes.shape
        _, t, d = text_tokens.shape
        e = int(p["embed_dim"])
        self.register_buffer("class_attributes", class_attributes.float().clone())
        self.register_buffer("text_tokens", text_tokens.float().clone())
        self.hash_fc = nn.Linear(self.num_features, n_bits, bias=bool(p["hash_bias"]))
        self.centres = nn.Parameter(torch.randn(s, n_bits))  # code: CosSim centroids ~ N(0, 1)
        hw = self._map_positions()
        self.attr_conv = nn.Conv2d(self.num_features, k, kernel_size=1)
        self.attr_fc = nn.Linear(hw, e)
        self.text_proj = nn.Linear(d, e)
        self.token_to_attr = nn.Linear(t, k)
        self.alpha = nn.Parameter(torch.tensor(float(p["alpha_init"])))

    def _map_positions(self) -> int:
        """H W of the backbone's last feature map at the profile's input size (one forward in eval mode, so no
        BatchNorm statistic changes)."""
        was = self.backbone.training
        self.backbone.eval()
        with torch.no_grad():
            fmap = self.backbone.forward_features(torch.zeros(1, 3, self.img_size, self.img_size))
        self.backbone.train(was)
        return int(fmap.shape[-2] * fmap.shape[-1])

    def feature_map(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) last feature map of the backbone."""
        return self.backbone.forward_features(prepare_images(images_uint8, self.img_size, self.mean, self.std))

    def codes(self, fmap: torch.Tensor) -> torch.Tensor:
        """h = W_h g(x) + b_h (B, L), g(x) the backbone's own global pooling of the map."""
        return self.hash_fc(self.backbone.forward_head(fmap))

    def image_attributes(self, fmap: torch.Tensor) -> torch.Tensor:
        """V (B, K, E): attr_fc over the H W positions of each attribute map."""
        maps = self.attr_conv(fmap)
        return self.attr_fc(maps.flatten(2))

    def text_attributes(self, labels: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """T (B, K, E) of the items' classes; ``keep`` (B, T) in {0, 1} drops token states (text dropout)."""
        tok = self.text_tokens[labels]  # (B, T, D)
        if keep is not None:
            tok = tok * keep[..., None].to(tok.dtype)
        x = self.text_proj(tok)  # (B, T, E)
        return self.token_to_attr(x.transpose(1, 2)).transpose(1, 2)  # (B, K, E)

    @torch.no_grad()
    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """h in float32; the hasher's codes are its signs."""
        return self.codes(self.feature_map(images_uint8)).float()

    def train_losses(
        self, images_uint8: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, dict]:
        """(L, {"ce", "se", "tr", "alpha", "code_acc"}) of one batch; the text dropout is drawn on the CPU from
        ``generator``."""
        p = self.p
        fmap = self.feature_map(images_uint8)
        h = self.codes(fmap).float()
        l_ce, cos = L.cosface_loss(h, self.centres, labels, float(p["scale"]), float(p["margin"]))
        img = self.image_attributes(fmap).float()
        keep = None
        rate = float(p["text_dropout"])
        if rate > 0:
            draw = torch.rand((labels.shape[0], self.text_tokens.shape[1]), generator=generator)
            keep = (draw >= rate).to(labels.device)
        txt = self.text_attributes(labels, keep).float()
        l_se = L.semantic_distance_loss(img, txt, labels, self.alpha, float(p["same_class_weight"]))
        l_tr = L.attribute_regression_loss(img.mean(dim=2), self.class_attributes, labels)
        total = L.total_loss(l_ce, l_se, l_tr, float(p["w_se"]), float(p["w_tr"]))
        acc = (cos.argmax(dim=1) == labels).float().mean()
        parts = {
            "ce": l_ce.detach(),
            "se": l_se.detach(),
            "tr": l_tr.detach(),
            "alpha": self.alpha.detach().clone(),
            "code_acc": acc.detach(),
        }
        return total, parts
