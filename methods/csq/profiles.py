"""CSQ's hyper-parameter profiles: every constant of the method is set here.

``tiny`` (the default): the shared CPU backbone (`zshbench.train.backbones.BACKBONE_PROFILES["tiny"]`: timm
``resnet10t`` from random initialisation at 32 x 32) and a budget chosen from a measured learning curve
(README.md, "Training budget"). ``paper``: ResNet-101 at 224 with ImageNet weights and COMAE Sec. 4.1.4's
setting for its baselines (COMAE Table 1 reports CSQ): Adam, lr 1e-4, weight decay 5e-4, batch 64, 10 epochs,
the method's own default hyper-parameters.

Comments: "paper" = the CSQ paper (Yuan et al., CVPR 2020) says so; "NOT IN PAPER" = our choice (README.md).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    # lambda_1, the weight of the quantization loss L_Q: NOT IN PAPER as a number here; 1e-4 is DeepHash-pytorch's
    # value and the authors' README command for 64-bit AlexNet (their 16/32-bit and ResNet commands use 1e-3, 0.05)
    "lambda_q": 1e-4,
    # paper: L_Q = sum log cosh(|h| - 1); "square" = (|h| - 1)^2, what the authors' code and DeepHash-pytorch compute
    "quantization": "logcosh",
    # paper: Hadamard centres when K is a power of 2 and m <= 2K, Bernoulli(0.5) bits otherwise ("auto");
    # "bernoulli" forces random centres
    "centres": "auto",
    "batch_size": 64,  # COMAE Sec. 4.1.4 (the baselines' setting)
    "weight_decay": 5e-4,  # COMAE Sec. 4.1.4
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],
        **_COMMON,
        "lr": 1e-3,  # NOT IN PAPER: the CPU profile trains a random-init backbone (Adam)
        # NOT IN PAPER: the learning curve on shapes still rises at 16 epochs; 8 keeps a run at about two minutes
        # (README.md, "Training budget")
        "epochs": 8,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],
        **_COMMON,
        "lr": 1e-4,  # COMAE Sec. 4.1.4 (Adam)
        "epochs": 10,  # COMAE Sec. 4.1.4
    },
}
