"""The shared training loop (zshbench.train) that RAZH uses and later deep methods reuse."""

from __future__ import annotations

import pytest
import torch

from zshbench.train import autocast, deterministic, fit_loop, make_generator


def _problem(seed=0):
    g = make_generator(seed)
    x = torch.randn(64, 5, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0])
    return x, y, g


def _run(seed=0, **kw):
    x, y, g = _problem(seed)
    torch.manual_seed(seed)
    model = torch.nn.Linear(5, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)

    def batches(epoch):
        perm = torch.randperm(64, generator=g)
        for s in range(0, 64, 16):
            yield x[perm[s : s + 16]], y[perm[s : s + 16]]

    def loss_fn(m, b):
        err = (m(b[0]).squeeze(-1) - b[1]) ** 2
        return err.mean(), {"max": err.max().detach()}

    stats = fit_loop(model, loss_fn, batches, opt, kw.pop("epochs", 20), "cpu", **kw)
    return model, stats


def test_fit_loop_learns_counts_steps_and_is_deterministic():
    seen = []
    m1, s1 = _run(on_epoch_end=lambda e, means: seen.append(e))
    m2, s2 = _run()
    assert s1.steps == 80 and len(s1.epochs) == 20 and seen == list(range(20))
    assert s1.epochs[-1]["loss"] < 0.1 * s1.epochs[0]["loss"]
    assert {"loss", "max", "steps"} <= set(s1.epochs[0])
    assert torch.equal(m1.weight, m2.weight)  # same seed, same result
    assert not m1.training  # eval mode after training


def test_fit_loop_max_steps_and_nan():
    _, s = _run(max_steps=5)
    assert s.steps == 5
    x, y, g = _problem()
    model = torch.nn.Linear(5, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit_loop(model, lambda m, b: (m(b).sum() * float("nan"), {}), lambda e: [x], opt, 1, "cpu")


def test_deterministic_context_restores_and_autocast_is_cpu_noop():
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic(True):
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before
    with autocast("cpu"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
