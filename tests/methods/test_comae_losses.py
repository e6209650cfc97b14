"""COMAE's losses against hand-computed values (eq. 2-7); eq. 4 in its printed form and the per-positive option."""

from __future__ import annotations

import math

import pytest
import torch

from zshbench.methods.comae import losses as L


def test_point_loss_is_mse_over_batch_and_attributes():
    a_hat = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    a = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    # squared errors 0, 1, 0.25, 0.25 -> mean 0.375 (the text's MSE)
    assert L.point_loss(a_hat, a).item() == pytest.approx(0.375)
    # printed eq. 2: sum over attributes, mean over images: (1 + 0.5) / 2 = 0.75 (= K x the mean, K = 2)
    assert L.point_loss(a_hat, a, "sum").item() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="reduction"):
        L.point_loss(a_hat, a, "median")


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


def _one_anchor_example():
    """The review's example: ONE anchor (item 0, one attribute) with positives at s = 1 and s = 0 and one
    negative at s = 0; every other (d, i) has neither positives nor negatives. D = 1, N = 4."""
    a_hat = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # s_01 = 1, s_02 = 0, s_03 = 0
    pos = torch.zeros(1, 4, 4, dtype=torch.bool)
    neg = torch.zeros(1, 4, 4, dtype=torch.bool)
    pos[0, 0, 1] = pos[0, 0, 2] = True
    neg[0, 0, 3] = True
    return a_hat, pos, neg


def test_pair_loss_printed_form_one_anchor():
    a_hat, pos, neg = _one_anchor_example()
    # printed eq. 4: -log((e^1 + e^0) / (e^1 + e^0 + e^0)) = log((e + 2) / (e + 1)) = 0.2382, divided by D N = 4
    term = math.log((math.e + 2) / (math.e + 1))
    assert term == pytest.approx(0.2382, abs=1e-4)
    got = L.pair_loss(a_hat, pos, neg, tau=1.0)
    assert got.item() == pytest.approx(term / 4, rel=1e-6)
    assert L.pair_loss(a_hat, pos, neg, 1.0, form="printed").item() == got.item()  # the default form


def test_pair_loss_per_positive_form_one_anchor():
    a_hat, pos, neg = _one_anchor_example()
    # one term per positive: mean of -log(e / (e + 1)) and -log(1 / (1 + 1)) = 0.5032; the mean runs over the
    # valid (d, i) only (here one), so nothing is divided by D N
    expected = (math.log(1 + math.exp(-1.0)) + math.log(2.0)) / 2
    assert expected == pytest.approx(0.5032, abs=1e-4)
    assert L.pair_loss(a_hat, pos, neg, 1.0, form="per-positive").item() == pytest.approx(expected, rel=1e-6)


