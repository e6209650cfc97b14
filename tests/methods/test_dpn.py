"""DPN: the polarization loss on hand-computed cases, the seen-class target codes, the training wiring, config errors
and one fast learning check (the slow ones: test_dpn_learning.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.dpn import DPNHasher
from zshbench.methods.dpn.losses import polarization_loss
from zshbench.testing import learning_check
from zshbench.trainset import TrainSet


def _train_set(n_per_class=6, s=4, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(labels, images=images)


V = torch.tensor([[0.5, -2.0, 1.5], [-0.2, 0.3, 0.0]])
T = torch.tensor([[1.0, -1.0, -1.0], [1.0, 1.0, -1.0]])


@pytest.mark.parametrize(
    "margin,expected",
    [
        # item 1: max(0, 1 - 0.5) + max(0, 1 - 2) + max(0, 1 + 1.5) = 0.5 + 0 + 2.5 = 3.0
        # item 2: max(0, 1 + 0.2) + max(0, 1 - 0.3) + max(0, 1 - 0) = 1.2 + 0.7 + 1.0 = 2.9; mean 2.95
        (1.0, 2.95),
        # m = 0: item 1: 0 + 0 + 1.5 = 1.5; item 2: 0.2 + 0 + 0 = 0.2; mean 0.85
        (0.0, 0.85),
        # m = 0.25: item 1: 0 + 0 + 1.75; item 2: 0.45 + 0 + 0.25 = 0.7; mean 1.225
        (0.25, 1.225),
    ],
)
def test_polarization_loss_by_hand(margin, expected):
    assert polarization_loss(V, T, margin).item() == pytest.approx(expected, abs=1e-6)


def test_polarization_loss_gradient_is_minus_target_on_active_bits_over_batch():
    v = V.clone().requires_grad_(True)
    polarization_loss(v, T, 1.0).backward()
    active = (1.0 - V * T) > 0  # all but item 1 bit 2 (v t = 2 >= m)
    expected = torch.where(active, -T, torch.zeros_like(T)) / 2
    torch.testing.assert_close(v.grad, expected)
    assert not active[0, 1] and active.sum() == 5


def test_polarization_loss_is_zero_exactly_when_polarized():
    t = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    assert polarization_loss(torch.tensor([[1.0, -1.5, 3.0, -1.0]]), t, 1.0).item() == 0.0
    assert polarization_loss(torch.tensor([[0.99, -1.5, 3.0, -1.0]]), t, 1.0).item() > 0.0  # |v| < m
    assert polarization_loss(torch.tensor([[-2.0, -1.5, 3.0, -1.0]]), t, 1.0).item() == pytest.approx(3.0)


def test_target_codes_cover_the_seen_classes_only_and_follow_the_seed():
    train = _train_set(s=5)
    h = DPNHasher(n_bits=24, max_steps=1, batch_size=8, seed=3).fit(train)
    t = h.model_.targets
    assert t.shape == (5, 24) and set(t.unique().tolist()) == {-1.0, 1.0}
    h2 = DPNHasher(n_bits=24, max_steps=1, batch_size=8, seed=3).fit(train)
    torch.testing.assert_close(h2.model_.targets, t)
    h3 = DPNHasher(n_bits=24, max_steps=1, batch_size=8, seed=4).fit(train)
    assert not torch.equal(h3.model_.targets, t)
    assert h.run_info()["n_seen_classes"] == 5


def test_training_step_is_the_polarization_loss_against_the_class_codes():
    h = DPNHasher(n_bits=16, reg=0.5)
    p = h.resolved_profile()
    net = h.initial_network(p, {"targets": torch.tensor([[1.0, -1.0] * 8, [-1.0] * 16])})
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    net.train()
    total, parts = h.loss(net, (images, labels), p, g)
    v = net(images)
    polar = polarization_loss(v, net.targets[labels], p["margin"])
    torch.testing.assert_close(parts["polarization"], polar.detach())
    torch.testing.assert_close(total, polar + 0.5 * v.pow(2).mean())


def test_codes_are_signs_of_the_hash_layer_outputs():
    h = DPNHasher(n_bits=16, max_steps=2, batch_size=8).fit(_train_set())
    images = _train_set(seed=1).images.take(np.arange(5))
    v = h.model_.encode(torch.from_numpy(np.ascontiguousarray(images)))
    bits = np.unpackbits(h.encode(images), axis=1)[:, :16]
    np.testing.assert_array_equal(bits, (v.numpy() >= 0).astype(np.uint8))


@pytest.mark.parametrize("key,value", [("margin", -1.0), ("reg", -0.1), ("backbone_lr_scale", -1.0), ("lr", 0.0)])
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        DPNHasher(**{key: value}).fit(_train_set())


def test_unknown_code_scheme_is_refused():
    with pytest.raises(UserError, match="codes"):
        DPNHasher(codes="gaussian").fit(_train_set())


def test_paper_profile_is_the_authors_setting_on_the_shared_backbone():
    p = DPNHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"]) == ("resnet101.tv_in1k", 224, "pretrained")
    assert (p["optimizer"], p["lr"], p["momentum"], p["weight_decay"]) == ("sgd", 1e-4, 0.9, 5e-4)
    assert (p["batch_size"], p["epochs"], tuple(p["lr_milestones"]), p["margin"]) == (256, 200, (0.5,), 1.0)
    assert p["reg"] == 0.0 and p["codes"] == "bernoulli" and p["backbone_lr_scale"] == 1.0


def test_dpn_learns_short():
    # measured (seed 0, 32 bits, 2 shared cores): map@all untrained 0.17 -> 30 steps 0.39
    before, after, info = learning_check("dpn", 30)
    assert info["train"]["steps"] == 30
    assert after > before + 0.1, (before, after, info["train"]["epochs"])
