"""EXAMPLE deep method plugin: a DPSH-style supervised hashing baseline on a tiny CNN.

An example of the `zshbench.train.TorchHasher` template, NOT a benchmarked method: a faithful DPSH (Li, Wang,
Kang, IJCAI 2016) trains a pretrained CNN-F and optimises the binary codes B as variables; here a 3-layer CNN
learns from scratch and b = sgn(u) of the batch. Loss (means over the batch instead of DPSH's sums):

    L = mean_ij [log(1 + exp(Theta_ij)) - s_ij Theta_ij] + eta * mean_i ||b_i - u_i||^2,   Theta_ij = u_i.u_j / 2

with s_ij = 1 when images i and j share a seen-class label. It reads labels only (no attributes), so it is
a supervised, not a zero-shot, baseline.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from zshbench.hasher import Requirements
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.train.images import prepare_images


@dataclass
class DPSHExampleConfig(TorchHasherConfig):
    """None = the profile's value (see ``DPSHExampleHasher.profiles``).

    Attributes:
        epochs, batch_size, lr: the training budget.
        eta: weight of the quantisation loss.
    """

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    eta: float | None = None


class TinyCNN(nn.Module):
    """uint8 images (B, H, W, C) -> real codes u (B, n_bits): three conv blocks, average pooling, a linear layer."""

    def __init__(self, n_bits: int, width: int, img_size: int):
        super().__init__()
        self.img_size = img_size
        self.register_buffer("mean", torch.full((1, 3, 1, 1), 0.5))
        self.register_buffer("std", torch.full((1, 3, 1, 1), 0.5))
        layers, c_in = [], 3
        for c_out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.hash_layer = nn.Linear(c_in, n_bits)

    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        x = prepare_images(images_uint8, self.img_size, self.mean, self.std)
        return self.hash_layer(self.features(x))

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self(images_uint8)


class DPSHExampleHasher(TorchHasher):
    """DPSH-style pairwise likelihood + quantisation loss on a tiny CNN (an example plugin, not benchmarked)."""

    Config = DPSHExampleConfig
    version = "1"
    requires = Requirements(inputs="images", gpu_capable=True, supervised=True)  # labels, no attributes
    profiles = {
        "tiny": {
            "img_size": 32,
            "width": 16,
            "epochs": 3,
            "batch_size": 64,
            "lr": 1e-3,
            "weight_decay": 1e-5,
            "eta": 0.1,
        }
    }
    conformance_params = {"epochs": 1, "max_steps": 2, "batch_size": 16}

    def build_network(self, p, data):
        return TinyCNN(self.n_bits, p["width"], p["img_size"])

    def loss(self, net, batch, p, generator):
        images, labels = batch
        u = net(images)
        s = (labels[:, None] == labels[None, :]).float()
        theta = 0.5 * u @ u.T
        likelihood = (F.softplus(theta) - s * theta).mean()
        quantisation = (u - u.detach().sign()).pow(2).sum(1).mean()
        parts = {"likelihood": likelihood.detach(), "quantisation": quantisation.detach()}
        return likelihood + p["eta"] * quantisation, parts
