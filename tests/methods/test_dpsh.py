"""DPSH: the loss (eq. 5) on hand-computed cases, its gradient against eq. 7 written out as loops, the memory bank,
the profiles, and learning on `shapes` (a fast check; the default budget against LSH, slow)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.methods.pairwise.dpsh import DPSHHasher
from zshbench.methods.pairwise.losses import dpsh_loss, same_label, signs
from zshbench.testing import conformance_dataset, learning_check


def test_loss_by_hand_in_batch():
    # u_1 = (2, 0), u_2 = (0, -1), one class: Theta = u u^T / 2 = [[2, 0], [0, 0.5]], s = 1 everywhere.
    # -log p = log(1 + e^Theta) - Theta: log(1 + e^-2), log(1 + e^-0.5) on the diagonal, log 2 off it.
    # b = sgn(u) with sgn(0) = +1: b_1 = (1, 1), b_2 = (1, -1); ||b - u||^2 = 1 + 1 and 1 + 0.
    u = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    labels = torch.tensor([3, 3])
    nll = math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-0.5)) + 2 * math.log(2.0)
    total, parts = dpsh_loss(u, u, same_label(labels, labels), 0.5, columns_detached=False)
    assert total.item() == pytest.approx((nll + 0.5 * 3.0) / 4, abs=1e-6)
    assert parts["likelihood"].item() == pytest.approx(nll / 4, abs=1e-6)
    assert parts["quantisation"].item() == pytest.approx(1.5, abs=1e-6)


def test_loss_by_hand_dissimilar_pair():
    # u_1 = (1, 1), u_2 = (1, -1), two classes: Theta = [[1, 0], [0, 1]], s = I; -log p = log(1 + e^-1) on the
    # diagonal, log 2 off it; b = u, no quantisation error. With the memory bank the likelihood counts twice.
    u = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    labels = torch.tensor([0, 1])
    nll = 2 * math.log1p(math.exp(-1.0)) + 2 * math.log(2.0)
    s = same_label(labels, labels)
    total, parts = dpsh_loss(u, u, s, 10.0, columns_detached=False)
    assert total.item() == pytest.approx(nll / 4, abs=1e-6)
    assert parts["quantisation"].item() == 0.0
    total_bank, _ = dpsh_loss(u, u.clone(), s, 10.0, columns_detached=True)
    assert total_bank.item() == pytest.approx(2 * nll / 4, abs=1e-6)


def _eq7(u: torch.Tensor, cols: torch.Tensor, s: torch.Tensor, eta: float) -> torch.Tensor:
    """eq. 7 for every batch point, as loops: sum_j (a_ij - s_ij) u_j + 2 eta (u_i - b_i), divided by B N."""
    n_b, n = s.shape
    out = torch.zeros_like(u, dtype=torch.float64)
    for i in range(n_b):
        for j in range(n):
            a = 1.0 / (1.0 + math.exp(-0.5 * float(u[i].double() @ cols[j].double())))
            out[i] += (a - float(s[i, j])) * cols[j].double()
        b = torch.tensor([1.0 if x >= 0 else -1.0 for x in u[i].tolist()], dtype=torch.float64)
        out[i] += 2 * eta * (u[i].double() - b)
    return out / (n_b * n)


def test_gradient_is_eq7_with_memory_bank():
    g = torch.Generator().manual_seed(0)
    bank = torch.randn(7, 4, generator=g)
    bank_labels = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    idx = torch.tensor([4, 0, 2])
    u = torch.randn(3, 4, generator=g, requires_grad=True)
    bank[idx] = u.detach()  # the batch's rows hold its current outputs
    s = same_label(bank_labels[idx], bank_labels)
    total, _ = dpsh_loss(u, bank, s, 0.7, columns_detached=True)
    total.backward()
    torch.testing.assert_close(u.grad.double(), _eq7(u.detach(), bank, s, 0.7), atol=1e-6, rtol=1e-5)


def test_gradient_is_eq7_in_batch():
    g = torch.Generator().manual_seed(1)
    u = torch.randn(5, 3, generator=g, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 1])
    s = same_label(labels, labels)
    total, _ = dpsh_loss(u, u, s, 2.0, columns_detached=False)
    total.backward()
    torch.testing.assert_close(u.grad.double(), _eq7(u.detach(), u.detach(), s, 2.0), atol=1e-6, rtol=1e-5)


def test_quantisation_targets_are_signs_and_constant():
    u = torch.tensor([[0.0, -0.3, 2.0]], requires_grad=True)
    assert signs(u.detach()).tolist() == [[1.0, -1.0, 1.0]]
    total, _ = dpsh_loss(u, u.detach(), torch.ones(1, 1), 1.0, columns_detached=True)
    total.backward()
    # likelihood: (sigmoid(Theta) - 1) u (Theta = ||u||^2 / 2); quantisation: 2 (u - b), b constant
    theta = 0.5 * (0.09 + 4.0)
    expect = (1 / (1 + math.exp(-theta)) - 1) * u.detach() + 2 * (u.detach() - torch.tensor([1.0, -1.0, 1.0]))
    torch.testing.assert_close(u.grad, expect, atol=1e-6, rtol=1e-5)


def _train():
    from zshbench.runner import build_trainset

    return build_trainset(*conformance_dataset())


def test_memory_bank_holds_every_training_item_after_an_epoch():
    train = _train()
    h = DPSHHasher(n_bits=8, seed=0, epochs=1, batch_size=16).fit(train)
    net = h.model_
    assert net.bank.shape == (len(train), 8)  # seen-class training items only
    assert (net.bank.abs().sum(dim=1) > 0).all()
    assert net.train_labels.tolist() == np.asarray(train.labels).tolist()
    assert h.run_info()["train"]["steps"] == 3  # 48 items in batches of 16


def test_in_batch_option_has_no_bank():
    h = DPSHHasher(n_bits=8, seed=0, pairs="batch", max_steps=2, batch_size=16).fit(_train())
    assert not hasattr(h.model_, "bank") and h.run_info()["pairs"] == "batch"


def test_profiles():
    for name, p in DPSHHasher.profiles.items():
        assert p["eta"] == 10.0 and p["pairs"] == "all", name
    assert DPSHHasher.profiles["paper"]["backbone"] == "resnet101.tv_in1k"
    assert (DPSHHasher.profiles["paper"]["epochs"], DPSHHasher.profiles["paper"]["lr"]) == (10, 1e-4)


def test_bad_config_values_are_user_errors():
    from zshbench.errors import UserError

    for bad in ({"eta": -1.0}, {"pairs": "some"}, {"weight_decay": -0.1}, {"batch_size": 1}):
        with pytest.raises(UserError, match=next(iter(bad))):
            DPSHHasher(max_steps=1, **bad).fit(_train())


def test_dpsh_learns_short():
    # measured (seed 0, 32 bits, map@all): untrained 0.3609, 40 steps 0.5370
    before, after, info = learning_check("dpsh", 40)
    assert info["train"]["steps"] == 40
    assert after > before + 0.1, (before, after, info["train"]["epochs"])


# LSH on shapes-zsh at 64 bits, seed 0, measured as `zshbench run` measures it (README.md, "Sanity check")
LSH_MAP5000_SHAPES_64B_SEED0 = 0.1338


@pytest.mark.slow
def test_dpsh_beats_lsh_at_default_budget(tmp_path):
    from zshbench.runner import run

    (rec,) = run("dpsh", "shapes", bits=[64], seeds=[0], results_dir=tmp_path, progress=False, device="cpu")
    assert rec.metrics["map@5000"] > LSH_MAP5000_SHAPES_64B_SEED0, rec.metrics
