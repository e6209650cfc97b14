"""DPN's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict per value).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it) with the training settings of the authors' code (kamwoh/DPN ``main.py`` defaults, which its
README says give the paper's numbers): SGD, momentum 0.9, weight decay 5e-4, lr 1e-4, batch 256, 200 epochs, the
learning rate divided by 10 after half of them; margin m = 1, random (Bernoulli) target codes, no extra terms.

``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), Adam
with a larger learning rate, batch 64; the loss exactly as in ``paper``. Its epochs come from the learning curve
in README.md.

Comments: "paper" = the DPN paper; "code" = the authors' code (the paper's text does not give the value, or we
could not check it); "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_LOSS: dict[str, Any] = {
    "margin": 1.0,  # code: the margin m of the paper's polarization loss (the value: the authors' --margin default)
    "codes": "bernoulli",  # paper: random target codes per class ("random codes suffice"); code: sign of N(0, 1)
    "reg": 0.0,  # code: weight of mean(v^2) (default 0; FIRe's / COMAE's dpn.yaml set 0.1): not in the paper
    "hash_bias": False,  # code: hash layer without bias
    "hash_init_std": 0.01,  # code: hash layer weights ~ N(0, 0.01^2)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_LOSS,
        "optimizer": "adam",  # OURS: Adam trains the from-scratch CPU backbone in a few epochs
        "lr": 1e-3,  # OURS
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # code: one learning rate for the whole network
        "batch_size": 64,  # OURS (COMAE Sec. 4.1.4's batch)
        "epochs": 8,  # OURS: from the learning curve (README.md)
        "lr_milestones": (),  # OURS: constant learning rate
        "lr_gamma": 0.1,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_LOSS,
        "optimizer": "sgd",  # code
        "lr": 1e-4,  # code
        "momentum": 0.9,  # code
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # code: the whole network is fine-tuned with one learning rate
        "batch_size": 256,  # code
        "epochs": 200,  # code
        "lr_milestones": (0.5,),  # code: StepLR with step_size = epochs / 2, gamma 0.1
        "lr_gamma": 0.1,  # code
    },
}
