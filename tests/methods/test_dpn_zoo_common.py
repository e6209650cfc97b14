"""The pieces dpn, orthohash and bihalf share (``methods/_zoo_common.py``): class codes, optimizer groups, the step
schedule, the frozen-backbone switch and the weights policy on the shared backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods._zoo_common import build_optimizer, class_codes, step_scheduler, steps_per_epoch
from zshbench.methods.dpn import DPNHasher
from zshbench.methods.orthohash import OrthoHashHasher
from zshbench.trainset import TrainSet


def _train_set(n_per_class=6, s=4, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(labels, images=images)


def _min_distance(c: torch.Tensor) -> float:
    k = c.shape[1]
    return float(((k - c @ c.T) / (2 * k)).fill_diagonal_(1.0).min())


def test_bernoulli_codes_are_seeded_random_bits():
    a = class_codes(40, 64, "bernoulli", 0, owner="t")
    assert a.shape == (40, 64) and set(a.unique().tolist()) == {-1.0, 1.0}
    torch.testing.assert_close(a, class_codes(40, 64, "bernoulli", 0, owner="t"))
    assert not torch.equal(a, class_codes(40, 64, "bernoulli", 1, owner="t"))
    assert abs(float(a.mean())) < 0.05  # P(+1) = 1/2


def test_spread_codes_are_further_apart_than_bernoulli_ones():
    for n, k in [(10, 32), (40, 64)]:
        spread = class_codes(n, k, "spread", 0, owner="t")
        assert set(spread.unique().tolist()) == {-1.0, 1.0}
        torch.testing.assert_close(spread, class_codes(n, k, "spread", 0, owner="t"))
        assert _min_distance(spread) > _min_distance(class_codes(n, k, "bernoulli", 0, owner="t")) + 0.05
    # 40 classes in 8 bits cannot be far apart: the threshold drops until codes are found
    assert class_codes(40, 8, "spread", 0, owner="t").shape == (40, 8)


def test_unknown_code_scheme_names_the_options():
    with pytest.raises(UserError, match="bernoulli, spread, hadamard"):
        class_codes(3, 8, "gaussian", 0, owner="t")


def test_hadamard_codes_are_the_first_sylvester_rows_by_hand():
    # H_2 = [[1, 1], [1, -1]], H_4 = [[H_2, H_2], [H_2, -H_2]], written out row by row
    want = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]])
    torch.testing.assert_close(class_codes(3, 4, "hadamard", 0, owner="t"), want)
    torch.testing.assert_close(class_codes(3, 4, "hadamard", 7, owner="t"), want)  # no seed involved
    c = class_codes(10, 64, "hadamard", 0, owner="t")
    torch.testing.assert_close(c @ c.T, 64.0 * torch.eye(10))  # mutually orthogonal: 32 bits apart
    assert _min_distance(c) == 0.5


@pytest.mark.parametrize("n,k", [(3, 24), (10, 8), (2, 0)])
def test_hadamard_codes_need_a_power_of_two_bits_and_enough_rows(n, k):
    with pytest.raises(UserError, match="power of 2"):
        class_codes(n, k, "hadamard", 0, owner="t")


def test_steps_per_epoch_drops_a_last_batch_of_one():
    assert steps_per_epoch(10, 4) == 3  # 4 + 4 + 2
    assert steps_per_epoch(9, 4) == 2  # 4 + 4 (+ 1 dropped)
    assert steps_per_epoch(4000, 64) == 63


def test_step_schedule_divides_the_learning_rate_at_the_milestones():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=1.0)
    p = {"epochs": 2, "lr_milestones": (0.5, 0.8), "lr_gamma": 0.1}
    sched = step_scheduler(opt, p, n_steps_per_epoch=5)  # 10 steps: milestones after steps 5 and 8
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lrs, [1.0] * 5 + [0.1] * 3 + [0.01] * 2)
    assert step_scheduler(opt, {"epochs": 2, "lr_milestones": ()}, 5) is None


def test_optimizer_scales_the_backbone_and_leaves_a_frozen_one_out():
    h = OrthoHashHasher(n_bits=8, profile="tiny", backbone_lr_scale=0.1, lr=1e-3)
    p = h.resolved_profile()
    net = h.initial_network(p, {"codebook": torch.ones(3, 8)})
    opt = build_optimizer(net, p)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3])
    n_backbone = sum(1 for n, _ in net.named_parameters() if n.startswith("backbone."))
    assert len(opt.param_groups[0]["params"]) == n_backbone
    assert len(opt.param_groups[1]["params"]) == 3  # hash_fc.weight, hash_bn.weight, hash_bn.bias
    p0 = {**p, "backbone_lr_scale": 0.0}
    frozen = h.initial_network(p0, {"codebook": torch.ones(3, 8)})
    assert not any(q.requires_grad for q in frozen.backbone.parameters())
    assert len(build_optimizer(frozen, p0).param_groups) == 1
    sgd = build_optimizer(net, {**p, "optimizer": "sgd", "momentum": 0.9})
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9


def test_every_trainable_parameter_moves_in_training():
    h = DPNHasher(n_bits=8, max_steps=3, batch_size=12)
    p = h.resolved_profile()
    start = h.initial_network(p, {"targets": torch.ones(4, 8)}).state_dict()
    h.fit(_train_set())
    end = h.model_.state_dict()
    moved = [k for k in ("backbone.conv1.0.weight", "backbone.fc.weight", "hash_fc.weight") if k in end]
    assert moved and all(not torch.equal(start[k], end[k]) for k in moved)


def test_weights_from_a_file_load_into_the_shared_backbone(tmp_path):
    from zshbench.train.backbones import build_cnn

    torch.manual_seed(123)
    sd = build_cnn("resnet10t").state_dict()
    path = tmp_path / "bb.pth"
    torch.save(sd, path)
    h = DPNHasher(n_bits=8, max_steps=1, batch_size=12, weights=str(path), lr=1e-12).fit(_train_set())
    key = "conv1.0.weight"
    torch.testing.assert_close(h.model_.backbone.state_dict()[key], sd[key], atol=1e-6, rtol=0)
    assert "user file" in h.run_info()["weights_label_set"]
    with pytest.raises(UserError, match="no such file"):
        DPNHasher(n_bits=8, max_steps=1, weights=str(tmp_path / "nope.pth")).fit(_train_set())
