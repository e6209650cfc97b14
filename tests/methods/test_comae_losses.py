"""COMAE's losses against hand-computed values (eq. 2-6)."""

from __future__ import annotations

import math

import pytest
import torch

from zshbench.methods.comae import losses as L


def test_point_loss_is_mse_over_batch_and_attributes():
    a_hat = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    a = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    # squared errors 0, 1, 0.25, 0.25 -> mean 0.375
    assert L.point_loss(a_hat, a).item() == pytest.approx(0.375)


def test_pair_masks_follow_epsilon():
    a = torch.tensor([[0.0], [0.5], [1.0]])  # (N=3, D=1)
    pos, neg = L.pair_masks(a, 0.9)
    assert pos.shape == neg.shape == (1, 3, 3)
    assert pos[0].tolist() == [[False, True, False], [True, False, True], [False, True, False]]
    assert neg[0].tolist() == [[False, False, True], [False, False, False], [True, False, False]]
    # the anchor itself is never a positive, and never a negative
    assert not pos[0].diagonal().any() and not neg[0].diagonal().any()


def _hand_example():
    # dimension 0: positives/negatives as in test_pair_masks (anchor 1 has no negative -> not counted);
    # dimension 1: every item has the same value -> no negatives anywhere -> nothing counted
    a = torch.tensor([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0]])
    a_hat = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # s = a_hat a_hat^T = [[1,0,1],[0,1,1],[1,1,2]]
    return a, a_hat


def test_pair_loss_hand_computed():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    # anchor 0: positive 1 (s=0), negative 2 (s=1): -log(e^0 / (e^0 + e^1)) = log(1 + e)
    # anchor 2: positive 1 (s=1), negative 0 (s=1): -log(e / (e + e)) = log 2
    expected = (math.log(1 + math.e) + math.log(2.0)) / 2
    got = L.pair_loss(a_hat, pos, neg, tau=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # temperature divides the similarities: tau = 0.5 doubles them
    expected_half = (math.log(1 + math.exp(2.0)) + math.log(2.0)) / 2
    assert L.pair_loss(a_hat, pos, neg, tau=0.5).item() == pytest.approx(expected_half, rel=1e-6)


def test_pair_loss_averages_over_several_positives():
    a = torch.tensor([[0.0], [0.0], [0.0], [1.0]])
    a_hat = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    pos, neg = L.pair_masks(a, 0.5)
    # s = [[1,1,0,0],[1,1,0,0],[0,0,0,0],[0,0,0,1]]; anchor 3 has no positive -> not counted
    # anchor 0: positives 1 (s=1), 2 (s=0); negative 3 (s=0)
    a0 = (-(1 - math.log(math.e + 1)) - (0 - math.log(2))) / 2
    a1 = a0  # symmetric
    # anchor 2: positives 0, 1 (s=0 each), negative 3 (s=0): log 2 each
    a2 = math.log(2)
    expected = (a0 + a1 + a2) / 3
    assert L.pair_loss(a_hat, pos, neg, 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_pair_loss_without_valid_anchor_is_zero_with_graph():
    a = torch.ones(4, 3)  # all equal: no negatives
    a_hat = torch.randn(4, 3, requires_grad=True)
    pos, neg = L.pair_masks(a, 0.9)
    out = L.pair_loss(a_hat, pos, neg, 1.0)
    assert out.item() == 0.0
    out.backward()
    assert a_hat.grad is not None and torch.all(a_hat.grad == 0)


def test_pair_loss_cosine_option():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    # cosine: s01 = 0, s02 = s12 = 1/sqrt(2)
    c = 1 / math.sqrt(2)
    expected = (-(0 - math.log(1 + math.exp(c))) - (c - math.log(2 * math.exp(c)))) / 2
    assert L.pair_loss(a_hat, pos, neg, 1.0, "cosine").item() == pytest.approx(expected, rel=1e-6)


def test_sample_negatives_k_subset_and_seeded():
    a = torch.tensor([[0.0], [0.0], [1.0], [1.0], [1.0]])
    _, neg = L.pair_masks(a, 0.5)
    g = torch.Generator().manual_seed(0)
    s1 = L.sample_negatives(neg, 2, g)
    assert (s1 & ~neg).sum() == 0, "a sampled negative must be a candidate"
    assert s1.sum(-1)[0].tolist() == [2, 2, 2, 2, 2]  # min(k, candidates): 3 candidates for 0, 1; 2 for 2..4
    s1b = L.sample_negatives(neg, 2, torch.Generator().manual_seed(0))
    assert torch.equal(s1, s1b), "the same seed must draw the same negatives"
    seen = {tuple(L.sample_negatives(neg, 1, torch.Generator().manual_seed(s))[0, 0].nonzero().flatten().tolist())
            for s in range(40)}
    assert seen == {(2,), (3,), (4,)}, "every candidate must be drawable"
    assert torch.equal(L.sample_negatives(neg, 10, g), neg), "k >= candidates keeps them all"


def test_class_loss_hand_computed():
    g = torch.tensor([[1.0, 2.0]])
    W = torch.eye(2)
    class_attr = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # logits [1, 2, 3]
    labels = torch.tensor([1])
    expected = -(2 - math.log(math.e + math.e**2 + math.e**3))
    assert L.class_loss(g, W, class_attr, labels).item() == pytest.approx(expected, rel=1e-6)


def test_hash_loss_am_softmax_hand_computed():
    h = torch.tensor([[0.5, 0.0]])  # normalised to (1, 0)
    centres = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    # label 0: cos = [1, 0] -> logits [10 (1 - 0.2), 0] = [8, 0]
    assert L.hash_loss(h, centres, torch.tensor([0]), 10.0, 0.2).item() == pytest.approx(math.log(1 + math.exp(-8)), rel=1e-4)
    # label 1: logits [10, 10 (0 - 0.2)] = [10, -2]
    assert L.hash_loss(h, centres, torch.tensor([1]), 10.0, 0.2).item() == pytest.approx(math.log(1 + math.exp(12)), rel=1e-5)


def test_total_loss_weights_and_missing_terms():
    parts = {"point": torch.tensor(1.0), "pair": torch.tensor(2.0), "class": torch.tensor(3.0),
             "hash": torch.tensor(4.0)}
    assert L.total_loss(parts, (10.0, 1.0, 10.0)).item() == pytest.approx(10 + 2 + 30 + 4)
    del parts["pair"]
    assert L.total_loss(parts, (10.0, 1.0, 10.0)).item() == pytest.approx(10 + 30 + 4)
