"""OrthoHash's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict each).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it) with the training settings of the authors' code (kamwoh/orthohash ``main.py`` defaults, which its
README says give the paper's numbers): Adam, lr 1e-4 (x 0.1 for the backbone), weight decay 5e-4, batch 256, 100
epochs, the learning rate divided by 10 after 80 % of them; s = 8, m = 0.2, Bernoulli codebook, BN on the codes.

``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), Adam with
a larger learning rate and the SAME rate for the backbone (it starts from scratch), batch 64; the loss exactly as
in ``paper``. Its epochs come from the learning curve in README.md.

Comments: "paper" = the OrthoHash paper; "code" = the authors' code (the paper's text does not give the value, or
we could not check it); "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_LOSS: dict[str, Any] = {
    "scale": 8.0,  # code: the scale s of the paper's loss (the value: the authors' --scale default)
    "margin": 0.2,  # code: the cosine margin m (the authors' default; their README runs CIFAR-10 with 0.3)
    "quan": 0.0,  # code: --quan 0 (weight of the optional cosine quantization term; the paper's single objective)
    "codes": "bernoulli",  # code: --codebook-method B (FIRe's / COMAE's orthocos.yaml: M = "spread")
    "hash_bias": False,  # code: the hash layer has no bias (BN follows)
    "hash_init_std": 0.01,  # code: hash layer weights ~ N(0, 0.01^2)
    "bn_momentum": 0.1,  # code: BatchNorm1d(K, momentum=0.1) on the codes (paper: BN for code balance)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_LOSS,
        "optimizer": "adam",  # code
        "lr": 1e-3,  # OURS: a from-scratch CPU backbone needs a larger rate
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # OURS: the code's 0.1 is for an ImageNet-pretrained backbone
        "batch_size": 64,  # OURS (COMAE Sec. 4.1.4's batch; FIRe's orthocos.yaml)
        "epochs": 8,  # OURS: from the learning curve (README.md)
        "lr_milestones": (),  # OURS: constant learning rate
        "lr_gamma": 0.1,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_LOSS,
        "optimizer": "adam",  # code
        "lr": 1e-4,  # code
        "momentum": 0.9,  # unused by Adam
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 0.1,  # code: backbone_lr_scale = 0.1
        "batch_size": 256,  # code: main.py --bs default
        "epochs": 100,  # code
        "lr_milestones": (0.8,),  # code: StepLR with step_size = 0.8 * epochs, gamma 0.1
        "lr_gamma": 0.1,  # code
    },
}
