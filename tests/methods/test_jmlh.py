"""JMLH: the KL regulariser and the stochastic binary layer on hand-computed cases, the loss wiring, the codes,
config errors and one fast learning check (the slow one: test_jmlh_learning.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zshbench.errors import UserError
from zshbench.methods.jmlh import JMLHHasher
from zshbench.methods.jmlh.losses import kl_to_half, stochastic_bits
from zshbench.testing import learning_check
from zshbench.trainset import TrainSet


def _train_set(n_per_class=6, s=4, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(labels, images=images)


def test_kl_to_half_by_hand():
    # item 1: q = (0.5, 0.9): 0 + [0.9 ln 1.8 + 0.1 ln 0.2] = 0.9 * 0.5877867 + 0.1 * (-1.6094379) = 0.3680642
    # item 2: q = (0.2, 0.5): [0.2 ln 0.4 + 0.8 ln 1.6] + 0 = 0.2 * (-0.9162907) + 0.8 * 0.4700036 = 0.1927447
    q = torch.tensor([[0.5, 0.9], [0.2, 0.5]])
    want = (0.9 * math.log(1.8) + 0.1 * math.log(0.2) + 0.2 * math.log(0.4) + 0.8 * math.log(1.6)) / 2
    assert want == pytest.approx((0.3680642 + 0.1927447) / 2, abs=1e-6)
    assert kl_to_half(q).item() == pytest.approx(want, abs=1e-5)
    assert kl_to_half(torch.full((3, 5), 0.5)).item() == pytest.approx(0.0, abs=1e-5)  # the prior itself
    # at a certain bit (q -> 1) the KL of that bit is ln 2 (one bit of information)
    assert kl_to_half(torch.tensor([[1.0]])).item() == pytest.approx(math.log(2), abs=1e-5)


def test_kl_gradient_is_the_logit_of_q():
    # d/dq [q ln 2q + (1 - q) ln 2(1 - q)] = ln(q / (1 - q))
    q = torch.tensor([[0.2, 0.7, 0.5]], requires_grad=True)
    kl_to_half(q).backward()
    torch.testing.assert_close(q.grad, torch.log(q.detach() / (1 - q.detach())), atol=1e-5, rtol=0)


def test_stochastic_bits_threshold_and_straight_through_gradient():
    q = torch.tensor([[0.3, 0.6, 0.9], [0.5, 0.1, 0.8]], requires_grad=True)
    eps = torch.tensor([[0.2, 0.7, 0.5], [0.5, 0.05, 0.95]])
    b = stochastic_bits(q, eps)
    torch.testing.assert_close(b.detach(), torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))  # 1[q > eps]
    w = torch.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    (b * w).sum().backward()
    torch.testing.assert_close(q.grad, w)  # d b / d q = 1: the gradient passes straight through


def test_stochastic_bits_are_bernoulli_of_q():
    g = torch.Generator().manual_seed(0)
    q = torch.full((20000, 1), 0.3)
    b = stochastic_bits(q, torch.rand(q.shape, generator=g))
    assert float(b.mean()) == pytest.approx(0.3, abs=0.01)


def test_training_step_is_cross_entropy_on_the_codes_plus_weighted_kl():
    h = JMLHHasher(n_bits=16, kl_weight=0.3)
    p = h.resolved_profile()
    p["n_classes"] = 3
    net = h.initial_network(p, {})
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    net.train()
    state = g.get_state()
    total, parts = h.loss(net, (images, labels), p, g)
    g.set_state(state)  # the same thresholds, drawn independently here
    z = net(images)
    q = torch.sigmoid(z)
    eps = torch.rand(q.shape, generator=g)
    b = (q > eps).float()
    ce = F.cross_entropy(net.cls_fc(b), labels)
    kl = kl_to_half(q)
    torch.testing.assert_close(parts["ce"], ce.detach())
    torch.testing.assert_close(parts["kl"], kl.detach())
    torch.testing.assert_close(total, ce + 0.3 * kl)
    # deterministic thresholds: b = 1[q > 1/2], no draw
    p2 = {**p, "stochastic": False}
    before = g.get_state()
    _, parts2 = h.loss(net, (images, labels), p2, g)
    assert torch.equal(g.get_state(), before)
    torch.testing.assert_close(parts2["ce"], F.cross_entropy(net.cls_fc((q > 0.5).float()), labels).detach())


def test_classifier_covers_the_seen_classes_only_and_codes_are_signs_of_the_logits():
    h = JMLHHasher(n_bits=16, max_steps=2, batch_size=8).fit(_train_set(s=5))
    assert h.model_.cls_fc.out_features == 5 and h.run_info()["n_seen_classes"] == 5
    images = _train_set(seed=1).images.take(np.arange(5))
    z = h.model_.encode(torch.from_numpy(np.ascontiguousarray(images)))
    bits = np.unpackbits(h.encode(images), axis=1)[:, :16]
    np.testing.assert_array_equal(bits, (z.numpy() >= 0).astype(np.uint8))  # 1[sigmoid(z) > 1/2]


@pytest.mark.parametrize("key,value", [("kl_weight", -0.1), ("backbone_lr_scale", -1.0), ("lr", 0.0)])
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        JMLHHasher(**{key: value}).fit(_train_set())


def test_paper_profile_is_the_public_setting_on_the_shared_backbone():
    p = JMLHHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"]) == ("resnet101.tv_in1k", 224, "pretrained")
    assert (p["optimizer"], p["lr"], p["batch_size"], p["epochs"]) == ("adam", 1e-4, 64, 100)
    assert p["kl_weight"] == 0.1 and p["stochastic"] is True and p["backbone_lr_scale"] == 1.0


def test_jmlh_learns_short():
    # measured (seed 0, 32 bits, 2 shared cores): map@all untrained 0.4141 -> 30 steps 0.7540
    before, after, info = learning_check("jmlh", 30)
    assert info["train"]["steps"] == 30
    assert after > before + 0.1, (before, after, info["train"]["epochs"])
