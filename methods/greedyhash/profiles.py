"""GreedyHash's hyper-parameter profiles: every constant of the method is set here.

``tiny`` (the default): the shared CPU backbone (`zshbench.train.backbones.BACKBONE_PROFILES["tiny"]`: timm
``resnet10t`` from random initialisation at 32 x 32) and a budget chosen from a measured learning curve
(README.md, "Training budget"). ``paper``: ResNet-101 at 224 with ImageNet weights and COMAE Sec. 4.1.4's
setting for its baselines (COMAE Table 1 reports GreedyHash): Adam, lr 1e-4, weight decay 5e-4, batch 64, 10
epochs, the method's own default hyper-parameters.

Comments: "paper" = the GreedyHash paper (Su et al., NeurIPS 2018) says so; "NOT IN PAPER" = our choice.
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    # alpha, the weight of the penalty || |h| - 1 ||_p^p: NOT IN PAPER as a number here; 0.1 is the authors'
    # supervised scripts' value (ssppp/GreedyHash cifar1.py / cifar2.py) and DeepHash-pytorch's
    "alpha": 0.1,
    "power": 3,  # paper: p = 3 (the cubic penalty)
    "classifier_bias": False,  # NOT IN PAPER: the authors' classification layer on the codes has no bias
    "batch_size": 64,  # COMAE Sec. 4.1.4 (the baselines' setting)
    "weight_decay": 5e-4,  # COMAE Sec. 4.1.4 (also the authors' SGD weight decay)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],
        **_COMMON,
        "lr": 1e-3,  # NOT IN PAPER: the CPU profile trains a random-init backbone (Adam)
        "epochs": 8,  # NOT IN PAPER: chosen from the learning curve on shapes (README.md, "Training budget")
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],
        **_COMMON,
        "lr": 1e-4,  # COMAE Sec. 4.1.4 (Adam)
        "epochs": 10,  # COMAE Sec. 4.1.4
    },
}
