"""HashNet: the weighted likelihood (eq. 2-4) on hand-computed cases and against a loop, the weights of eq. 3, the
continuation schedule (against the authors' formula) and its checkpointed step, the profiles, and learning on
`shapes` (a fast check; the default budget against LSH, slow)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.methods.pairwise.common import planned_steps
from zshbench.methods.pairwise.hashnet import HashNetHasher
from zshbench.methods.pairwise.losses import continuation_beta, hashnet_loss, hashnet_pair_weights
from zshbench.testing import conformance_dataset, learning_check


def _train():
    from zshbench.runner import build_trainset

    return build_trainset(*conformance_dataset())


def test_pair_weights_by_hand():
    # labels 0,0,1,1,2,2: |S| = 6 * 5 = 30 ordered pairs, |S_1| = 3 * (2 * 1) = 6, |S_0| = 24
    assert hashnet_pair_weights([0, 0, 1, 1, 2, 2], "balanced") == pytest.approx((5.0, 1.25))
    # labels 0,0,0,1: |S| = 12, |S_1| = 3 * 2 = 6, |S_0| = 6
    assert hashnet_pair_weights([0, 0, 0, 1], "balanced") == pytest.approx((2.0, 2.0))
    assert hashnet_pair_weights([0, 1, 2], "balanced") == (0.0, 1.0)  # no similar pair at all
    assert hashnet_pair_weights([0, 0, 1], "none") == (1.0, 1.0)


def test_loss_by_hand():
    # h_1 = h_2 = (1, 0) (same class), h_3 = (0, 1): <h_1, h_2> = 1, the other inner products 0; alpha = 1.
    # similar pair: log(1 + e^1) - 1 = log(1 + e^-1) (twice: (1,2), (2,1)); dissimilar: log(1 + e^0) = log 2
    # (four ordered pairs); weights 5 and 1.25, mean over the 6 ordered pairs i != j.
    h = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    total, parts = hashnet_loss(h, torch.tensor([4, 4, 7]), 1.0, 5.0, 1.25)
    sim, dis = math.log1p(math.exp(-1.0)), math.log(2.0)
    assert total.item() == pytest.approx((2 * 5.0 * sim + 4 * 1.25 * dis) / 6)
    assert parts["nll"].item() == pytest.approx((2 * sim + 4 * dis) / 6)
    assert parts["similar_pairs"].item() == pytest.approx(2 / 6)


def test_loss_matches_eq4_loop_and_is_stable():
    g = torch.Generator().manual_seed(0)
    h = torch.tanh(3 * torch.randn(5, 8, generator=g))
    labels = [0, 1, 0, 1, 2]
    alpha, ws, wd = 10.0 / 8, 3.0, 0.6
    ref = []
    for i in range(5):
        for j in range(5):
            if i != j:
                x = alpha * float(h[i] @ h[j])
                s = float(labels[i] == labels[j])
                ref.append((ws if s else wd) * (math.log1p(math.exp(x)) - s * x))
    total, _ = hashnet_loss(h, torch.tensor(labels), alpha, ws, wd)
    assert total.item() == pytest.approx(sum(ref) / len(ref), rel=1e-6)
    big, _ = hashnet_loss(torch.ones(2, 64), torch.tensor([0, 1]), 10.0, 1.0, 1.0)  # alpha <h, h> = 640
    assert big.item() == pytest.approx(640.0)


def test_continuation_is_the_authors_schedule_over_10000_steps():
    # the authors' code: scale = (1 + 0.005 iter) ** 0.5, recomputed every 200 iterations
    for step in (0, 1, 199, 200, 201, 4321, 9999):
        code = (1 + 0.005 * 200 * (step // 200)) ** 0.5
        assert continuation_beta(step, 10000, 1.0, 0.5, 50) == pytest.approx(code)
    # another budget: the same 50 stages spread over it, ending at beta = 50 ** 0.5
    assert continuation_beta(0, 100, 1.0, 0.5, 50) == 1.0
    assert continuation_beta(99, 100, 1.0, 0.5, 50) == pytest.approx(50**0.5)
    assert continuation_beta(500, 100, 1.0, 0.5, 50) == pytest.approx(50**0.5)  # never past the last stage


@pytest.mark.parametrize("n, bs, world", [(48, 16, 1), (49, 16, 1), (50, 16, 1), (51, 16, 2), (53, 16, 2), (7, 8, 1)])
def test_planned_steps_counts_the_batches(n, bs, world):
    from zshbench.train.batches import ShuffledBatches

    sb = ShuffledBatches(n, bs, lambda idx: idx, torch.Generator().manual_seed(0), min_size=2)
    per_epoch = len(list(sb.epoch(0, shard=(0, world))))
    assert planned_steps(n, bs, 3, None, world) == 3 * per_epoch
    assert planned_steps(n, bs, 3, 2, world) == min(2, 3 * per_epoch)


def test_beta_rises_during_fit_and_the_step_is_kept():
    # 48 items, batches of 16, 2 epochs: 6 steps; stage floor(s * 50 / 6): 0, 8, 16, 25, 33, 41
    h = HashNetHasher(n_bits=8, seed=0, epochs=2, batch_size=16).fit(_train())
    betas = [math.sqrt(1 + t) for t in (0, 8, 16, 25, 33, 41)]
    epochs = h.run_info()["train"]["epochs"]
    assert [e["beta"] for e in epochs] == pytest.approx([np.mean(betas[:3]), np.mean(betas[3:])], abs=1e-5)
    assert int(h.model_.continuation_step) == 6 and h.run_info()["final_beta"] == pytest.approx(betas[-1])
    assert h.run_info()["hyper"]["total_steps"] == 6


def test_codes_are_signs_of_z():
    h = HashNetHasher(n_bits=16, seed=0, max_steps=2, batch_size=16).fit(_train())
    imgs = conformance_dataset()[0].image_view(np.arange(10))[0:10]
    z = h.model_.encode(torch.from_numpy(np.ascontiguousarray(imgs))).numpy()
    bits = np.unpackbits(h.encode(imgs), axis=1, count=16).astype(bool)
    np.testing.assert_array_equal(bits, z >= 0)


def test_bad_config_values_are_user_errors():
    from zshbench.errors import UserError

    train = _train()
    for bad in ({"sigmoid_scale": 0.0}, {"beta_power": -1.0}, {"continuation_stages": 0}, {"weighting": "x"}):
        with pytest.raises(UserError, match=next(iter(bad))):
            HashNetHasher(max_steps=1, **bad).fit(train)


def test_hashnet_learns_short():
    # measured (seed 0, 32 bits, map@all): untrained 0.3609, 40 steps 0.7289
    before, after, info = learning_check("hashnet", 40)
    assert info["train"]["steps"] == 40
    assert after > before + 0.1, (before, after, info["train"]["epochs"])


# LSH on shapes-zsh at 64 bits, seed 0, measured as `zshbench run` measures it (README.md, "Sanity check")
LSH_MAP5000_SHAPES_64B_SEED0 = 0.1338


@pytest.mark.slow
def test_hashnet_beats_lsh_at_default_budget(tmp_path):
    from zshbench.runner import run

    (rec,) = run("hashnet", "shapes", bits=[64], seeds=[0], results_dir=tmp_path, progress=False, device="cpu")
    assert rec.metrics["map@5000"] > LSH_MAP5000_SHAPES_64B_SEED0, rec.metrics