def test_pair_loss_printed_hand_computed_with_masks():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    # D = 2, N = 3. Dimension 0: anchor 0: positive 1 (s=0), negative 2 (s=1): log(1 + e); anchor 1: positives
    # 0, 2, no negative: log 1 = 0; anchor 2: positive 1 (s=1), negative 0 (s=1): log 2. Dimension 1: no
    # negatives anywhere: 0. Sum / (D N) = (log(1 + e) + log 2) / 6
    expected = (math.log(1 + math.e) + math.log(2.0)) / 6
    assert L.pair_loss(a_hat, pos, neg, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    # temperature divides the similarities: tau = 0.5 doubles them
    expected_half = (math.log(1 + math.exp(2.0)) + math.log(2.0)) / 6
    assert L.pair_loss(a_hat, pos, neg, tau=0.5).item() == pytest.approx(expected_half, rel=1e-6)


def test_pair_loss_per_positive_hand_computed_with_masks():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    # only anchors 0 and 2 of dimension 0 are valid (anchor 1 has no negative): mean of log(1 + e) and log 2
    expected = (math.log(1 + math.e) + math.log(2.0)) / 2
    assert L.pair_loss(a_hat, pos, neg, 1.0, form="per-positive").item() == pytest.approx(expected, rel=1e-6)


def test_pair_loss_printed_sums_positives_inside_the_log():
    a = torch.tensor([[0.0], [0.0], [0.0], [1.0]])
    a_hat = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    pos, neg = L.pair_masks(a, 0.5)
    # s = [[1,1,0,0],[1,1,0,0],[0,0,0,0],[0,0,0,1]]; anchor 3 has no positive: 0 (but counted in D N = 4)
    # anchor 0 (and 1): positives s = 1, 0; negative s = 0: log((e + 2) / (e + 1))
    # anchor 2: positives s = 0, 0; negative s = 0: log(3 / 2)
    a0 = math.log((math.e + 2) / (math.e + 1))
    expected = (2 * a0 + math.log(1.5)) / 4
    assert L.pair_loss(a_hat, pos, neg, 1.0).item() == pytest.approx(expected, rel=1e-6)
    # per-positive: anchors 0, 1: mean of -log(e / (e + 1)) and log 2; anchor 2: log 2; mean over the 3 valid
    p0 = (math.log(1 + math.exp(-1.0)) + math.log(2.0)) / 2
    expected_pp = (2 * p0 + math.log(2.0)) / 3
    assert L.pair_loss(a_hat, pos, neg, 1.0, form="per-positive").item() == pytest.approx(expected_pp, rel=1e-6)


def _printed_reference(a_hat, pos, neg, tau):
    """Eq. 4 as printed, with plain Python loops."""
    s = (a_hat @ a_hat.t()).tolist()
    d_, n_ = pos.shape[0], pos.shape[1]
    total = 0.0
    for d in range(d_):
        for i in range(n_):
            p = [j for j in range(n_) if pos[d, i, j]]
            if not p:
                continue  # log of an empty sum: left out of the sum, kept in D N
            t = p + [j for j in range(n_) if neg[d, i, j]]
            num = sum(math.exp(s[i][j] / tau) for j in p)
            den = sum(math.exp(s[i][j] / tau) for j in t)
            total += -math.log(num / den)
    return total / (d_ * n_)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_loss_printed_matches_a_loop_reference_and_has_finite_gradients(seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(10, 6, generator=g) * 3.0  # continuous attributes: some (d, i) without positives/negatives
    a[:, 0] = 7.0  # one dimension without negatives
    a[0, 1] = 100.0  # item 0 has no positive in dimension 1
    a_hat = torch.randn(10, 4, generator=g, dtype=torch.float64)
    pos, neg = L.pair_masks(a, 0.9)
    neg_k = L.sample_negatives(neg, 3, g)
    assert not pos[1, 0].any() and not neg[0].any()
    for tau in (1.0, 0.3):
        ref = _printed_reference(a_hat, pos, neg_k, tau)
        x = a_hat.clone().float().requires_grad_(True)
        got = L.pair_loss(x, pos, neg_k, tau)
        assert got.item() == pytest.approx(ref, rel=1e-5)
        got.backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    x = a_hat.clone().float().requires_grad_(True)
    L.pair_loss(x, pos, neg_k, 1.0, form="per-positive").backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("form", ["printed", "per-positive"])
def test_pair_loss_without_valid_anchor_is_zero_with_graph(form):
    a = torch.ones(4, 3)  # all equal: no negatives
    a_hat = torch.randn(4, 3, requires_grad=True)
    pos, neg = L.pair_masks(a, 0.9)
    out = L.pair_loss(a_hat, pos, neg, 1.0, form=form)
    assert out.item() == 0.0
    out.backward()
    assert a_hat.grad is not None and torch.all(a_hat.grad == 0)


def test_pair_loss_without_any_positive_is_zero_with_graph():
    a = torch.tensor([[0.0], [1.0], [2.0]])  # every pair differs by >= 0.9: negatives only
    a_hat = torch.randn(3, 2, requires_grad=True)
    pos, neg = L.pair_masks(a, 0.9)
    out = L.pair_loss(a_hat, pos, neg, 1.0)
    assert out.item() == 0.0
    out.backward()
    assert torch.all(a_hat.grad == 0)


def test_pair_loss_rejects_unknown_form():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    with pytest.raises(ValueError, match="form"):
        L.pair_loss(a_hat, pos, neg, 1.0, form="sum")


def test_pair_loss_cosine_option():
    a, a_hat = _hand_example()
    pos, neg = L.pair_masks(a, 0.9)
    # cosine: s01 = 0, s02 = s12 = 1/sqrt(2); printed: anchor 0: log(1 + e^c), anchor 2: log 2, over D N = 6
    c = 1 / math.sqrt(2)
    expected = (math.log(1 + math.exp(c)) + math.log(2.0)) / 6
    assert L.pair_loss(a_hat, pos, neg, 1.0, "cosine").item() == pytest.approx(expected, rel=1e-6)
    expected_pp = (-(0 - math.log(1 + math.exp(c))) - (c - math.log(2 * math.exp(c)))) / 2
    assert L.pair_loss(a_hat, pos, neg, 1.0, "cosine", "per-positive").item() == pytest.approx(expected_pp, rel=1e-6)


def test_sample_negatives_k_subset_and_seeded():
    a = torch.tensor([[0.0], [0.0], [1.0], [1.0], [1.0]])
    _, neg = L.pair_masks(a, 0.5)
    g = torch.Generator().manual_seed(0)
    s1 = L.sample_negatives(neg, 2, g)
    assert (s1 & ~neg).sum() == 0, "a sampled negative must be a candidate"
    assert s1.sum(-1)[0].tolist() == [2, 2, 2, 2, 2]  # min(k, candidates): 3 candidates for 0, 1; 2 for 2..4
    s1b = L.sample_negatives(neg, 2, torch.Generator().manual_seed(0))
    assert torch.equal(s1, s1b), "the same seed must draw the same negatives"
    seen = {
        tuple(L.sample_negatives(neg, 1, torch.Generator().manual_seed(s))[0, 0].nonzero().flatten().tolist())
        for s in range(40)
    }
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
    assert L.hash_loss(h, centres, torch.tensor([0]), 10.0, 0.2).item() == pytest.approx(
        math.log(1 + math.exp(-8)), rel=1e-4
    )
    # label 1: logits [10, 10 (0 - 0.2)] = [10, -2]
    assert L.hash_loss(h, centres, torch.tensor([1]), 10.0, 0.2).item() == pytest.approx(
        math.log(1 + math.exp(12)), rel=1e-5
    )


def test_total_loss_weights_and_missing_terms():
    parts = {
        "point": torch.tensor(1.0),
        "pair": torch.tensor(2.0),
        "class": torch.tensor(3.0),
        "hash": torch.tensor(4.0),
    }
    assert L.total_loss(parts, (10.0, 1.0, 10.0), 1.0).item() == pytest.approx(10 + 2 + 30 + 4)
    assert L.total_loss(parts, (10.0, 1.0, 10.0), 0.5).item() == pytest.approx(10 + 2 + 30 + 2)
    del parts["pair"]
    assert L.total_loss(parts, (10.0, 1.0, 10.0), 1.0).item() == pytest.approx(10 + 30 + 4)
