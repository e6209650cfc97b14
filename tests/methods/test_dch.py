"""DCH (Cao et al., CVPR 2018): the losses against hand computations and a loop over the printed formulas, and a
fast learning check (the loss falls over a few steps on a fixed batch)."""

from __future__ import annotations

import math

import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.dch import losses as L
from zshbench.registry import create_hasher


def test_hamming_proxy_is_hamming_on_binary_codes_and_scale_free():
    a = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0]])
    b = torch.tensor([[1.0, -1.0, -1.0, -1.0]])
    # Hamming distances 3 and 1; eq. 6 gives K/2 (1 - cos) = 2 (1 - (-2/4)) = 3 and 2 (1 - 2/4) = 1
    assert L.hamming_proxy(a, b)[:, 0].tolist() == pytest.approx([3.0, 1.0])
    # the normalisation makes it depend on directions only
    assert torch.allclose(L.hamming_proxy(3.0 * a, 0.5 * b), L.hamming_proxy(a, b))


def test_pair_weights_balance_similar_and_dissimilar_pairs():
    labels = torch.tensor([0, 0, 1])
    similar = labels[:, None] == labels[None, :]
    valid = ~torch.eye(3, dtype=torch.bool)
    w = L.pair_weights(similar, valid)
    # S = 6 ordered pairs i != j, S_1 = 2 similar, S_0 = 4 dissimilar: w = 6/2 = 3 and 6/4 = 1.5; 0 on the diagonal
    assert w.tolist() == [[0.0, 3.0, 1.5], [3.0, 0.0, 1.5], [1.5, 1.5, 0.0]]
    # no similar pair at all: every dissimilar pair weighs S / S_0 = 1
    w2 = L.pair_weights(torch.zeros(3, 3, dtype=torch.bool), valid)
    assert w2.tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]


def test_cauchy_cross_entropy_hand_computed():
    # K = 2, eq. 6: d = 1 - cos. d_01 = 1 (orthogonal), d_02 = 2 (opposite), d_12 = 1; labels 0, 0, 1; gamma = 1
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    # similar pair (0,1): log(1 + d/gamma) = log 2; dissimilar (0,2): log(1 + gamma/d) = log 1.5, (1,2): log 2.
    # weights 3 (similar) and 1.5 (dissimilar) over the 6 ordered pairs: (2*3 log 2 + 2*1.5 (log 1.5 + log 2)) / 6
    expected = 1.5 * math.log(2.0) + 0.5 * math.log(1.5)
    assert expected == pytest.approx(1.24245, abs=1e-5)
    assert L.cauchy_cross_entropy(u, labels, gamma=1.0, dist_eps=1e-3).item() == pytest.approx(expected, rel=1e-6)
    # gamma scales the distance: gamma = 2 gives log(1.5) for the similar pair, log 2 and log 3 for the others
    expected2 = math.log(1.5) + 0.5 * (math.log(2.0) + math.log(3.0))
    assert L.cauchy_cross_entropy(u, labels, gamma=2.0, dist_eps=1e-3).item() == pytest.approx(expected2, rel=1e-6)


def _printed_eq8_loop(u: torch.Tensor, labels: torch.Tensor, gamma: float) -> float:
    """Eq. 8 as printed, s log(d/gamma) + log(1 + gamma/d), weighted by eq. 2, over i != j, one pair at a time."""
    n, k = u.shape
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    s = {(i, j): int(labels[i] == labels[j]) for i, j in pairs}
    n1 = sum(s.values())
    n0 = len(pairs) - n1
    total = 0.0
    for i, j in pairs:
        cos = float(u[i] @ u[j]) / (float(u[i].norm()) * float(u[j].norm()))
        d = k / 4 * float(((u[i] / u[i].norm() - u[j] / u[j].norm()) ** 2).sum())
        assert d == pytest.approx(k / 2 * (1 - cos), abs=1e-5)
        w = len(pairs) / n1 if s[i, j] else len(pairs) / n0
        total += w * (s[i, j] * math.log(d / gamma) + math.log(1 + gamma / d))
    return total / len(pairs)


@pytest.mark.parametrize("gamma", [0.5, 20.0])
def test_cauchy_cross_entropy_matches_the_printed_formula(gamma):
    g = torch.Generator().manual_seed(0)
    u = torch.tanh(torch.randn(7, 12, generator=g, dtype=torch.float64))
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2])
    got = L.cauchy_cross_entropy(u, labels, gamma, dist_eps=1e-9).item()
    assert got == pytest.approx(_printed_eq8_loop(u, labels, gamma), rel=1e-5)


def test_cauchy_quantization_hand_computed():
    # |h| parallel to the all-ones vector: d = 0, log 1 = 0 (eq. 9 measures the direction of |h| only)
    q = L.cauchy_quantization(torch.tensor([[0.5, -0.5], [-0.2, -0.2]]), gamma=1.0).item()
    assert q == pytest.approx(0.0, abs=1e-6)
    # h = (1, 0): cos(|h|, 1) = 1/sqrt 2, d = 1 - 1/sqrt 2; with h = (1, -1) (d = 0): mean of log(1 + d) and 0
    u = torch.tensor([[1.0, 0.0], [1.0, -1.0]])
    expected = 0.5 * math.log(2.0 - 1.0 / math.sqrt(2.0))
    assert L.cauchy_quantization(u, gamma=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_dch_loss_is_eq7_and_finite_for_identical_dissimilar_codes():
    u = torch.tensor([[0.3, 0.4], [0.3, 0.4]], requires_grad=True)  # same direction, different classes: d = 0
    labels = torch.tensor([0, 1])
    total, parts = L.dch_loss(u, labels, gamma=20.0, lambda_q=0.1, dist_eps=1e-3)
    assert parts["cauchy_ce"].item() == pytest.approx(math.log1p(20.0 / 1e-3), rel=1e-5)  # clamped at dist_eps
    assert total.item() == pytest.approx(parts["cauchy_ce"].item() + 0.1 * parts["cauchy_quant"].item(), rel=1e-6)
    total.backward()
    assert torch.isfinite(u.grad).all()


def test_gradient_separates_dissimilar_and_joins_similar_pairs():
    u = torch.tensor([[1.0, 0.2], [0.2, 1.0], [0.9, -0.3]], requires_grad=True)
    labels = torch.tensor([0, 0, 1])
    before = L.hamming_proxy(u.detach(), u.detach())
    L.cauchy_cross_entropy(u, labels, gamma=2.0, dist_eps=1e-3).backward()
    with torch.no_grad():
        v = u - 0.05 * u.grad
    after = L.hamming_proxy(v, v)
    assert after[0, 1] < before[0, 1]  # similar pair closer
    assert after[0, 2] > before[0, 2] and after[1, 2] > before[1, 2]  # dissimilar pairs further apart


@pytest.mark.parametrize("key,value", [("gamma", 0.0), ("lambda_q", -1.0), ("dist_eps", 0.0), ("epochs", 0)])
def test_bad_config_values_are_user_errors(key, value):
    with pytest.raises(UserError, match=key):
        create_hasher("dch", **{key: value}).validate_config()


def test_losses_stay_float32_under_bf16_autocast():
    g = torch.Generator().manual_seed(1)
    u = torch.tanh(torch.randn(6, 16, generator=g))
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    ref, _ = L.dch_loss(u, labels, 20.0, 0.1, 1e-3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, _ = L.dch_loss(u, labels, 20.0, 0.1, 1e-3)
    assert got.dtype == torch.float32 and got.item() == pytest.approx(ref.item(), rel=1e-6)
