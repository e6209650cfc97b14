"""DDSH: the weighted similarity, the balanced binary quadratic step and the network step on hand-computed cases,
the discrete step against brute force, the passes over Gamma, one training step's wiring, config errors and one
fast learning check (the slow one: test_ddsh_learning.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.ddsh import DDSHHasher, GammaPasses, omega_items
from zshbench.methods.ddsh.losses import (
    balanced_bqp,
    half_size,
    network_loss,
    objective,
    omega_step,
    signs,
    weighted_similarity,
)
from zshbench.testing import conformance_dataset, learning_check


def test_weighted_similarity_by_hand():
    # labels (0, 0, 1, 2) against Omega = items 0 and 2: same = [[1, 0], [1, 0], [0, 1], [0, 0]]: 3 similar and 5
    # dissimilar pairs, r = 0.6; S = same x 1.6 - 0.6
    s, r = weighted_similarity(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 2]))
    assert r == pytest.approx(0.6)
    torch.testing.assert_close(s, torch.tensor([[1.0, -0.6], [1.0, -0.6], [-0.6, 1.0], [-0.6, -0.6]]))


def test_half_size_rounds_halves_up():
    assert [half_size(m) for m in (1, 2, 3, 4, 100)] == [1, 2, 2, 3, 51]


def test_balanced_bqp_by_hand():
    # m = 2, H - 1 = 1 entry +1: b^T Q b = 2 b_1 b_2 = -2 for both balanced b; p^T b = -2 for b = (-1, 1)
    q = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert balanced_bqp(q, torch.tensor([1.0, -1.0])).tolist() == [-1.0, 1.0]
    # Q = 0: min p^T b with two +1 entries puts them where p is smallest (items 3 and 1)
    b = balanced_bqp(torch.zeros(4, 4), torch.tensor([3.0, -1.0, 2.0, -5.0]))
    assert b.tolist() == [-1.0, 1.0, -1.0, 1.0]


def _bqp(b, q, p):
    return float(b @ q @ b + p @ b)


def _balanced(m):
    ones = half_size(m) - 1
    return [torch.tensor(c) for c in itertools.product([-1.0, 1.0], repeat=m) if sum(x > 0 for x in c) == ones]


def test_balanced_bqp_finds_the_class_split():
    # Q from two balanced classes (Q_ij = -c within a class, +c across), a small linear term: the optimum over the
    # balanced b is the class indicator; the heuristic's clusters are exactly the classes
    cls = torch.tensor([0, 1, 1, 0, 0, 1])
    same = (cls[:, None] == cls[None, :]).float()
    q = (1.0 - 2.0 * same) * 3.0
    q.fill_diagonal_(0.0)
    p = torch.tensor([0.5, -0.2, 0.1, 0.3, -0.4, 0.2])
    b = balanced_bqp(q, p)
    assert int((b > 0).sum()) == half_size(6) - 1
    best = min(_bqp(c, q, p) for c in _balanced(6))
    assert _bqp(b, q, p) == pytest.approx(best)
    assert b.tolist() in ([1.0 if c == 0 else -1.0 for c in cls], [1.0 if c == 1 else -1.0 for c in cls])


def test_balanced_bqp_output_is_balanced_and_never_worse_than_half_the_candidates():
    g = torch.Generator().manual_seed(0)
    for m in (3, 5, 8):
        q = torch.randn(m, m, generator=g)
        q = q + q.T
        q.fill_diagonal_(0.0)
        p = torch.randn(m, generator=g)
        b = balanced_bqp(q, p)
        assert set(b.tolist()) <= {-1.0, 1.0} and int((b > 0).sum()) == half_size(m) - 1
        values = sorted(_bqp(c, q, p) for c in _balanced(m))
        assert _bqp(b, q, p) <= values[len(values) // 2] + 1e-9  # a good, not necessarily optimal, solution


def _greedy_brute_force(b_gamma, s_gamma, s_omega, n_bits):
    """Bit k: the balanced b minimising ||R_G - B_G,k b^T||^2 + ||R_O - b b^T||^2 (off the diagonal), written out."""
    m = s_omega.shape[0]
    out = torch.zeros(m, n_bits, dtype=torch.float64)
    off = ~torch.eye(m, dtype=torch.bool)
    for k in range(n_bits):
        r_g = n_bits * s_gamma.double() - b_gamma[:, :k].double() @ out[:, :k].T
        r_o = n_bits * s_omega.double() - out[:, :k] @ out[:, :k].T
        best, arg = math.inf, None
        for c in _balanced(m):
            c = c.double()
            v = float((r_g - torch.outer(b_gamma[:, k].double(), c)).pow(2).sum())
            v += float((r_o - torch.outer(c, c))[off].pow(2).sum())
            if v < best - 1e-9:
                best, arg = v, c
        out[:, k] = arg
    return out.float()


def test_omega_step_is_the_greedy_bitwise_minimum_on_a_two_class_case():
    # 2 balanced classes; Gamma's codes carry the class in bits 0 and 2, noise in bit 1
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 1, 0])
    omega = torch.tensor([0, 1, 2, 3])
    s, _ = weighted_similarity(labels, omega)
    gamma = torch.arange(4, 10)
    cls = torch.where(labels[gamma] == 0, 1.0, -1.0)
    b_gamma = torch.stack([cls, torch.tensor([1.0, -1.0, -1.0, 1.0, 1.0, -1.0]), -cls], dim=1)
    got = omega_step(b_gamma, s[gamma], s[omega], 3)
    torch.testing.assert_close(got, _greedy_brute_force(b_gamma, s[gamma], s[omega], 3))
    # the class bits follow Gamma's: items 0, 2 (class 0) get +1 in bit 0 and -1 in bit 2
    assert got[:, 0].tolist() == [1.0, -1.0, 1.0, -1.0] and got[:, 2].tolist() == [-1.0, 1.0, -1.0, 1.0]
    rand = signs(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)))
    assert objective(b_gamma, got, s[gamma], s[omega], 3) < objective(b_gamma, rand, s[gamma], s[omega], 3)


def test_network_loss_by_hand():
    # q = 2, u = (0, atanh 0.5): h = (0, 0.5); B_Omega = [[1, -1], [1, 1]]: h B^T = (-0.5, 0.5); s = (1, -0.5):
    # residual q s - h B^T = (2.5, -1.5), squares 6.25 + 2.25 = 8.5, over (batch 1 x n 10) = 0.85
    u = torch.tensor([[0.0, math.atanh(0.5)]])
    total, parts = network_loss(u, torch.tensor([[1.0, -0.5]]), torch.tensor([[1.0, -1.0], [1.0, 1.0]]), 2, 10)
    assert total.item() == pytest.approx(0.85, abs=1e-6)
    assert parts["fit"].item() == pytest.approx(4.25, abs=1e-6)


def test_network_gradient_is_the_authors():
    # dJ/dh_j = -2 q S_j,Omega B_Omega + 2 h_j B_Omega^T B_Omega, times (1 - h^2), over (batch x n)
    g = torch.Generator().manual_seed(4)
    u = torch.randn(3, 5, generator=g, requires_grad=True)
    s = torch.randn(3, 4, generator=g)
    bo = signs(torch.randn(4, 5, generator=g))
    total, _ = network_loss(u, s, bo, 5, 20)
    total.backward()
    h = torch.tanh(u.detach())
    expect = (1 - h**2) * (-2 * 5 * s @ bo + 2 * h @ (bo.T @ bo)) / (3 * 20)
    torch.testing.assert_close(u.grad, expect, atol=1e-6, rtol=1e-5)


def test_gamma_passes_skip_omega_and_redraw_it_every_iters_passes():
    loaded = []

    def load(idx):
        loaded.append(idx.clone())
        return torch.zeros(len(idx), 1), torch.zeros(len(idx), dtype=torch.long)

    passes = GammaPasses(20, 5, 2, 4, 7, load, torch.Generator().manual_seed(0))
    assert len(passes) == 4  # 15 Gamma items in batches of 4: 3 full + a batch of 3
    seen = []
    for epoch in range(4):
        batches = list(passes(epoch))
        assert [b[4] for b in batches] == [True, False, False, False]
        omega = batches[0][3]
        idx = torch.cat([b[2] for b in batches])
        assert sorted(idx.tolist()) == sorted(set(range(20)) - set(omega.tolist()))
        seen.append(omega.tolist())
    assert seen[0] == seen[1] == omega_items(20, 5, 7, 0).tolist() and seen[2] == seen[3] != seen[0]


def _train():
    from zshbench.runner import build_trainset

    return build_trainset(*conformance_dataset())


def test_one_pass_starts_with_the_discrete_step():
    train = _train()
    h = DDSHHasher(n_bits=8, seed=0, batch_size=8, sample_column=6)
    p = h.resolved_profile()
    data = h.prepare(train, p)
    assert p["m"] == 6
    net = h.initial_network(p, data)
    net.train()
    gen = torch.Generator().manual_seed(0)
    h._device = torch.device("cpu")  # set by fit
    batches = h.train_batches(train, p, gen)
    first = next(iter(batches(0)))
    omega = first[3]
    b_before = net.codes.clone()
    keep = torch.ones(len(train), dtype=torch.bool)
    keep[omega] = False
    s, _ = weighted_similarity(net.train_labels, omega)
    expect_omega = omega_step(b_before[keep], s[keep], s[omega], 8)
    total, parts = h.loss(net, first, p, gen)
    torch.testing.assert_close(net.codes[omega], expect_omega)
    assert (net.codes[omega].sum(dim=0) == 0).all()  # every bit balanced over the 6 sampled items
    u = net(first[0]).detach()
    torch.testing.assert_close(net.codes[first[2]], signs(u))  # the batch's B_Gamma rows: sgn(u)
    ref, _ = network_loss(u, s[first[2]], expect_omega, 8, len(train))
    assert total.item() == pytest.approx(ref.item(), rel=1e-5) and "fit" in parts


def test_m_is_capped_at_half_the_training_items():
    h = DDSHHasher(n_bits=8, seed=0, epochs=1, batch_size=16).fit(_train())
    info = h.run_info()
    assert info["m"] == 24 and info["n_train"] == 48 and np.isfinite(info["last_objective"])


def test_profiles():
    for name, p in DDSHHasher.profiles.items():
        assert (p["sample_column"], p["iters"]) == (100, 3), name
    paper = DDSHHasher.profiles["paper"]
    assert paper["backbone"] == "resnet101.tv_in1k"
    assert (paper["optimizer"], paper["lr"], paper["lr_final"], paper["epochs"], paper["batch_size"]) == (
        "sgd",
        1e-2,
        1e-4,
        150,
        128,
    )


@pytest.mark.parametrize("bad", [{"sample_column": 0}, {"iters": 0}, {"weight_decay": -1.0}])
def test_bad_config_values_are_user_errors(bad):
    with pytest.raises(UserError, match=next(iter(bad))):
        DDSHHasher(max_steps=1, **bad).fit(_train())


def test_ddsh_learns_short():
    # measured (seed 0, 32 bits, map@all): untrained 0.3588, 40 steps 0.7930
    before, after, info = learning_check("ddsh", 40)
    assert info["train"]["steps"] == 40
    assert after > before + 0.2, (before, after, info["train"]["epochs"])
