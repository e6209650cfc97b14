"""DSH: the relaxed loss (eq. 3-4) on hand-computed cases, its sub-gradients against eq. 5-7 written out as loops,
the profiles, and learning on `shapes` (a fast check; the default budget against LSH, slow)."""

from __future__ import annotations

import itertools

import pytest
import torch

from zshbench.methods.pairwise.dsh import DSHHasher
from zshbench.methods.pairwise.losses import dsh_loss, dsh_regulariser
from zshbench.testing import conformance_dataset, learning_check


def test_loss_by_hand_similar_and_dissimilar():
    # b_1 = (1, 1), b_2 = (-1, 1): ||b_1 - b_2||^2 = 4, no regulariser (|b| = 1 everywhere), m = 4.
    b = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    similar, _ = dsh_loss(b, torch.tensor([0, 0]), 4.0, 0.5)
    assert similar.item() == pytest.approx(0.5 * 4.0)  # 1/2 (1 - y) D, y = 0
    dissimilar, _ = dsh_loss(b, torch.tensor([0, 1]), 4.0, 0.5)
    assert dissimilar.item() == pytest.approx(0.0)  # 1/2 y max(m - D, 0) = 0 at D = m


def test_loss_by_hand_margin_and_regulariser():
    # b_1 = (0.5, 0), b_2 = (0, -2): D = 0.25 + 4 = 4.25; dissimilar with m = 5: 1/2 (5 - 4.25) = 0.375.
    # || |b_1| - 1 ||_1 = 0.5 + 1 = 1.5, || |b_2| - 1 ||_1 = 1 + 1 = 2; eq. 3 adds alpha (1.5 + 2) = 0.35.
    b = torch.tensor([[0.5, 0.0], [0.0, -2.0]])
    total, parts = dsh_loss(b, torch.tensor([1, 2]), 5.0, 0.1)
    assert total.item() == pytest.approx(0.375 + 0.35)
    assert parts["contrastive"].item() == pytest.approx(0.375)
    assert parts["regulariser"].item() == pytest.approx(1.75)


def _eq3_mean(b: torch.Tensor, labels: list[int], m: float, alpha: float) -> float:
    """eq. 3 for every unique pair, literally (the regulariser of BOTH items in every pair), averaged."""
    vals = []
    for i, j in itertools.combinations(range(len(b)), 2):
        d = float((b[i] - b[j]).pow(2).sum())
        y = float(labels[i] != labels[j])
        reg = float((b[i].abs() - 1).abs().sum() + (b[j].abs() - 1).abs().sum())
        vals.append(0.5 * (1 - y) * d + 0.5 * y * max(m - d, 0.0) + alpha * reg)
    return sum(vals) / len(vals)


def _eq5_7(b: torch.Tensor, labels: list[int], m: float, alpha: float) -> torch.Tensor:
    """The sub-gradients of eq. 5-7 summed over the unique pairs and divided by their number."""
    grad = torch.zeros_like(b, dtype=torch.float64)
    pairs = list(itertools.combinations(range(len(b)), 2))
    delta = lambda x: torch.where(((x >= -1) & (x <= 0)) | (x >= 1), 1.0, -1.0).double()  # noqa: E731
    for i, j in pairs:
        diff = (b[i] - b[j]).double()
        y = float(labels[i] != labels[j])
        g = (1 - y) * diff  # eq. 5 (j = 1; the second item gets the opposite sign)
        if float(diff.pow(2).sum()) < m:
            g = g - y * diff  # eq. 6
        grad[i] += g + alpha * delta(b[i])  # eq. 7
        grad[j] += -g + alpha * delta(b[j])
    return grad / len(pairs)


def test_matches_eq3_and_its_subgradients_on_random_pairs():
    g = torch.Generator().manual_seed(0)
    b = (torch.randn(6, 5, generator=g) * 1.5).requires_grad_(True)
    labels = [0, 1, 0, 2, 1, 1]
    m, alpha = 2.0 * 5, 0.3
    total, _ = dsh_loss(b, torch.tensor(labels), m, alpha)
    assert total.item() == pytest.approx(_eq3_mean(b.detach(), labels, m, alpha), rel=1e-6)
    total.backward()
    torch.testing.assert_close(b.grad.double(), _eq5_7(b.detach(), labels, m, alpha), atol=1e-6, rtol=1e-5)


def test_regulariser_value_and_subgradient_by_hand_at_the_kinks():
    # | |x| - 1 | at x = -2, -1, -0.5, 0, 0.5, 1, 2: 1, 0, 0.5, 1, 0.5, 0, 1; eq. 7's delta(x) (1 for -1 <= x <= 0
    # or x >= 1, else -1): -1, 1, 1, 1, -1, 1, 1 (autograd of abs would give 0 at -1, 0 and 1)
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    r = dsh_regulariser(x)
    assert r.tolist() == [1.0, 0.0, 0.5, 1.0, 0.5, 0.0, 1.0]
    r.sum().backward()
    assert x.grad.tolist() == [-1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0]


def test_matches_eq5_7_with_outputs_on_the_kinks():
    # outputs exactly at -1, 0, 1 (where eq. 7 fixes delta = 1); pair distances 5.25 (similar), 2.25 (dissimilar,
    # inside the margin m = 6), 11.5 (dissimilar, outside): no pair sits on the margin itself
    b = torch.tensor([[1.0, 0.0, -1.0], [0.5, -2.0, 0.0], [2.0, 1.0, -0.5]], requires_grad=True)
    labels = [0, 0, 1]
    total, _ = dsh_loss(b, torch.tensor(labels), 6.0, 0.25)
    assert total.item() == pytest.approx(_eq3_mean(b.detach(), labels, 6.0, 0.25), rel=1e-6)
    total.backward()
    torch.testing.assert_close(b.grad.double(), _eq5_7(b.detach(), labels, 6.0, 0.25), atol=1e-6, rtol=1e-5)


def test_margin_is_2k():
    from zshbench.runner import build_trainset

    h = DSHHasher(n_bits=24, max_steps=1, batch_size=16).fit(build_trainset(*conformance_dataset()))
    assert h.run_info()["margin"] == 48.0
    assert all(p["margin_per_bit"] == 2.0 and p["alpha"] == 0.01 for p in DSHHasher.profiles.values())


def test_bad_config_values_are_user_errors():
    from zshbench.errors import UserError
    from zshbench.runner import build_trainset

    train = build_trainset(*conformance_dataset())
    for bad in ({"alpha": -1.0}, {"margin_per_bit": 0.0}, {"lr": 0.0}):
        with pytest.raises(UserError, match=next(iter(bad))):
            DSHHasher(max_steps=1, **bad).fit(train)


def test_dsh_learns_short():
    # measured (seed 0, 32 bits, map@all): untrained 0.3609, 40 steps 0.6077
    before, after, info = learning_check("dsh", 40)
    assert info["train"]["steps"] == 40
    assert after > before + 0.1, (before, after, info["train"]["epochs"])


# LSH on shapes-zsh at 64 bits, seed 0, measured as `zshbench run` measures it (README.md, "Sanity check")
LSH_MAP5000_SHAPES_64B_SEED0 = 0.1338


@pytest.mark.slow
def test_dsh_beats_lsh_at_default_budget(tmp_path):
    from zshbench.runner import run

    (rec,) = run("dsh", "shapes", bits=[64], seeds=[0], results_dir=tmp_path, progress=False, device="cpu")
    assert rec.metrics["map@5000"] > LSH_MAP5000_SHAPES_64B_SEED0, rec.metrics
