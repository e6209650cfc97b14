"""RAZH training-step cost (tiny profile, batch 64, 32 x 32 inputs, 64 patches, one CPU thread).

* ``full``: the whole step (K-means + AEM + mixing branch + reconstruction branch, forward and backward);
* ``no_attr``: RAZH-A (reconstruction branch only: no clustering, no attribute module, no mixing branch);
* ``mixing_identity``: the full step with the mixing branch fed the unmixed patches (Z = P) - the same network
  work as ``full`` without K-means and the Attribute Embedding Module, isolating their cost;
* ``kmeans``: the batched K-means alone (64 images x 64 patches x 192 dims, k = 9, 10 iterations);
* ``test_bench_razh_step_network``: the full step and encoding with the version-3 tiny network (dim 96, one 64-d
  decoder block, the default) and with version 2's (dim 192, two 128-d decoder blocks), before/after in one run.

Results are reported in docs/performance.md (section RAZH).
"""

from __future__ import annotations

import pytest
import torch

from zshbench.methods.razh.kmeans import batched_kmeans
from zshbench.methods.razh.model import RAZHNet
from zshbench.methods.razh.profiles import resolve_profile
from zshbench.train import make_generator

# the tiny network of RAZH version 2 (version 3 made it cheaper: docs/performance.md, "Version 3")
V2_NETWORK = {"dim": 192, "decoder_dim": 128, "decoder_depth": 2}


def _make(overrides):
    torch.set_num_threads(1)
    p = resolve_profile("tiny", overrides)
    torch.manual_seed(0)
    n_cls, n_attr = 40, 17
    allowed = torch.rand(n_cls, n_attr) > 0.75
    allowed[:, 0] = True
    net = RAZHNet(p, 64, torch.randn(n_attr, n_cls), allowed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    imgs = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    labels = torch.randint(0, n_cls, (64,))
    return net, opt, imgs, labels


@pytest.fixture(scope="module")
def setup():
    return _make({})


def _step(net, opt, imgs, labels, variant, identity=False):
    gen = make_generator(0)
    opt.zero_grad(set_to_none=True)
    if identity:
        saved = net.mix
        net.mix = lambda P, y, g=None, cluster=True: {"Z": P, "replaced": torch.ones(P.shape[:2], dtype=torch.bool)}
        try:
            loss, _ = net.train_losses(imgs, labels, gen, variant="full")
        finally:
            net.mix = saved
    else:
        loss, _ = net.train_losses(imgs, labels, gen, variant=variant)
    loss.backward()
    opt.step()


@pytest.mark.parametrize("variant", ["full", "no_attr", "mixing_identity"])
def test_bench_razh_step(benchmark, setup, variant):
    net, opt, imgs, labels = setup
    v = {"full": "full", "no_attr": "no-attr", "mixing_identity": "full"}[variant]
    benchmark.pedantic(_step, args=(net, opt, imgs, labels, v, variant == "mixing_identity"), rounds=7, warmup_rounds=1)


def test_bench_razh_kmeans(benchmark):
    torch.set_num_threads(1)
    x = torch.randn(64, 64, 192)
    benchmark.pedantic(lambda: batched_kmeans(x, 9, 10, generator=make_generator(0)), rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("batch", [32, 64, 128, 256])
def test_bench_razh_encode_1024(benchmark, setup, batch):
    """Encoding 1,024 images (eval mode, no gradients) in batches of ``batch``: the database pass that dominates a
    RAZH run on fashion (63,520 images). The codes do not depend on the batch (the conformance kit checks it)."""
    net, _, _, _ = setup
    imgs = torch.randint(0, 256, (1024, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    net.eval()

    def encode():
        with torch.no_grad():
            return [net.encode(imgs[i : i + batch]) for i in range(0, len(imgs), batch)]

    benchmark.pedantic(encode, rounds=3, warmup_rounds=1)
    net.train()


@pytest.mark.parametrize("network", ["v3", "v2"])
@pytest.mark.parametrize("work", ["step", "encode_1024"])
def test_bench_razh_step_network(benchmark, network, work):
    net, opt, imgs, labels = _make(V2_NETWORK if network == "v2" else {})
    if work == "step":
        benchmark.pedantic(_step, args=(net, opt, imgs, labels, "full"), rounds=5, warmup_rounds=1)
        return
    net.eval()
    x = torch.randint(0, 256, (1024, 32, 32, 3), dtype=torch.uint8)

    def encode():
        with torch.no_grad():
            for i in range(0, 1024, 128):
                net.encode(x[i : i + 128])

    benchmark.pedantic(encode, rounds=3, warmup_rounds=1)
