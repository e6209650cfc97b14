"""COMAE's hyper-parameter profiles: every value that is not in the paper is chosen HERE, in one place.

``paper``: the paper's setting (Sec. 4): ImageNet-pretrained ResNet-101 at 224 x 224 (torchvision weights, as
timm's ``resnet101.tv_in1k``), lambda_1 = 10, lambda_2 = 1, lambda_3 = 10, epsilon = 0.9, Adam with lr 1e-4 and
weight decay 5e-4, batch 64, 10 epochs.

``tiny`` (the default, CPU-friendly): timm ``resnet10t`` with ``output_stride=8`` at 32 x 32 (a 4 x 4 x 512
feature map), random init, a larger learning rate; trains on ``shapes-zsh`` in a few minutes on two CPU cores.

Keys marked NOT IN PAPER are our choices (documented in README.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "resolve_profile"]

_COMMON: dict[str, Any] = {
    "lambda_point": 10.0, "lambda_pair": 1.0, "lambda_class": 10.0,  # paper Sec. 4
    "epsilon": 0.9,  # paper Sec. 4 (on the attribute scale given by attribute_norm, see README.md)
    "weight_decay": 5e-4,  # paper
    "batch_size": 64,  # paper
    # NOT IN PAPER: the published code's AM-softmax values (s = 10, m = 0.2)
    "am_scale": 10.0, "am_margin": 0.2,
    "tau": 1.0,  # NOT IN PAPER: temperature of eq. 4
    "n_negatives": 16,  # NOT IN PAPER: k sampled negatives per (attribute, anchor)
    "pair_similarity": "dot",  # the paper's a_hat_i . a_hat_j; "cosine" is an option (NOT IN PAPER)
    "theta": "dot",  # Theta of eq. 1: dot product (APN); "mlp" = the small non-linear network option
    "theta_hidden": 64,  # NOT IN PAPER: hidden width of the "mlp" Theta
    "attribute_norm": "max",  # NOT IN PAPER: divide the attribute matrix by its largest absolute value
    "grad_clip": None,  # NOT IN PAPER (none)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **_COMMON,
        "backbone": "resnet10t", "output_stride": 8, "img_size": 32,  # NOT IN PAPER: CPU profile
        "weights": "none",
        "epochs": 3, "lr": 1e-3,  # NOT IN PAPER: training budget of the CPU profile (~190 steps)
    },
    "paper": {
        **_COMMON,
        "backbone": "resnet101.tv_in1k", "output_stride": 32, "img_size": 224,
        "weights": "pretrained",
        "epochs": 10, "lr": 1e-4,  # paper
    },
}


def resolve_profile(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The profile ``name`` with the non-None ``overrides`` applied."""
    p = dict(PROFILES[name])
    p.update({k: v for k, v in overrides.items() if v is not None})
    return p
