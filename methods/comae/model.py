"""The COMAE network: CNN backbone, attribute prototypes (APN), class-wise map W, hash layer, class centres.

Equations are the paper's (Li et al., arXiv 2402.16424); see README.md for the fidelity table.

* `COMAENet.features`: uint8 images -> the backbone's last feature map f(x) (B, C, H, W) (spatial extent kept);
* `COMAENet.attribute_maps` (eq. 1): M^k_ij = Theta(p_k, f_ij) for one prototype p_k in R^C per attribute;
  Theta = the paper's "non-linear network" (default ``theta="hadamard"``): a perceptron on the Hadamard product
  of the two projections, ``v^T LeakyReLU((U f_ij + b) * (V p_k + b')) + c`` (low-rank bilinear pooling; with
  an identity activation it is a low-rank bilinear form p_k^T M f_ij, the family of APN's dot product), or
  (option ``theta="dot"``) the linear dot product p_k . f_ij of APN;
* `COMAENet.predict_attributes` (eq. 1): a_hat_k = max_ij M^k_ij (max pooling);
* g(x) = global average pooling of f(x); `COMAENet.relaxed_code`: h = tanh(W_h g(x) + b_h) (eq. 6 as the text
  of Sec. 3.5 reads it; sign at encoding);
* ``W`` (C, A): the class-wise map of eq. 5; ``centres`` (S, n_bits): the hash loss's seen-class centres;
* ``class_attr`` (S, A) buffer: the (normalised) attribute rows of the SEEN classes only;
* `COMAENet.train_losses`: one training step's losses for the full model and the variants V1 / V2 / V3.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from zshbench.methods.comae import losses as L
from zshbench.train.images import prepare_images

__all__ = ["COMAENet", "build_backbone", "VARIANT_TERMS"]

# which attribute losses each variant keeps (Table 3): V1 = no point-wise, V2 = no pair-wise, V3 = no class-wise
VARIANT_TERMS: dict[str, tuple[str, ...]] = {
    "full": ("point", "pair", "class"),
    "v1": ("pair", "class"),
    "v2": ("point", "class"),
    "v3": ("point", "pair"),
}


def build_backbone(p: dict[str, Any]) -> nn.Module:
    """The timm CNN of a resolved profile (random init; pretrained weights are loaded by the hasher).

    No classifier and no pooling: ``forward`` returns the last feature map. ``output_stride`` keeps a spatial
    map on small inputs (resnet at 32 x 32 with output_stride 8 gives 4 x 4).
    """
    import timm

    return timm.create_model(
        p["backbone"], pretrained=False, num_classes=0, global_pool="", output_stride=int(p["output_stride"])
    )


def _hadamard_theta(u: torch.Tensor, v: torch.Tensor, out: nn.Linear, slope: float) -> torch.Tensor:
    """``out(LeakyReLU(u_n * v_k))`` for every position n and attribute k -> (B, A, HW), without the
    (B, A, HW, hid) tensor of the direct form.

    Per hidden unit, LeakyReLU(x y) = y LeakyReLU(x) when y >= 0 and y g(x) when y < 0, with g(x) = x for x < 0
    and slope * x otherwise (= (1 + slope) x - LeakyReLU(x)). So sum_h w_h LeakyReLU(u_h v_h) =
    LeakyReLU(u) . (w v [v >= 0]) + g(u) . (w v [v < 0]): two (B HW, hid) x (hid, A) products. The same
    function and gradients as the direct form (``tests/methods/test_comae.py`` compares both); version 3 of the
    method (the direct form cost 60% of a training step with fashion's 384 side-information dimensions).
    """
    lu = F.leaky_relu(u, slope)  # (B, HW, hid)
    gu = (1.0 + slope) * u - lu
    wv = out.weight[0].to(v.dtype) * v  # (A, hid)
    nonneg = v >= 0
    m = lu @ torch.where(nonneg, wv, 0.0).t() + gu @ torch.where(nonneg, 0.0, wv).t()  # (B, HW, A)
    if out.bias is not None:
        m = m + out.bias[0]
    return m.transpose(1, 2)


class COMAENet(nn.Module):
    """COMAE's modules. ``p`` is a resolved profile (see profiles.py).

    Args:
        p: resolved hyper-parameters (backbone, img_size, theta, theta_hidden, variant, ...).
        n_bits: code length.
        class_attr: (S, A) normalised attribute rows of the seen classes.
        variant: "full", "v1", "v2" or "v3" (Table 3); "v3" has no class-wise map W.
    """

    def __init__(self, p: dict[str, Any], n_bits: int, class_attr: torch.Tensor, variant: str = "full"):
        super().__init__()
        self.p = dict(p)
        self.variant = variant
        self.terms = VARIANT_TERMS[variant]
        self.backbone = build_backbone(p)
        c = int(self.backbone.num_features)
        s, a = class_attr.shape
        self.register_buffer("class_attr", class_attr.float().clone())
        # p_k, one per attribute (eq. 1). dot Theta: N(0, (gain / sqrt(C))^2), so that p_k . f_ij is at the scale of
        # f; hadamard Theta: N(0, std^2), so that V p_k starts at the scale of U f_ij (their product is the signal)
        self.theta_net: nn.Module | None = None
        if p["theta"] == "hadamard":
            self.prototypes = nn.Parameter(torch.randn(a, c) * float(p["prototype_init_std_hadamard"]))
            hid = int(p["theta_hidden"])
            self.theta_net = nn.ModuleDict({"U": nn.Linear(c, hid), "V": nn.Linear(c, hid), "v": nn.Linear(hid, 1)})
        else:
            self.prototypes = nn.Parameter(torch.randn(a, c) * float(p["prototype_init_gain"]) / c**0.5)
        # eq. 5: g(x)^T W a_c; the variant without the class-wise term has no W (nothing would train it)
        self.W = nn.Parameter(torch.randn(c, a) * float(p["w_init_gain"]) / c**0.5) if "class" in self.terms else None
        self.hash_layer = nn.Linear(c, n_bits, bias=bool(p["hash_bias"]))  # eq. 6 (on g(x), see README.md)
        # hash-loss centres of the SEEN classes
        self.centres = nn.Parameter(torch.randn(s, n_bits) * float(p["centre_init_std"]))
        # input normalisation: the backbone's own (timm's pretrained_cfg; ImageNet's when it has none)
        cfg = getattr(self.backbone, "pretrained_cfg", {}) or {}
        mean, std = cfg.get("mean", IMAGENET_DEFAULT_MEAN), cfg.get("std", IMAGENET_DEFAULT_STD)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    # -- inputs ----------------------------------------------------------------------------------------
    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, C) -> normalised float (B, 3, S, S): grey repeated to 3 channels, resized to S."""
        return prepare_images(images, self.p["img_size"], self.mean, self.std)

    # -- forward pieces --------------------------------------------------------------------------------
    def features(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """f(x): the backbone's last feature map (B, C, H, W)."""
        return self.backbone(self.prepare(images_uint8))

    def attribute_maps(self, fmap: torch.Tensor) -> torch.Tensor:
        """Eq. 1: similarity maps M (B, A, H*W), M[b, k, ij] = Theta(p_k, f_ij)."""
        f = fmap.flatten(2)  # (B, C, HW)
        if self.theta_net is None:
            return torch.einsum("kc,bcn->bkn", self.prototypes.to(f.dtype), f)
        u = self.theta_net["U"](f.transpose(1, 2))  # (B, HW, hid)
        v = self.theta_net["V"](self.prototypes.to(u.dtype))  # (A, hid)
        return _hadamard_theta(u, v, self.theta_net["v"], float(self.p["theta_negative_slope"]))

    @staticmethod
    def predict_attributes(maps: torch.Tensor) -> torch.Tensor:
        """Eq. 1: a_hat_k = max over the positions of M^k -> (B, A)."""
        return maps.amax(dim=-1)

    @staticmethod
    def pool(fmap: torch.Tensor) -> torch.Tensor:
        """g(x): global average pooling (B, C)."""
        return fmap.mean(dim=(2, 3))

    def relaxed_code(self, g: torch.Tensor) -> torch.Tensor:
        """Eq. 6 relaxed (Sec. 3.5): h = tanh(W_h g + b_h)."""
        return torch.tanh(self.hash_layer(g))

    @torch.no_grad()
    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """Inference: h (B, n_bits) in float32 (the hasher takes the sign)."""
        return self.relaxed_code(self.pool(self.features(images_uint8))).float()

    # -- training --------------------------------------------------------------------------------------
    def train_losses(
        self,
        images_uint8: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Losses of one step: L = lambda_1 L_point + lambda_2 L_pair + lambda_3 L_class + lambda_hash L_hash.

        Args:
            images_uint8: (B, H, W, C) uint8 images.
            labels: (B,) seen-class indices.
            generator: CPU generator of the negative sampling of L_pair.

        Returns:
            (total loss, {"point", "pair", "class", "hash": detached parts present in this variant}).
        """
        p = self.p
        fmap = self.features(images_uint8)
        a_true = self.class_attr[labels]  # (B, A): the image's class-level attribute vector
        g = self.pool(fmap)
        parts: dict[str, torch.Tensor] = {}
        if "point" in self.terms or "pair" in self.terms:
            a_hat = self.predict_attributes(self.attribute_maps(fmap))
            if "point" in self.terms:
                parts["point"] = L.point_loss(a_hat, a_true, p["point_reduction"])
            if "pair" in self.terms:
                pos, neg = L.pair_masks(a_true, p["epsilon"])
                neg_k = L.sample_negatives(neg, p["n_negatives"], generator)
                parts["pair"] = L.pair_loss(a_hat, pos, neg_k, p["tau"], p["pair_similarity"], p["pair_form"])
        if "class" in self.terms:
            parts["class"] = L.class_loss(g, self.W, self.class_attr, labels)
        parts["hash"] = L.hash_loss(self.relaxed_code(g), self.centres, labels, p["am_scale"], p["am_margin"])
        total = L.total_loss(parts, (p["lambda_point"], p["lambda_pair"], p["lambda_class"]), p["lambda_hash"])
        return total, {k: v.detach() for k, v in parts.items()}
