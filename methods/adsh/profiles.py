"""ADSH's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict per value).

One zshbench epoch is one OUTER iteration of ADSH's Algorithm 1: sample ``num_samples`` query items Omega from
the training set, train the network ``inner_epochs`` passes over them against the fixed database codes V, then
update V bit by bit.

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 and the benchmark
run every baseline on it) with the settings of the authors' PyTorch code (jiangqy/ADSH-AAAI2018,
``ADSH_pytorch/ADSH_CIFAR_10.py`` defaults): T_out = 50 outer iterations, T_in = 3 epochs each, |Omega| = 2000,
gamma = 200, SGD (no momentum) lr 1e-3, weight decay 5e-4, batch 64, the learning rate divided by 10 after outer
iterations 11, 21, 31 and 41.

``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), Adam with
a constant learning rate; the objective exactly as in ``paper``. Its epochs (outer iterations) come from the
learning curve in README.md.

Comments: "paper" = the ADSH paper; "code" = the authors' PyTorch code; "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_OBJECTIVE: dict[str, Any] = {
    "gamma": 200.0,  # paper/code: weight of the quantization term gamma (the code's --gamma default)
    "num_samples": 2000,  # paper/code: |Omega|, query items sampled per outer iteration (capped at the train set)
    "inner_epochs": 3,  # paper/code: T_in, passes over Omega per outer iteration (the code's --epochs)
    # code: the soft constraint S_ij in {1, -r}, r = #similar / #dissimilar pairs (README.md row 5: the paper's
    # S_ij in {-1, +1}, "paper", collapses every code onto one with the many classes of a zero-shot split)
    "similarity": "balanced",
    "v_init": "zeros",  # code: V = 0 before the first update (the paper does not say)
    "hash_bias": True,  # code: nn.Linear(features, c) with bias, then tanh
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_OBJECTIVE,
        "optimizer": "adam",  # OURS: Adam trains the from-scratch CPU backbone in few steps
        "lr": 1e-3,  # OURS
        "momentum": 0.0,  # unused by Adam
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # code: one learning rate for the whole network
        "batch_size": 64,  # code
        "epochs": 8,  # OURS: outer iterations T_out, from the learning curve (README.md)
        "lr_milestones": (),  # OURS: constant learning rate
        "lr_gamma": 0.1,
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_OBJECTIVE,
        "optimizer": "sgd",  # code: optim.SGD without momentum
        "lr": 1e-3,  # code
        "momentum": 0.0,  # code
        "weight_decay": 5e-4,  # code
        "backbone_lr_scale": 1.0,  # code: the whole network is fine-tuned with one learning rate
        "batch_size": 64,  # code
        "epochs": 50,  # code: T_out = max_iter
        "lr_milestones": (0.22, 0.42, 0.62, 0.82),  # code: lr / 10 after outer iterations 11, 21, 31, 41 of 50
        "lr_gamma": 0.1,  # code
    },
}
