"""TBH's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict each).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it), FROZEN: TBH learns on fixed pre-trained features (the authors' VGG-16 fc7 4096-d features) and
reconstructs them; the authors' settings (ymcidence/TBH, ``train/tbh_train.py``): Adam 1e-4 for both players,
batch 256, 100,000 iterations, a 1024-unit hidden layer, a 512-d continuous bottleneck.

``tiny`` (the default, CPU): the same on the shared tiny backbone (resnet10t from random initialisation at
32 x 32, frozen: its pooled features are what TBH encodes and reconstructs), WITHOUT the adversarial regularisers
(``adv_weight=0``: on random features they collapse the codes within the budget; README.md row 17 gives the
measured effect; ``--set adv_weight=1`` restores them), the budget in epochs from the measured learning curve
(README.md, "The tiny budget").

Comments: "paper" = the TBH paper; "code" = the authors' code (the paper's text does not give the value, or we
could not check it); "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    "hidden": 1024,  # code: middle_dim of the encoder and the decoder
    "cont_dim": 512,  # code: cbn_dim, the continuous bottleneck's size
    "cont_sigmoid": True,  # code: the continuous bottleneck is Dense(512, sigmoid) (the paper's figure: linear)
    "adj_power": 1.4,  # code: A = (1 - d_H / K)^1.4 (the paper's formula: power 1)
    "sampling": "stochastic",  # paper: eps ~ U(0, 1) in training; "threshold" = the released code's eps = 1/2
    "adv_weight": 1.0,  # code: actor = rec - adv_1 - adv_2, critic = adv_1 + adv_2
    "rec_reduction": "sum",  # code: tf.nn.l2_loss over the batch (a sum)
    "optimizer": "adam",  # code
    "lr": 1e-4,  # code: both players' Adam
    "weight_decay": 0.0,  # code
    "backbone_lr_scale": 0.0,  # paper / code: fixed input features (the backbone is not trained)
    "lr_milestones": (),  # code: constant learning rate
    "lr_gamma": 0.1,  # unused without milestones
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_COMMON,
        "adv_weight": 0.0,  # OURS: the adversarial terms collapse the codes on random features (README.md row 17)
        "batch_size": 256,  # code
        "iterations": 0,  # 0: the budget is `epochs`
        "epochs": 8,  # OURS: the maximum of the measured learning curve (README.md, "The tiny budget")
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_COMMON,
        "batch_size": 256,  # code
        "iterations": 100_000,  # code: max_iter; `prepare` turns it into epochs of the training set
        "epochs": 1,  # replaced by ceil(iterations * batch_size / training items) in `prepare`
    },
}
