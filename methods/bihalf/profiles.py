"""Bi-half's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict each).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it), FROZEN as in the paper's image experiments (a pre-trained VGG-16 whose weights are not trained;
only the hash layer learns), with the settings of the authors' CIFAR-10 script (liyunqianggyn/Deep-Unsupervised-
Image-Hashing, ``ImageHashing/Cifar10_I.py``): SGD, momentum 0.9, weight decay 5e-4, lr 1e-4, batch 32, 300
epochs, the learning rate divided by 10 every 120 epochs; gamma = 6.

``tiny`` (the default, CPU): the same setting on the shared tiny backbone (resnet10t from random initialisation
at 32 x 32, frozen), without the learning-rate steps; one epoch (README.md, "The tiny budget").
``objective="reconstruction"`` is the paper's from-scratch setting (the MNIST autoencoder: a decoder rebuilds the
image from the codes, the encoder trains; its constants below are the authors' autoencoder's where they exist).

Comments: "paper" = the Bi-half paper; "code" = the authors' code (the paper's text does not give the value, or we
could not check it); "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    "hash_bias": True,  # code: nn.Linear(in, K) with its default bias
    "decoder_hidden": 256,  # code: the autoencoder's decoder Linear(K, 256) -> ReLU -> Linear(256, pixels)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_COMMON,
        # everything as in "paper" (the paper's image setting: a frozen backbone, the similarity objective, the
        # authors' optimizer), on the random-init tiny backbone; README.md: what other settings were measured
        "objective": "similarity",  # paper (image hashing)
        "recon_size": 32,  # unused by the similarity objective
        "gamma": 6.0,  # code
        "optimizer": "sgd",  # code
        "lr": 1e-4,  # code
        "momentum": 0.9,  # code
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 0.0,  # paper / code: the backbone is not trained
        "batch_size": 32,  # code
        "epochs": 1,  # OURS: training does not help on the frozen random backbone (README.md, "The tiny budget")
        "lr_milestones": (),  # OURS: constant learning rate (the code divides it by 10 after 40 % of 300 epochs)
        "lr_gamma": 0.1,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_COMMON,
        "objective": "similarity",  # paper: image hashing on pre-trained features (cosine similarities of pairs)
        "recon_size": 32,  # unused by the similarity objective
        "gamma": 6.0,  # code: the image-hashing scripts' gamma
        "optimizer": "sgd",  # code
        "lr": 1e-4,  # code
        "momentum": 0.9,  # code
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 0.0,  # paper / code: pre-trained features, frozen
        "batch_size": 32,  # code
        "epochs": 300,  # code (CIFAR-10 scripts)
        "lr_milestones": (0.4, 0.8),  # code: lr x 0.1 ** (epoch // 120) over 300 epochs
        "lr_gamma": 0.1,  # code
    },
}
