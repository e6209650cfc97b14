"""Profiles of the pairwise supervised baselines DPSH, DSH and HashNet: every constant of the three methods.

The losses (``losses.py``), the network and the hashers (``common.py``, ``dpsh.py``, ``dsh.py``, ``hashnet.py``)
read every number from a resolved profile. What is NOT here lives in shared zshbench code (``README.md``,
"Outside these methods"): the backbone (`zshbench.train.backbones`), image preprocessing, the training loop.

Two profiles per method, built from the shared backbone profiles (`BACKBONE_PROFILES`):

* ``tiny`` (the default): resnet10t from random initialisation at 32 x 32, Adam at a CPU-friendly learning
  rate; ``epochs`` chosen from a learning curve on shapes at 64 bits (README.md, "Budgets");
* ``paper``: ImageNet-pretrained ResNet-101 at 224 with the training setting of COMAE Sec. 4.1.4 (the paper that
  runs these baselines on ResNet-101: Adam, lr 1e-4, weight decay 5e-4, batch 64, 10 epochs).

The loss hyper-parameters are each method's own ("their default hyperparameter configurations", COMAE Sec.
4.1.4). Comments: "paper" = printed in the method's paper; "CODE" = the authors' published code (the paper
gives no value); "NOT IN PAPER" = our choice; README.md gives the reason for each.
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES", "TRAINING"]

# the training setting every method shares, per profile
TRAINING: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],
        "batch_size": 64,  # COMAE Sec. 4.1.4 (as in the paper profile)
        "lr": 1e-3,  # NOT IN PAPER: the CPU profile trains from scratch (COMAE's tiny profile uses the same)
        "weight_decay": 5e-4,  # COMAE Sec. 4.1.4
        "grad_clip": None,  # NOT IN PAPER (none)
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],  # COMAE Sec. 4.1.4: ResNet-101 for every baseline; weights/224 px: shared
        "batch_size": 64,  # COMAE Sec. 4.1.4
        "lr": 1e-4,  # COMAE Sec. 4.1.4 (Adam)
        "weight_decay": 5e-4,  # COMAE Sec. 4.1.4
        "epochs": 10,  # COMAE Sec. 4.1.4
        "grad_clip": None,  # NOT IN PAPER (none)
    },
}

_DPSH: dict[str, Any] = {
    # eq. 3-5: weight of the quantisation term ||b_i - u_i||^2. CODE: 10 (DPSH-pytorch's CIFAR-10 demo); the
    # value printed in the paper could not be checked here (README.md, row D7)
    "eta": 10.0,
    # eq. 5 / eq. 7: "all" = every training item j (u_j of items outside the batch from a memory bank, as in the
    # authors' code); "batch" = the pairs inside the mini-batch only (NOT IN PAPER, an option)
    "pairs": "all",
}

_DSH: dict[str, Any] = {
    "alpha": 0.01,  # eq. 3: weight of the regulariser || |b| - 1 ||_1 (paper; CODE: tradeoff 0.01)
    "margin_per_bit": 2.0,  # eq. 1 / eq. 3: m = 2k (paper; CODE: bi_margin 24 at 12 bits)
}

_HASHNET: dict[str, Any] = {
    # eq. 2: sigmoid(alpha x); alpha = sigmoid_scale / K. CODE: sigmoid_param = 10 / hash_bit
    "sigmoid_scale": 10.0,
    # eq. 3: w_ij = |S| / |S_1| for similar, |S| / |S_0| for dissimilar pairs ("balanced"); "none": w_ij = 1
    "weighting": "balanced",
    # Sec. 3.2, Alg. 1: h = tanh(beta_t z) with beta_0 = 1 (paper), beta growing stage by stage. The sequence is
    # NOT IN PAPER; CODE: beta = (1 + 0.005 * iter) ** 0.5, updated every 200 of 10,000 iterations, i.e.
    # beta_t = (1 + t) ** 0.5 over 50 stages. Here the 50 stages span the run's budget (README.md, row H8)
    "beta_init": 1.0,
    "beta_power": 0.5,
    "continuation_stages": 50,
}

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "dpsh": {
        "tiny": {**TRAINING["tiny"], **_DPSH, "epochs": 8},  # epochs: learning curve (README.md, "Budgets")
        "paper": {**TRAINING["paper"], **_DPSH},
    },
    "dsh": {
        "tiny": {**TRAINING["tiny"], **_DSH, "epochs": 16},  # epochs: learning curve (README.md, "Budgets")
        "paper": {**TRAINING["paper"], **_DSH},
    },
    "hashnet": {
        "tiny": {**TRAINING["tiny"], **_HASHNET, "epochs": 16},  # epochs: learning curve (README.md, "Budgets")
        "paper": {**TRAINING["paper"], **_HASHNET},
    },
}
