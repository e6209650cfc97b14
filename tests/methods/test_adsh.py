"""ADSH: the asymmetric loss and the discrete code update on hand-computed cases (the update against a brute-force
search), the similarity, the outer-iteration batches, the training wiring (V updated from the previous
iteration's queries), the dropped training state, config errors and one fast learning check (the slow one:
test_adsh_learning.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.adsh import ADSHBatches, ADSHHasher
from zshbench.methods.adsh.losses import (
    adsh_loss,
    code_objective,
    neg_similarity,
    similarity,
    update_codes,
    update_column,
)
from zshbench.testing import learning_check
from zshbench.trainset import TrainSet


def _train_set(n_per_class=6, s=4, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(labels, images=images)


U2 = torch.tensor([[0.5, -0.5], [1.0, 0.0]])
V3 = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
S23 = torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0]])


def test_adsh_loss_by_hand():
    # c = 2. u_1 V^T = (0, 1, 0), c S_1 = (2, -2, -2): (-2)^2 + 3^2 + 2^2 = 17
    #        u_2 V^T = (1, 1, -1), c S_2 = (-2, 2, -2): 3^2 + (-1)^2 + 1^2 = 11; square = 28 / (n B = 6)
    # v_own = V rows 0 and 2: (0.5^2 + 1.5^2) + (2^2 + 1^2) = 2.5 + 5 = 7.5; quantization = 7.5 / 6
    total, square, quant = adsh_loss(U2, V3, S23, V3[[0, 2]], gamma=2.0)
    assert square.item() == pytest.approx(28 / 6)
    assert quant.item() == pytest.approx(7.5 / 6)
    assert total.item() == pytest.approx(28 / 6 + 2 * 7.5 / 6)


def test_adsh_loss_gradient_by_hand():
    # d/du_i = (2 / nB) [sum_j (u_i^T v_j - c S_ij) v_j - gamma (v_i - u_i)]
    u = U2.clone().requires_grad_(True)
    adsh_loss(u, V3, S23, V3[[0, 2]], gamma=2.0)[0].backward()
    r = U2 @ V3.T - 2 * S23  # residuals: (-2, 3, 2), (3, -1, 1)
    want = (2 / 6) * (r @ V3 - 2.0 * (V3[[0, 2]] - U2))
    torch.testing.assert_close(u.grad, want)
    # item 1: r V = -2 (1, 1) + 3 (1, -1) + 2 (-1, -1) = (-1, -7); v - u = (0.5, 1.5): (-1 - 1, -7 - 3) / 3
    torch.testing.assert_close(u.grad[0], torch.tensor([-2.0, -10.0]) / 3)


def test_similarity_paper_and_balanced_by_hand():
    q, db = torch.tensor([0, 1]), torch.tensor([0, 0, 1, 2])
    assert neg_similarity(q, db, "paper") == -1.0
    # similar pairs: 2 (item 0) + 1 (item 1) = 3 of 8: r = 3 / 5
    assert neg_similarity(q, db, "balanced") == pytest.approx(-0.6)
    s = similarity(q, db, -0.6)
    torch.testing.assert_close(s, torch.tensor([[1.0, 1.0, -0.6, -0.6], [-0.6, -0.6, 1.0, -0.6]]))
    assert neg_similarity(torch.tensor([0]), torch.tensor([0, 0]), "balanced") == -1.0  # no dissimilar pair


def _problem(seed, n=5, c=3, m=3):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(m, c, generator=g) * 2 - 1
    omega = torch.randperm(n, generator=g)[:m]
    labels = torch.randint(0, 2, (n,), generator=g)
    s = similarity(labels[omega], labels, -1.0)
    v = torch.randint(0, 2, (n, c), generator=g).float() * 2 - 1
    return v, u, s, omega


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_bit_update_is_the_exact_minimiser_over_all_columns(seed):
    # brute force: every one of the 2^n values of column k, the others fixed, scored by the full objective J
    v, u, s, omega = _problem(seed)
    gamma, c = 3.0, u.shape[1]
    ubar = torch.zeros_like(v)
    ubar[omega] = u
    q = -2.0 * c * (s.T @ u) - 2.0 * gamma * ubar
    for k in range(c):
        best, best_col = None, None
        for bits in itertools.product([-1.0, 1.0], repeat=v.shape[0]):
            w = v.clone()
            w[:, k] = torch.tensor(bits)
            j = code_objective(w, u, s, omega, gamma)
            if best is None or j < best - 1e-9:
                best, best_col = j, w[:, k].clone()
        got = v.clone()
        got[:, k] = update_column(v, u, q, k)
        assert code_objective(got, u, s, omega, gamma) == pytest.approx(best, abs=1e-4)
        torch.testing.assert_close(got[:, k], best_col)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_pass_of_bit_updates_never_increases_the_objective(seed):
    v, u, s, omega = _problem(seed, n=8, c=4, m=4)
    before = code_objective(v, u, s, omega, 3.0)
    after = code_objective(update_codes(v, u, s, omega, 3.0), u, s, omega, 3.0)
    assert after <= before + 1e-6
    assert set(update_codes(torch.zeros_like(v), u, s, omega, 3.0).unique().tolist()) <= {-1.0, 1.0}


def test_first_update_from_zero_codes_by_hand():
    # V = 0, n = 2, c = 2, one query (item 0): u = (0.5, -1), S = (1, -1), gamma = 1:
    # Q = -2 c S^T u - 2 gamma Ubar = -4 [(0.5, -1), (-0.5, 1)] - 2 [(0.5, -1), (0, 0)] = [(-3, 6), (2, -4)]
    # column 0 (the other column still 0): -sign(Q_0) = -sign(-3, 2) = (1, -1)
    # column 1 with column 0 = (1, -1): 2 V_0 (U_0^T U_1) + Q_1 = 2 (1, -1) (0.5 * -1) + (6, -4) = (5, -3): (-1, 1)
    u = torch.tensor([[0.5, -1.0]])
    s = torch.tensor([[1.0, -1.0]])
    v = update_codes(torch.zeros(2, 2), u, s, torch.tensor([0]), 1.0)
    torch.testing.assert_close(v, torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))


def test_outer_iteration_batches_cover_the_sample_in_every_pass():
    g = torch.Generator().manual_seed(0)
    p = {"num_samples": 6, "inner_epochs": 2, "batch_size": 4}
    b = ADSHBatches(10, p, lambda idx: (idx.clone(), idx % 3), g)
    assert len(b) == 4  # two passes of batches of 4 + 2
    got = list(b(0))
    assert [len(x[2]) for x in got] == [4, 2, 4, 2]
    omega = got[0][4]
    assert all(torch.equal(x[4], omega) for x in got) and all(x[3] == 0 for x in got)
    for first in (0, 2):
        seen = torch.cat([got[first][2], got[first + 1][2]])
        assert sorted(seen.tolist()) == sorted(omega.tolist())
    again = list(ADSHBatches(10, p, lambda idx: (idx, idx), torch.Generator().manual_seed(0))(0))
    assert all(torch.equal(x[2], y[2]) for x, y in zip(got, again))
    capped = ADSHBatches(5, {**p, "num_samples": 100}, lambda idx: (idx, idx), g)
    assert capped.m == 5


def test_training_updates_v_from_the_previous_outer_iterations_queries():
    train = _train_set()
    h = ADSHHasher(n_bits=8, num_samples=8, inner_epochs=1, batch_size=4, gamma=5.0, similarity="paper")
    p = h.resolved_profile()
    h._n_train = len(train)
    net = h.initial_network(p, h.prepare(train, p))
    net.train()
    labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)

    def load(idx):
        return torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy()))), labels[idx]

    batches = ADSHBatches(len(train), p, load, torch.Generator().manual_seed(0))
    epoch0 = list(batches(0))
    for batch in epoch0:
        total, parts = h.loss(net, batch, p, None)
        assert torch.equal(net.V, torch.zeros_like(net.V))  # V = 0 throughout the first outer iteration
        u = net(batch[0]).float()
        s = similarity(labels[batch[2]], labels, -1.0)
        want = adsh_loss(u, net.V, s, net.V[batch[2]], 5.0)
        torch.testing.assert_close(total, want[0], rtol=1e-4, atol=1e-5)
    omega0 = epoch0[0][4]
    assert int(net.outer) == 0 and sorted(torch.nonzero(net.omega).flatten().tolist()) == sorted(omega0.tolist())
    prev = torch.nonzero(net.omega).flatten()
    expected = update_codes(torch.zeros_like(net.V), net.U[prev], similarity(labels[prev], labels, -1.0), prev, 5.0)
    first1 = next(iter(batches(1)))
    h.loss(net, first1, p, None)
    torch.testing.assert_close(net.V, expected)
    assert int(net.outer) == 1 and set(net.V.unique().tolist()) == {-1.0, 1.0}
    assert float(net.neg) == -1.0
    # the default, balanced S: the dissimilar value -r of the new sample Omega x the training set
    p_bal = {**p, "similarity": "balanced"}
    net_bal = h.initial_network(p_bal, h.prepare(train, p_bal))
    h.loss(net_bal, first1, p_bal, None)
    omega1 = first1[4]
    assert float(net_bal.neg) == pytest.approx(neg_similarity(labels[omega1], labels, "balanced"))
    assert -1.0 < float(net_bal.neg) < 0.0


def test_fit_drops_the_training_state_and_codes_are_signs_of_the_network():
    h = ADSHHasher(n_bits=16, epochs=2, num_samples=8, inner_epochs=1, batch_size=4).fit(_train_set())
    sd = h.model_.state_dict()
    assert sd["V"].shape[0] == 0 and sd["U"].shape[0] == 0 and sd["db_labels"].shape[0] == 0
    info = h.run_info()
    assert info["n_database_codes"] == 24 and info["omega_size"] == 8 and info["v_updates"] == 1
    images = _train_set(seed=1).images.take(np.arange(5))
    u = h.model_.encode(torch.from_numpy(np.ascontiguousarray(images)))
    bits = np.unpackbits(h.encode(images), axis=1)[:, :16]
    np.testing.assert_array_equal(bits, (u.numpy() >= 0).astype(np.uint8))


@pytest.mark.parametrize(
    "key,value",
    [("gamma", -1.0), ("num_samples", 0), ("inner_epochs", 0), ("backbone_lr_scale", -1.0), ("lr", 0.0)],
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        ADSHHasher(**{key: value}).fit(_train_set())


@pytest.mark.parametrize("key,value", [("similarity", "cosine"), ("v_init", "ones")])
def test_unknown_choices_are_refused(key, value):
    with pytest.raises(UserError, match=key):
        ADSHHasher(**{key: value}).fit(_train_set())


def test_random_initial_codes_follow_the_seed():
    train = _train_set()
    h = ADSHHasher(n_bits=8, v_init="random", seed=3)
    p = h.resolved_profile()
    v = h.prepare(train, p)["V"]
    assert v.shape == (24, 8) and set(v.unique().tolist()) == {-1.0, 1.0}
    torch.testing.assert_close(v, ADSHHasher(n_bits=8, v_init="random", seed=3).prepare(train, dict(p))["V"])


def test_paper_profile_is_the_authors_setting_on_the_shared_backbone():
    p = ADSHHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"]) == ("resnet101.tv_in1k", 224, "pretrained")
    assert (p["optimizer"], p["lr"], p["momentum"], p["weight_decay"]) == ("sgd", 1e-3, 0.0, 5e-4)
    assert (p["epochs"], p["inner_epochs"], p["num_samples"], p["gamma"], p["batch_size"]) == (50, 3, 2000, 200.0, 64)
    assert tuple(p["lr_milestones"]) == (0.22, 0.42, 0.62, 0.82) and p["similarity"] == "balanced"


def test_adsh_learns_short():
    # 30 steps = 6 outer iterations of 5 steps (|Omega| = 320, one pass), V updated 5 times
    # measured (seed 0, 32 bits, 2 shared cores): map@all untrained 0.3606 -> 0.7227 (similarity=paper: 0.2095)
    before, after, info = learning_check("adsh", 30, num_samples=320, inner_epochs=1)
    assert info["train"]["steps"] == 30
    assert after > before + 0.1, (before, after, info["train"]["epochs"])
