"""RAZH's hyper-parameter profiles: every value that is not in the paper is chosen HERE, in one place.

``paper``: the paper's setting (Sec. IV-A): ViT-B/16 at 224 x 224 (d_v = 768), GloVe word vectors (d_a = 300),
K' = 9 parts (Fig. 10), mask ratio 0.5 (Table V), Adam with betas (0.9, 0.999); alpha and beta per dataset and
code length from Table VIII (see `TABLE_VIII`).

``tiny`` (the default, CPU-friendly): a small ViT for 32 x 32 inputs (patch 4, dim 192, depth 4, 3 heads) and
a 2-layer 128-d decoder; trains on ``shapes-zsh`` in a few minutes on two CPU cores.

Keys marked NOT IN PAPER are our choices (documented in README.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "TABLE_VIII", "DEFAULT_ALPHA_BETA", "resolve_profile", "paper_alpha_beta"]

_COMMON: dict[str, Any] = {
    "n_parts": 9,  # K' (paper Fig. 10)
    "mask_ratio": 0.5,  # paper Table V
    "betas": (0.9, 0.999),  # Adam (paper)
    "kmeans_iters": 10,  # NOT IN PAPER: fixed Lloyd iterations per step
    "threshold": 0.0,  # NOT IN PAPER: cosine-similarity threshold of eq. 3
    "st_temperature": 0.1,  # NOT IN PAPER: softmax temperature of the straight-through attribute choice
    "hash_scale": 0.5,  # NOT IN PAPER (DPSH's 1/2): Theta_ij = scale * h_i^T h_j in eq. 10
    "norm_pix": True,  # NOT IN PAPER: MAE's per-patch normalised pixel targets
    "attribute_threshold": 0.5,  # NOT IN PAPER: T^(i) = attributes with value >= 0.5 * (the class row's max)
    "weight_decay": 0.0,  # NOT IN PAPER
    "grad_clip": 1.0,  # NOT IN PAPER
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **_COMMON,
        "encoder": "vit",
        "img_size": 32, "patch_size": 4, "dim": 192, "depth": 4, "heads": 3,
        "decoder_dim": 128, "decoder_depth": 2, "decoder_heads": 4,
        "attr_dim": 128,
        "pool": "avg",  # NOT IN PAPER: mean patch token (a from-scratch ViT's class token is nearly input-blind early on)
        "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),
        "weights": "none",
        # NOT IN PAPER (training budget of the CPU profile)
        "epochs": 2, "batch_size": 64, "lr": 5e-4,
        "alpha": 1.0, "beta": 1.0,
    },
    "paper": {
        **_COMMON,
        "encoder": "timm", "timm_name": "vit_base_patch16_224",
        "img_size": 224, "patch_size": 16, "dim": 768, "depth": 12, "heads": 12,
        # NOT IN PAPER: decoder size (MAE's lightweight decoder, 512-d x 8 blocks)
        "decoder_dim": 512, "decoder_depth": 8, "decoder_heads": 16,
        "attr_dim": 300,  # d_a = 300 (GloVe)
        "pool": "token",  # NOT IN PAPER: the pretrained ViT's class token
        "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),  # replaced by the timm weights' own normalisation
        "weights": "pretrained",
        # NOT IN PAPER: training budget
        "epochs": 50, "batch_size": 64, "lr": 1e-4,
        "alpha": None, "beta": None,  # from TABLE_VIII (or DEFAULT_ALPHA_BETA)
    },
}

# ---- Table VIII of the paper (alpha, beta per dataset and code length) -----------------------------------
# The values could NOT be retrieved while writing this implementation (no access to the paper's table from the
# build environment). Fill them in here as {dataset: {n_bits: (alpha, beta)}}; until then every dataset uses
# DEFAULT_ALPHA_BETA, which is OUR choice, not the paper's.
TABLE_VIII: dict[str, dict[int, tuple[float, float]]] = {
    # "awa2": {24: (?, ?), 48: (?, ?), 64: (?, ?), 128: (?, ?)},
    # "cub": {...},
    # "cifar10": {...},
}
DEFAULT_ALPHA_BETA = (1.0, 1.0)  # NOT IN PAPER


def paper_alpha_beta(dataset: str, n_bits: int) -> tuple[tuple[float, float], str]:
    """(alpha, beta) of Table VIII for ``dataset`` at ``n_bits``, and where they came from."""
    row = TABLE_VIII.get(dataset.lower().split("-")[0], {})
    if n_bits in row:
        return row[n_bits], "paper Table VIII"
    return DEFAULT_ALPHA_BETA, "default (Table VIII values not available)"


def resolve_profile(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The profile ``name`` with the non-None ``overrides`` applied."""
    p = dict(PROFILES[name])
    p.update({k: v for k, v in overrides.items() if v is not None})
    return p
