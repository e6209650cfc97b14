"""DDSH's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict per value).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it) with the training setting of the authors' release (jiangqy/DDSH-TIP2018: ``load_data.m``,
``trainDDSH.m``): m = 100 sampled columns, redrawn every 3 passes, 50 x 3 = 150 passes over the Gamma items,
batch 128, plain SGD with weight decay 5e-4 and the learning rate log-spaced from 1e-2 to 1e-4 over the passes.
``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), Adam at a
constant learning rate, batch 64; the method exactly as in ``paper``. Its ``epochs`` (passes) come from the
learning curve in README.md.

Comments: "CODE" = the authors' release (the paper's text could not be read here); "OURS" = our choice.
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_METHOD: dict[str, Any] = {
    "sample_column": 100,  # CODE: m, the number of sampled items Omega with discrete codes (param.sample_column)
    "iters": 3,  # CODE: passes over Gamma per sample of Omega (param.iters); each pass starts with the discrete step
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_METHOD,
        "optimizer": "adam",  # OURS: Adam trains the from-scratch CPU backbone in a few passes
        "lr": 1e-3,  # OURS (the other deep baselines' tiny value)
        "lr_final": None,  # OURS: constant learning rate
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # CODE (update_net)
        "backbone_lr_scale": 1.0,  # CODE: one learning rate for the whole network
        "batch_size": 64,  # OURS (COMAE Sec. 4.1.4's batch, as the other tiny profiles)
        "epochs": 8,  # OURS: passes over Gamma; the zoo's 8-epoch CPU cap (README.md, "Budget")
        "grad_clip": None,  # OURS (none)
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_METHOD,
        "optimizer": "sgd",  # CODE: update_net, a plain gradient step
        "lr": 1e-2,  # CODE: the first value of logspace(-2, -4, epochs * iters)
        "lr_final": 1e-4,  # CODE: the last value; log-spaced per pass in between
        "momentum": 0.0,  # CODE: no momentum
        "weight_decay": 5e-4,  # CODE: update_net
        "backbone_lr_scale": 1.0,  # CODE: every layer with the same learning rate
        "batch_size": 128,  # CODE: param.batch_size
        "epochs": 150,  # CODE: param.epochs x param.iters = 50 x 3 passes over Gamma
        "grad_clip": None,  # OURS (none)
    },
}
