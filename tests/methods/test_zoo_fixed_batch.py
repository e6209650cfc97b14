"""The zoo's supervised deep baselines: eight optimizer steps on one fixed batch of shapes' seen-class training
images lower the method's loss (one test for every method with the same hooks, instead of a copy per method)."""

import pytest
import torch

from zshbench.registry import create_hasher

# measured (seed 0, one thread, 8 steps): dch 1.248 -> 0.528, csq 0.779 -> 0.312, greedyhash 3.890 -> 1.318


@pytest.mark.parametrize("method", ["dch", "csq", "greedyhash"])
def test_loss_falls_on_a_fixed_batch(method):
    from zshbench.protocols import load_protocol, resolve
    from zshbench.runner import build_trainset, load_dataset
    from zshbench.train import make_generator

    ds = load_dataset("shapes")
    train = build_trainset(ds, resolve(load_protocol("shapes-zsh"), ds))
    h = create_hasher(method, n_bits=64, seed=0)
    p = h.resolved_profile()
    net = h.initial_network(p, h.prepare(train, p))
    opt = h.make_optimizer(net, p)
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:32].numpy()
    batch = (torch.from_numpy(train.images.take(idx)), torch.as_tensor(train.labels[idx]))
    gen = make_generator(0)
    net.train()
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss, _ = h.loss(net, batch, p, gen)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses
