"""DSDH: the W-step, the B-step (DCC) and the network step on hand-computed cases, the B-step against SDH's DCC
(an independent implementation) and brute force, one training step's wiring, the schedule, config errors and one
fast learning check (the slow one: test_dsdh_learning.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.dsdh import DSDHHasher, log_spaced_lr
from zshbench.methods.dsdh.losses import dcc_b_step, network_loss, objective, one_hot, same_label, signs, w_step
from zshbench.testing import conformance_dataset, learning_check


def test_w_step_by_hand():
    # B^T B = [[3, -1], [-1, 3]], + (nu / mu) I = 1 I -> [[4, -1], [-1, 4]], inverse [[4, 1], [1, 4]] / 15;
    # B^T Y = [[2, -1], [0, 1]] (class 0: rows 1 + 2, class 1: row 3); W = [[8, -3], [2, 3]] / 15.
    b = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    y = one_hot(torch.tensor([0, 0, 1]), 2)
    w = w_step(b, y, mu=2.0, nu=2.0)
    torch.testing.assert_close(w, torch.tensor([[8.0, -3.0], [2.0, 3.0]]) / 15)


def test_w_step_minimises_the_regularised_least_squares():
    g = torch.Generator().manual_seed(0)
    b = signs(torch.randn(9, 4, generator=g))
    y = one_hot(torch.randint(0, 3, (9,), generator=g), 3)
    w = w_step(b, y, mu=1.0, nu=0.3).double()

    def f(w_):
        return float((y.double() - b.double() @ w_).pow(2).sum() + 0.3 * w_.pow(2).sum())

    for _ in range(20):  # every perturbation raises the (strictly convex) objective
        assert f(w + 1e-3 * torch.randn(w.shape, generator=g, dtype=torch.float64)) > f(w)


def test_dcc_by_hand():
    # L = 2 bits, C = 1: W = [[1], [0.5]], y = 1, u = (0.1, -0.2), eta / mu = 1: P = y W^T + U = (1.1, 0.3).
    # From b = (-1, -1): bit 1: z = 1.1 - 0.5 b_2 = 1.6 -> +1; bit 2: z = 0.3 - 0.5 b_1 = -0.2 -> -1; the second
    # pass changes nothing. f(b) = (b_1 + 0.5 b_2)^2 - 2 (1.1 b_1 + 0.3 b_2): f(1, -1) = -1.35 is the minimum of
    # f(1, 1) = -0.55, f(-1, 1) = 1.85, f(-1, -1) = 5.05.
    w = torch.tensor([[1.0], [0.5]])
    b, passes, changed = dcc_b_step(
        torch.tensor([[-1.0, -1.0]]), torch.tensor([[0.1, -0.2]]), torch.tensor([[1.0]]), w, 2.0, 2.0, 10
    )
    assert b.tolist() == [[1.0, -1.0]] and passes == 2 and changed == 1


def _b_objective(b, p, w):
    """||B W||^2 - 2 tr(B^T P) per row (float64)."""
    b, p, w = b.double(), p.double(), w.double()
    return (b @ w).pow(2).sum(dim=1) - 2 * (b * p).sum(dim=1)


def test_dcc_equals_sdh_dcc_and_is_bitwise_optimal():
    from zshbench.methods.sdh import dcc as sdh_dcc

    g = torch.Generator().manual_seed(3)
    n, ll, c = 40, 6, 4
    b0 = signs(torch.randn(n, ll, generator=g))
    u = torch.randn(n, ll, generator=g)
    y = one_hot(torch.randint(0, c, (n,), generator=g), c)
    w = torch.randn(ll, c, generator=g)
    mu, eta = 0.5, 0.2
    b, passes, _ = dcc_b_step(b0, u, y, w, mu, eta, 50)
    p = y @ w.T + (eta / mu) * u
    ref, ref_passes = sdh_dcc(b0.double().numpy(), p.double().numpy(), w.double().numpy(), 50)
    assert np.array_equal(b.numpy(), ref) and passes == ref_passes
    # converged: no single bit flip lowers any row's objective; and no row got worse than its start
    f = _b_objective(b, p, w)
    assert (f <= _b_objective(b0, p, w) + 1e-9).all()
    for k in range(ll):
        flipped = b.clone()
        flipped[:, k] *= -1
        assert (_b_objective(flipped, p, w) >= f - 1e-9).all()


def test_dcc_rows_reach_the_brute_force_minimum_on_a_small_case():
    # with a diagonal-dominant W W^T the bits barely interact, so DCC reaches every row's global minimum
    g = torch.Generator().manual_seed(5)
    ll, c = 4, 4
    w = torch.eye(ll, c) * 2.0 + 0.05 * torch.randn(ll, c, generator=g)
    u = torch.randn(10, ll, generator=g)
    y = one_hot(torch.randint(0, c, (10,), generator=g), c)
    b, _, _ = dcc_b_step(signs(torch.randn(10, ll, generator=g)), u, y, w, 1.0, 1.0, 20)
    p = y @ w.T + u
    allb = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=ll)))
    for i in range(10):
        best = _b_objective(allb, p[i].expand(len(allb), ll), w).min()
        assert _b_objective(b[i : i + 1], p[i : i + 1], w).item() == pytest.approx(best.item(), abs=1e-9)


def test_network_loss_by_hand():
    # u_1 = (2, 0), u_2 = (0, -1), one class; the bank is u itself. Theta = [[2, 0], [0, 0.5]], s = 1:
    # -log p = log(1 + e^-2), log(1 + e^-0.5) on the diagonal, log 2 off it. B = [[1, -1], [-1, -1]] (from the
    # B-step, not sgn(u)): ||b - u||^2 = 1 + 1 = 2 and 1 + 0 = 1. Total (2 nll + eta (2 + 1)) / 4.
    u = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    b = torch.tensor([[1.0, -1.0], [-1.0, -1.0]])
    nll = math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-0.5)) + 2 * math.log(2.0)
    s = same_label(torch.tensor([3, 3]), torch.tensor([3, 3]))
    total, parts = network_loss(u, u.clone(), s, b, eta=0.5)
    assert total.item() == pytest.approx((2 * nll + 0.5 * 3.0) / 4, abs=1e-6)
    assert parts["likelihood"].item() == pytest.approx(nll / 4, abs=1e-6)
    assert parts["quantisation"].item() == pytest.approx(1.5, abs=1e-6)


def test_network_gradient_is_the_papers():
    # d/du_i = sum_j (sigmoid(u_i^T u_j / 2) - s_ij) u_j + 2 eta (u_i - b_i), over m n, written as loops
    g = torch.Generator().manual_seed(1)
    bank = torch.randn(7, 4, generator=g)
    bank_labels = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    idx = torch.tensor([4, 0, 2])
    u = torch.randn(3, 4, generator=g, requires_grad=True)
    bank[idx] = u.detach()
    b = signs(torch.randn(3, 4, generator=g))
    s = same_label(bank_labels[idx], bank_labels)
    total, _ = network_loss(u, bank, s, b, 0.7)
    total.backward()
    expect = torch.zeros(3, 4, dtype=torch.float64)
    for i in range(3):
        for j in range(7):
            a = 1.0 / (1.0 + math.exp(-0.5 * float(u[i].detach().double() @ bank[j].double())))
            expect[i] += (a - float(s[i, j])) * bank[j].double()
        expect[i] += 2 * 0.7 * (u[i].detach().double() - b[i].double())
    torch.testing.assert_close(u.grad.double(), expect / 21, atol=1e-6, rtol=1e-5)


def test_b_step_and_w_step_never_raise_the_objective():
    g = torch.Generator().manual_seed(2)
    n, ll, c = 12, 5, 3
    labels = torch.randint(0, c, (n,), generator=g)
    u = 2 * torch.randn(n, ll, generator=g)
    y = one_hot(labels, c)
    b = signs(torch.randn(n, ll, generator=g))
    w = w_step(b, y, 1.0, 0.1)
    last = objective(u, labels, b, w, c, 1.0, 0.1, 2.0)["total"]
    for _ in range(4):
        b, _, _ = dcc_b_step(b, u, y, w, 1.0, 2.0, 10)
        now = objective(u, labels, b, w, c, 1.0, 0.1, 2.0)["total"]
        assert now <= last + 1e-9
        w = w_step(b, y, 1.0, 0.1)
        last = objective(u, labels, b, w, c, 1.0, 0.1, 2.0)["total"]
        assert last <= now + 1e-9


def _train():
    from zshbench.runner import build_trainset

    return build_trainset(*conformance_dataset())


def test_one_training_step_is_b_step_w_step_network_step():
    train = _train()
    h = DSDHHasher(n_bits=8, seed=0, batch_size=16)
    p = h.resolved_profile()
    h._steps_per_epoch = 3
    data = h.prepare(train, p)
    net = h.initial_network(p, data)
    net.train()
    b0, w0 = net.codes.clone(), net.classifier.clone()
    assert set(b0.unique().tolist()) == {-1.0, 1.0} and b0.shape == (len(train), 8)
    torch.testing.assert_close(w0, w_step(b0, one_hot(net.train_labels, p["n_classes"]), p["mu"], p["nu"]))
    idx = torch.tensor([0, 5, 9, 30])
    images = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
    labels = net.train_labels[idx]
    total, parts = h.loss(net, (images, labels, idx), p, torch.Generator().manual_seed(0))
    u = net(images).detach()
    torch.testing.assert_close(net.bank[idx], u)  # the bank holds the batch's outputs, zeros elsewhere
    assert net.bank.abs().sum() == net.bank[idx].abs().sum()
    y = one_hot(net.train_labels, p["n_classes"])
    bank = torch.zeros_like(net.bank)
    bank[idx] = u
    b1, _, _ = dcc_b_step(b0, bank, y, w0, p["mu"], p["eta"], p["dcc_iter"])
    torch.testing.assert_close(net.codes, b1)  # B-step on every training item
    torch.testing.assert_close(net.classifier, w_step(b1, y, p["mu"], p["nu"]))  # then the W-step
    ref, _ = network_loss(u, bank, same_label(labels, net.train_labels), b1[idx], p["eta"])
    assert total.item() == pytest.approx(ref.item(), rel=1e-5)  # network step against the new B
    assert {"likelihood", "quantisation", "classification", "dcc_sweeps", "bits_changed"} <= set(parts)


def test_fit_keeps_codes_classifier_and_bank_and_reports_facts():
    train = _train()
    h = DSDHHasher(n_bits=8, seed=0, epochs=1, batch_size=16).fit(train)
    net = h.model_
    assert net.bank.shape == net.codes.shape == (len(train), 8)
    assert (net.bank.abs().sum(dim=1) > 0).all()  # one epoch visits every item
    assert net.classifier.shape == (8, train.n_classes)
    info = h.run_info()
    assert info["n_train"] == len(train) and info["n_seen_classes"] == train.n_classes
    assert 0.0 <= info["train_code_accuracy"] <= 1.0 and info["train"]["steps"] == 3


def test_log_spaced_schedule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-2)
    sched = log_spaced_lr(opt, 1e-2, 1e-6, epochs=5, n_steps_per_epoch=2)
    seen = []
    for _ in range(12):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # logspace(-2, -6, 5) = 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, each for one epoch of 2 steps, then held at 1e-6
    expect = [1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6, 1e-6, 1e-6]
    assert seen == pytest.approx(expect, rel=1e-9)


def test_profiles():
    for name, p in DSDHHasher.profiles.items():
        assert (p["mu"], p["nu"], p["eta"], p["dcc_iter"]) == (1.0, 0.1, 55.0, 10), name
    paper = DSDHHasher.profiles["paper"]
    assert paper["backbone"] == "resnet101.tv_in1k" and paper["img_size"] == 224
    assert (paper["optimizer"], paper["lr"], paper["lr_final"], paper["epochs"], paper["batch_size"]) == (
        "sgd",
        1e-2,
        1e-6,
        150,
        128,
    )
    assert DSDHHasher.profiles["tiny"]["lr_final"] is None


@pytest.mark.parametrize("bad", [{"mu": 0.0}, {"nu": -1.0}, {"eta": -0.5}, {"dcc_iter": 0}, {"weight_decay": -1.0}])
def test_bad_config_values_are_user_errors(bad):
    with pytest.raises(UserError, match=next(iter(bad))):
        DSDHHasher(max_steps=1, **bad).fit(_train())


def test_dsdh_learns_short():
    # measured (seed 0, 32 bits, map@all): see the assertion's numbers in README.md ("Tests")
    before, after, info = learning_check("dsdh", 40)
    assert info["train"]["steps"] == 40
    assert after > before + 0.1, (before, after, info["train"]["epochs"])
