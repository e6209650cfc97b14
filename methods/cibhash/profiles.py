"""CIBHash's hyper-parameter profiles: every constant of the method is here (README.md gives one verdict each).

``paper``: the shared paper backbone (ResNet-101, ImageNet weights, 224 x 224: COMAE Sec. 4.1.4 runs every
baseline on it), FROZEN as in the authors' code (a pre-trained VGG-16 whose weights are not trained; only the
encoder MLP learns), with the paper's / the authors' settings: Adam lr 1e-3, batch 64, tau 0.3, beta 1e-3,
the authors' augmentations.

``tiny`` (the default, CPU): the shared tiny backbone (resnet10t from random initialisation at 32 x 32), TRAINED
(a frozen random backbone gives the contrastive loss nothing to learn; README.md row 2), the budget from the
measured learning curve (README.md, "The tiny budget").

Comments: "paper" = the CIBHash paper; "code" = the authors' code (the paper's text does not give the value, or
we could not check it); "OURS" = our choice (README.md says why).
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    "hidden": 1024,  # code: encoder Linear(features, 1024) -> ReLU -> Linear(1024, K)
    "temperature": 0.3,  # paper / code: tau of the contrastive loss
    "beta": 1e-3,  # paper / code: the weight of the KL term
    "sampling": "stochastic",  # paper: b ~ Bernoulli(sigmoid(f(x))); "threshold" = the code's sign(q - 1/2)
    "optimizer": "adam",  # code
    "lr": 1e-3,  # code
    "weight_decay": 0.0,  # code: Adam without weight decay
    "batch_size": 64,  # code
    "lr_milestones": (),  # code: constant learning rate
    "lr_gamma": 0.1,  # unused without milestones
    # the two views' augmentations (augment.py), the authors' torchvision pipeline
    "crop_scale": (0.5, 1.0),  # code: RandomResizedCrop(scale=(0.5, 1.0))
    "jitter": (0.4, 0.4, 0.4, 0.1),  # code: ColorJitter(0.4, 0.4, 0.4, 0.1)
    "jitter_p": 0.7,  # code: RandomApply([color_jitter], p=0.7)
    "grey_p": 0.2,  # code: RandomGrayscale(p=0.2)
    "blur_p": 0.5,  # code: the SimCLR-style GaussianBlur class (applied with probability 1/2)
    "blur_kernel": 3,  # code: GaussianBlur(3)
    "blur_sigma": (0.1, 2.0),  # code: sigma ~ U(0.1, 2.0)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],  # resnet10t, 32 x 32, random init (zshbench's shared CPU backbone)
        **_COMMON,
        "backbone_lr_scale": 1.0,  # OURS: the random-init backbone trains with the encoder (README.md row 2)
        "epochs": 8,  # OURS: the zoo's 8-epoch CPU cap; the curves on shapes and fashion (README.md, "The tiny budget")
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # resnet101.tv_in1k at 224 (COMAE Sec. 4.1.4: ResNet101 for every baseline)
        **_COMMON,
        "backbone_lr_scale": 0.0,  # code: the pre-trained CNN is frozen, only the encoder MLP trains
        "epochs": 60,  # code: the authors' default number of epochs
    },
}
