"""CSQ (Yuan et al., CVPR 2020): hash centres (Hadamard / Bernoulli, seen classes only), the losses against hand
computations and an independent reference, and a fast learning check (the loss falls on a fixed batch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.csq import losses as L
from zshbench.methods.csq.centres import centre_distances, hadamard_applies, hash_centres
from zshbench.registry import create_hasher


def test_hadamard_rule():
    assert hadamard_applies(40, 64) and hadamard_applies(128, 64) and hadamard_applies(40, 128)
    assert not hadamard_applies(129, 64)  # more than 2K classes
    assert not hadamard_applies(10, 24) and not hadamard_applies(10, 48)  # K not a power of 2
    assert hadamard_applies(4, 2) and not hadamard_applies(5, 2)


def test_hadamard_centres_are_orthogonal_rows_then_their_negations():
    c, kind = hash_centres(40, 64, seed=0)
    assert kind == "hadamard" and c.shape == (40, 64) and set(np.unique(c)) == {-1.0, 1.0}
    # rows of H_64: mutually orthogonal, i.e. every pair differs in exactly K/2 = 32 bits
    assert np.array_equal(c @ c.T, 64 * np.eye(40))
    assert centre_distances(c) == (32, 32.0)
    # 100 classes > K: rows 64..99 are -H rows 0..35; a row and its negation differ in all 64 bits
    c2, kind2 = hash_centres(100, 64, seed=0)
    assert kind2 == "hadamard" and np.array_equal(c2[64:], -c2[:36]) and np.array_equal(c2[:40], c)
    d_min, d_mean = centre_distances(c2)
    assert d_min == 32 and 32.0 < d_mean < 33.0
    # H_4 by hand (Sylvester): rows (1 1 1 1), (1 -1 1 -1), (1 1 -1 -1), (1 -1 -1 1), then their negations
    c4, _ = hash_centres(5, 4, seed=0)
    assert c4.tolist() == [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1], [-1, -1, -1, -1]]


@pytest.mark.parametrize("m,k", [(40, 24), (40, 48), (40, 16)])
def test_bernoulli_centres_when_hadamard_does_not_apply(m, k):
    c, kind = hash_centres(m, k, seed=3)
    assert kind == "bernoulli" and c.shape == (m, k) and set(np.unique(c)) <= {-1.0, 1.0}
    assert len(np.unique(c, axis=0)) == m  # distinct centres
    again, _ = hash_centres(m, k, seed=3)
    assert np.array_equal(c, again)  # seeded
    assert not np.array_equal(c, hash_centres(m, k, seed=4)[0])
    # Bernoulli(0.5) bits: about half of the bits are +1 and the mean distance is about K/2
    assert 0.4 < (c > 0).mean() < 0.6
    assert 0.4 * k < centre_distances(c)[1] < 0.6 * k


def test_forced_bernoulli_and_bad_mode():
    assert hash_centres(40, 64, seed=0, mode="bernoulli")[1] == "bernoulli"
    with pytest.raises(ValueError, match="centres mode"):
        hash_centres(4, 8, seed=0, mode="kmeans")


def test_centres_for_seen_classes_only():
    from zshbench.runner import build_trainset
    from zshbench.testing import conformance_dataset

    ds, split = conformance_dataset()  # 4 seen, 2 unseen classes
    train = build_trainset(ds, split)
    h = create_hasher("csq", n_bits=16, seed=0, max_steps=1, batch_size=8).fit(train)
    assert tuple(h.model_.centres.shape) == (train.n_classes, 16) == (4, 16)
    info = h.run_info()
    assert info["centres"] == "hadamard" and info["n_seen_classes"] == 4 and info["centre_min_distance"] == 8
    # the saved model keeps its centres (a buffer)
    assert "model.centres" in h._get_state()


def test_central_loss_hand_computed_and_against_bce_on_probabilities():
    # tanh(z) = 0.6 -> (h + 1) / 2 = 0.8; target bit +1 -> -log 0.8, target bit -1 -> -log 0.2
    z = torch.full((1, 2), math.atanh(0.6))
    c = torch.tensor([[1.0, -1.0]])
    expected = (-math.log(0.8) - math.log(0.2)) / 2
    assert L.central_loss(z, c).item() == pytest.approx(expected, rel=1e-5)
    # h = 0: log 2 whatever the centre
    assert L.central_loss(torch.zeros(3, 4), torch.ones(3, 4)).item() == pytest.approx(math.log(2.0), rel=1e-6)
    # independent reference: BCE on the probabilities (h + 1) / 2, the paper's L_C with its 1/K, mean over items
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 8, generator=g, dtype=torch.float64)
    c = torch.where(torch.rand(5, 8, generator=g) < 0.5, 1.0, -1.0).double()
    h01, c01 = (torch.tanh(z) + 1) / 2, (c + 1) / 2
    ref = -(c01 * torch.log(h01) + (1 - c01) * torch.log(1 - h01)).sum(1).div(8).mean()
    assert L.central_loss(z, c).item() == pytest.approx(ref.item(), rel=1e-6)
    # saturated tanh: finite (no log 0)
    assert math.isfinite(L.central_loss(torch.tensor([[60.0]]), torch.tensor([[-1.0]])).item())


def test_quantization_loss_forms():
    h = torch.tensor([[1.0, 0.0], [-1.0, 0.5]])
    # |h| - 1 = 0, -1, 0, -0.5
    expected = (math.log(math.cosh(1.0)) + math.log(math.cosh(0.5))) / 4
    assert L.quantization_loss(h).item() == pytest.approx(expected, rel=1e-6)
    assert L.quantization_loss(h, "square").item() == pytest.approx((1.0 + 0.25) / 4)
    assert L.log_cosh(torch.tensor([1000.0])).item() == pytest.approx(1000.0 - math.log(2.0))
    with pytest.raises(ValueError, match="quantization"):
        L.quantization_loss(h, "cube")


def test_csq_loss_total():
    z = torch.tensor([[0.2, -1.0]])
    c = torch.tensor([[1.0, 1.0]])
    total, parts = L.csq_loss(z, c, lambda_q=0.5)
    assert total.item() == pytest.approx(parts["central"].item() + 0.5 * parts["quantization"].item(), rel=1e-6)
    assert parts["quantization"].item() == pytest.approx(L.quantization_loss(torch.tanh(z)).item())


@pytest.mark.parametrize("key,value", [("lambda_q", -1.0), ("quantization", "cube"), ("centres", "kmeans")])
def test_bad_config_values_are_user_errors(key, value):
    with pytest.raises(UserError, match=key):
        create_hasher("csq", **{key: value}).validate_config()
