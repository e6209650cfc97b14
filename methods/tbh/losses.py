"""TBH's objective (Shen et al., CVPR 2020, Sec. 3.3) as the authors' code computes it.

Reconstruction (`reconstruction_loss`): the decoder rebuilds the input features x from the graph-convolved
continuous bottleneck; the authors' ``tf.nn.l2_loss`` over the batch: L_rec = (1/2) sum_{i,d} (x_id - x^_id)^2
(``reduction="sum"``; ``"mean"`` divides by the batch size N).

Adversarial regularisers (`adversarial_loss`), one per bottleneck: a discriminator d (an affine map and a
sigmoid) tells the encoder's outputs (label 1) from prior samples (label 0): binary codes against
Bernoulli(1/2), the convolved continuous bottleneck against U(0, 1)^L:

    L_adv(d) = -mean_i log d(h_i) - mean_i log(1 - d(s_i))          (h: the encoder's, s: the prior's)

The discriminators minimise L_adv; the encoder, graph convolution and decoder minimise L_rec - lambda L_adv
(the authors' actor loss). One optimizer does both with a gradient reversal on the encoder's side
(``layers.reverse``): L = L_rec + lambda L_adv(d(reverse(h)), d(s)) gives the discriminators +lambda dL_adv and
the encoder -lambda dL_adv.
"""

from __future__ import annotations

import torch

__all__ = ["reconstruction_loss", "adversarial_loss"]

LOG_FLOOR = -100.0  # the clamp of F.binary_cross_entropy


def reconstruction_loss(recon: torch.Tensor, x: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """(1/2) sum of squared errors (``"sum"``), divided by the batch size with ``"mean"``; ``x`` detached."""
    err = 0.5 * (recon - x.detach()).pow(2).sum()
    return err / x.shape[0] if reduction == "mean" else err


def adversarial_loss(d_encoder: torch.Tensor, d_prior: torch.Tensor) -> torch.Tensor:
    """BCE(d_encoder, 1) + BCE(d_prior, 0), each a mean over the batch (discriminator outputs in (0, 1)), in
    float32 with the logarithms clamped at -100 as `F.binary_cross_entropy` does (written out because that function
    refuses to run under CUDA autocast)."""
    real = torch.log(d_encoder.float()).clamp(min=LOG_FLOOR)
    fake = torch.log1p(-d_prior.float()).clamp(min=LOG_FLOOR)
    return -real.mean() - fake.mean()
