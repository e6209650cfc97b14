"""HashNet: deep learning to hash by continuation ("hashnet").

Cao, Long, Wang, Yu, "HashNet: Deep Learning to Hash by Continuation", ICCV 2017. Weighted maximum likelihood of
the pairwise labels under an adaptive sigmoid of the inner product (eq. 2-4), the weights balancing similar and
dissimilar pairs (eq. 3), on h = tanh(beta z) of the hash layer's output z, beta raised stage by stage during
training (continuation, Alg. 1); codes are sgn(z). See README.md (rows H1-H12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from zshbench.config import POS_INT, POSITIVE
from zshbench.methods.pairwise.common import PairwiseConfig, PairwiseHasher, PairwiseNet, planned_steps
from zshbench.methods.pairwise.losses import continuation_beta, hashnet_loss, hashnet_pair_weights
from zshbench.methods.pairwise.profiles import PROFILES
from zshbench.registry import register_method

__all__ = ["HashNetConfig", "HashNetHasher", "HashNetNet"]


@dataclass
class HashNetConfig(PairwiseConfig):
    """HashNet's fields (None = the profile's value, see profiles.py), besides `PairwiseConfig`'s.

    Attributes:
        sigmoid_scale: alpha of the adaptive sigmoid (eq. 2) times the code length: alpha = sigmoid_scale / K.
        weighting: "balanced" (eq. 3: |S| / |S_1| for similar, |S| / |S_0| for dissimilar pairs) or "none".
        beta_init, beta_power, continuation_stages: beta = beta_init (1 + t) ** beta_power in stage t of
            continuation_stages stages spread evenly over the training steps.
    """

    sigmoid_scale: float | None = None
    weighting: Literal["balanced", "none"] | None = None
    beta_init: float | None = None
    beta_power: float | None = None
    continuation_stages: int | None = None


class HashNetNet(PairwiseNet):
    """`PairwiseNet` (z = the hash layer's output; the codes are sgn(z)) plus the number of training steps
    taken, a buffer (checkpointed, so a resumed fit continues the continuation schedule where it stopped)."""

    def __init__(self, p: dict[str, Any], n_bits: int):
        super().__init__(p, n_bits)
        self.register_buffer("continuation_step", torch.zeros((), dtype=torch.long))


@register_method("hashnet")
class HashNetHasher(PairwiseHasher):
    """HashNet (see the module docstring and README.md)."""

    Config = HashNetConfig
    version = "1"
    profiles = PROFILES["hashnet"]
    config_rules = {
        **PairwiseHasher.config_rules,
        "sigmoid_scale": POSITIVE,
        "beta_init": POSITIVE,
        "beta_power": POSITIVE,
        "continuation_stages": POS_INT,
    }

    def prepare(self, train, p: dict[str, Any]) -> dict[str, Any]:
        """The pair weights of eq. 3 over the training pairs and the number of steps the continuation spans."""
        from zshbench.train import distributed as dd

        p["w_similar"], p["w_dissimilar"] = hashnet_pair_weights(train.labels, p["weighting"])
        world = dd.current().world_size
        p["total_steps"] = planned_steps(len(train), p["batch_size"], p["epochs"], self.config.max_steps, world)
        return {}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        return HashNetNet(p, self.n_bits)

    def beta(self, step: int, p: dict[str, Any]) -> float:
        """beta of the continuation at training step ``step`` (0-based)."""
        return continuation_beta(step, p["total_steps"], p["beta_init"], p["beta_power"], p["continuation_stages"])

    def loss(self, net, batch, p: dict[str, Any], generator):
        images, labels = batch
        beta = self.beta(int(net.continuation_step), p)
        net.continuation_step += 1
        h = torch.tanh(beta * net(images).float())
        total, parts = hashnet_loss(h, labels, p["sigmoid_scale"] / self.n_bits, p["w_similar"], p["w_dissimilar"])
        return total, {**parts, "beta": beta}

    def run_facts(self, train, p: dict[str, Any], net) -> dict[str, Any]:
        steps = int(net.continuation_step)
        return {
            "alpha": p["sigmoid_scale"] / self.n_bits,
            "w_similar": p["w_similar"],
            "w_dissimilar": p["w_dissimilar"],
            "final_beta": self.beta(max(steps - 1, 0), p),
        }
