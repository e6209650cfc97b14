"""COMAE training-step cost (tiny profile: resnet10t, output stride 8, batch 64, 32 x 32 inputs, one CPU thread).

* ``full``: the whole step (backbone, prototypes + max pooling, L_point, L_pair with D x N x N masks and negative
  sampling, L_class, AM-softmax hash loss; forward, backward, Adam);
* ``v2``: COMAE-V2 (no pair-wise term) - the difference to ``full`` is the cost of eq. 3-4;
* ``pair_loss``: the pair-wise term alone on a CUB-sized problem (312 attributes x 64 x 64, k = 16);
* ``test_bench_comae_step_theta``: the full step with 17 attributes (shapes) and 384 side-information dimensions
  (fashion's class-name embeddings), Theta computed as version 3 does (``factorised``) and as version 2 did
  (``direct``: the (B, A, HW, hidden) tensor), before/after in one run.

Results are reported in docs/performance.md (section COMAE).
"""

from __future__ import annotations

import pytest
import torch

from zshbench.methods.comae import build_optimizer
from zshbench.methods.comae import losses as L
from zshbench.methods.comae.model import COMAENet
from zshbench.methods.comae.profiles import resolve_profile
from zshbench.train import make_generator


def _setup(variant, n_attr=17):
    torch.set_num_threads(1)
    p = resolve_profile("tiny", {})
    torch.manual_seed(0)
    n_cls = 40
    net = COMAENet(p, 64, (torch.rand(n_cls, n_attr) > 0.7).float(), variant=variant)
    opt = build_optimizer(net, p)
    imgs = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    labels = torch.randint(0, n_cls, (64,))
    return net, opt, imgs, labels


def _step(net, opt, imgs, labels, gen):
    opt.zero_grad(set_to_none=True)
    loss, _ = net.train_losses(imgs, labels, gen)
    loss.backward()
    opt.step()


@pytest.mark.parametrize("variant", ["full", "v2"])
def test_bench_comae_step(benchmark, variant):
    net, opt, imgs, labels = _setup(variant)
    benchmark.pedantic(_step, args=(net, opt, imgs, labels, make_generator(0)), rounds=5, warmup_rounds=1)


def test_bench_comae_pair_loss(benchmark):
    torch.manual_seed(0)
    a = (torch.rand(64, 312) > 0.5).float()
    a_hat = torch.randn(64, 312, requires_grad=True)
    gen = make_generator(0)

    def run():
        pos, neg = L.pair_masks(a, 0.9)
        L.pair_loss(a_hat, pos, L.sample_negatives(neg, 16, gen), 1.0).backward()

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("batch", [32, 64, 128, 256])
def test_bench_comae_encode_1024(benchmark, batch):
    """Encoding 1,024 images (eval mode, no gradients) in batches of ``batch`` (the database pass of a run; codes
    do not depend on the batch)."""
    net, _, _, _ = _setup("full")
    imgs = torch.randint(0, 256, (1024, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    net.eval()

    def encode():
        with torch.no_grad():
            return [net.encode(imgs[i : i + batch]) for i in range(0, len(imgs), batch)]

    benchmark.pedantic(encode, rounds=3, warmup_rounds=1)


def _direct_theta(u, v, out, slope):
    """Version 2's Theta: the (B, A, HW, hidden) tensor written out."""
    import torch.nn.functional as F

    return out(F.leaky_relu(u.unsqueeze(1) * v[None, :, None, :], slope)).squeeze(-1)


@pytest.mark.parametrize("theta", ["factorised", "direct"])
@pytest.mark.parametrize("n_attr", [17, 384])
def test_bench_comae_step_theta(benchmark, monkeypatch, theta, n_attr):
    from zshbench.methods.comae import model

    if theta == "direct":
        monkeypatch.setattr(model, "_hadamard_theta", _direct_theta)
    net, opt, imgs, labels = _setup("full", n_attr)
    benchmark.pedantic(_step, args=(net, opt, imgs, labels, make_generator(0)), rounds=5, warmup_rounds=1)
