"""Bi-half: the layer's forward and backward on hand-computed cases, both objectives on hand-computed cases, the
encoding (sign, batch-independent), unsupervised wiring (no labels), config errors and one fast learning check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.bihalf import BiHalfHasher
from zshbench.methods.bihalf.layer import bi_half, bi_half_codes
from zshbench.methods.bihalf.losses import reconstruction_loss, similarity_loss
from zshbench.trainset import TrainSet

U = torch.tensor([[0.3, -1.0], [0.1, 2.0], [-0.5, 0.5], [0.2, 0.0]])
# column 0 ranked: 0.3 (row 0), 0.2 (row 3), 0.1 (row 1), -0.5 (row 2): rows 0 and 3 -> +1
# column 1 ranked: 2.0 (row 1), 0.5 (row 2), 0.0 (row 3), -1.0 (row 0): rows 1 and 2 -> +1
B = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])


def _unlabelled(n=24, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(np.arange(n) % 3, images=images)  # fit hides the labels from bihalf


def test_forward_gives_the_top_half_of_each_bit_plus_one():
    torch.testing.assert_close(bi_half_codes(U), B)
    # differs from sign(U) where the half-half rule overrides it: row 1 of column 0 (0.1 > 0 but third of four)
    assert (B != torch.sign(U)).nonzero().tolist() == [[1, 0], [3, 1]]


def test_forward_balances_every_bit_and_handles_odd_batches_and_ties():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(10, 7, generator=g) + 3.0  # all positive: sign would give all +1
    b = bi_half_codes(u)
    assert (b.sum(0) == 0).all()
    odd = bi_half_codes(torch.randn(5, 3, generator=g))
    assert ((odd == 1).sum(0) == 2).all()  # floor(5 / 2) items get +1
    ties = bi_half_codes(torch.zeros(4, 1))
    assert ties.flatten().tolist() == [1.0, 1.0, -1.0, -1.0]  # a stable sort: earlier positions first


def test_backward_is_straight_through_plus_gamma_times_u_minus_b_over_nk():
    u = U.clone().requires_grad_(True)
    upstream = torch.tensor([[1.0, 2.0], [0.0, -1.0], [0.5, 0.5], [-2.0, 0.0]])
    (bi_half(u, 6.0) * upstream).sum().backward()
    # by hand, entry (0, 0): 1 + 6 (0.3 - 1) / 8 = 1 - 0.525 = 0.475; entry (1, 1): -1 + 6 (2 - 1) / 8 = -0.25
    assert u.grad[0, 0].item() == pytest.approx(0.475)
    assert u.grad[1, 1].item() == pytest.approx(-0.25)
    torch.testing.assert_close(u.grad, upstream + 6.0 * (U - B) / 8.0)
    u.grad = None
    (bi_half(u, 0.0) * upstream).sum().backward()
    torch.testing.assert_close(u.grad, upstream)  # gamma = 0: the plain straight-through estimator


def test_similarity_loss_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    b = torch.tensor([[1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [-1.0, -1.0]], requires_grad=True)
    # pairs (0, 2) and (1, 3): feature cosines 1 and 1/sqrt(2); code cosines 0 and 0
    loss = similarity_loss(x, b)
    assert loss.item() == pytest.approx((1.0 + 0.5) / 2)
    loss.backward()
    assert x.grad is None and b.grad is not None  # the features are the target: no gradient into them
    # an odd batch leaves its last item out
    x5 = torch.cat([x.detach(), torch.tensor([[5.0, -3.0]])])
    b5 = torch.cat([b.detach(), torch.tensor([[1.0, 1.0]])])
    assert similarity_loss(x5, b5).item() == pytest.approx(0.75)


def test_reconstruction_loss_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # sigmoid: 0.5, 0.75
    pixels = torch.tensor([[1.0, 0.25]])
    # -(log 0.5) and -(0.25 log 0.75 + 0.75 log 0.25), mean of the two
    want = (math.log(2.0) - 0.25 * math.log(0.75) - 0.75 * math.log(0.25)) / 2
    assert reconstruction_loss(logits, pixels).item() == pytest.approx(want, rel=1e-6)


def test_trains_without_labels_and_encodes_one_item_at_a_time():
    assert not BiHalfHasher.requires.supervised and not BiHalfHasher.requires.attributes
    train = _unlabelled()
    with pytest.raises(UserError, match="supervised=False"):
        _ = train.visible_to(BiHalfHasher.requires).labels  # what fit passes on: labels unreadable
    h = BiHalfHasher(n_bits=16, max_steps=2, batch_size=8).fit(train)
    assert h.run_info()["train"]["steps"] == 2
    imgs = train.images.take(np.arange(6))
    # sign(h), not the batch's half-half rule: each item's code is the same alone as in a batch
    together = h.encode(imgs)
    alone = np.concatenate([h.encode(imgs[i : i + 1]) for i in range(6)])
    np.testing.assert_array_equal(together, alone)
    with torch.no_grad():
        hv = h.model_.encode(torch.from_numpy(np.ascontiguousarray(imgs)))
    np.testing.assert_array_equal(np.unpackbits(together, axis=1)[:, :16], (hv.numpy() >= 0).astype(np.uint8))


@pytest.mark.parametrize("objective", ["similarity", "reconstruction"])
def test_training_step_wiring(objective):
    h = BiHalfHasher(n_bits=8, objective=objective, gamma=2.0)
    p = h.resolved_profile()
    net = h.initial_network(p, {})
    net.train()
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    total, parts = h.loss(net, (images, None), p, g)
    x, u = net(images)
    b = bi_half_codes(u)
    if objective == "similarity":
        want = similarity_loss(x, b)
        assert net.decoder is None
    else:
        target = images.permute(0, 3, 1, 2).float().div(255.0).flatten(1)  # 32 x 32 input: no resize
        want = reconstruction_loss(net.decoder(b), target)
    torch.testing.assert_close(total, want)


def test_frozen_backbone_stays_unchanged_and_in_eval_mode():
    train = _unlabelled()
    h = BiHalfHasher(n_bits=8, max_steps=2, batch_size=8, objective="similarity", backbone_lr_scale=0.0)
    p = h.resolved_profile()
    start = h.initial_network(p, {}).state_dict()
    h.fit(train)
    end = h.model_.state_dict()
    for k, v in start.items():
        if k.startswith("backbone."):
            torch.testing.assert_close(end[k], v)  # weights and BN statistics
    assert not torch.equal(end["hash_fc.weight"], start["hash_fc.weight"])
    h.model_.train()
    assert not h.model_.backbone.training and h.model_.hash_fc.training


@pytest.mark.parametrize("key,value", [("gamma", -1.0), ("backbone_lr_scale", -0.5), ("weight_decay", -1.0)])
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        BiHalfHasher(**{key: value}).fit(_unlabelled())


def test_paper_profile_is_the_papers_pretrained_setting():
    p = BiHalfHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"], p["backbone_lr_scale"]) == (
        "resnet101.tv_in1k",
        224,
        "pretrained",
        0.0,
    )
    assert (p["objective"], p["gamma"], p["optimizer"], p["lr"], p["batch_size"], p["epochs"]) == (
        "similarity",
        6.0,
        "sgd",
        1e-4,
        32,
        300,
    )


def test_bihalf_head_learns_the_similarity_of_structured_features():
    """The fast learning check: the Bi-half layer and the similarity objective, trained by Adam on features with
    cluster structure (six Gaussian clusters in R^32), lower the loss on a fixed batch and give codes with small
    Hamming distances within a cluster and large ones across clusters. (On the tiny profile's frozen random
    backbone they do not: README.md, "Learning curve".)"""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(6, 32, generator=g) * 2

    def batch(n):
        c = torch.randint(0, 6, (n,), generator=g)
        return centres[c] + 0.5 * torch.randn(n, 32, generator=g), c

    torch.manual_seed(0)
    fc = torch.nn.Linear(32, 16)
    opt = torch.optim.Adam(fc.parameters(), 1e-3)
    fixed, labels = batch(256)
    with torch.no_grad():
        before = similarity_loss(fixed, bi_half(fc(fixed), 6.0)).item()
    for _ in range(200):
        x, _ = batch(64)
        loss = similarity_loss(x, bi_half(fc(x), 6.0))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = similarity_loss(fixed, bi_half(fc(fixed), 6.0)).item()
        b = torch.sign(fc(fixed))
    ham = (b[:, None, :] != b[None, :, :]).float().mean(2)
    same = labels[:, None] == labels[None, :]
    # measured: loss 0.072 -> 0.046; Hamming distance 0.001 within, 0.600 across clusters
    assert after < 0.75 * before, (before, after)
    assert ham[same].mean() < 0.05 and ham[~same].mean() > 0.4
