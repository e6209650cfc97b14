"""OrthoHash (OrthoCos): the cosine-margin cross-entropy on hand-computed cases, the BN hash layer, the seen-class
codebook, the training wiring, config errors and one fast learning check (slow ones: test_orthohash_learning.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.orthohash import OrthoHashHasher
from zshbench.methods.orthohash.losses import cosine_logits, orthocos_loss, quantization_loss
from zshbench.testing import learning_check
from zshbench.trainset import TrainSet


def _train_set(n_per_class=6, s=4, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(labels, images=images)


# three mutually orthogonal codes of 4 bits (rows of a Hadamard matrix)
CODES = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, 1.0, -1.0]])


def test_cosines_by_hand():
    v = torch.tensor([[2.0, 2.0, 2.0, 2.0], [3.0, 1.0, 1.0, -1.0]])
    # v1 = 2 * o1: cos 1, 0, 0; v2: (3+1+1-1)/(sqrt(12) * 2) = 4/(2 sqrt 12), (3+1-1+1)/.. = 4/.., (3-1+1+1)/.. = 4/..
    c = 4.0 / (2.0 * math.sqrt(12.0))
    torch.testing.assert_close(cosine_logits(v, CODES), torch.tensor([[1.0, 0.0, 0.0], [c, c, c]]))


def test_orthocos_loss_by_hand():
    cos = torch.tensor([[1.0, 0.0, 0.0]])
    # label 0, s = 2, m = 0.5: logits (2 (1 - 0.5), 0, 0) = (1, 0, 0): -log(e / (e + 2)) = log(1 + 2/e)
    assert orthocos_loss(cos, torch.tensor([0]), 2.0, 0.5).item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    # label 1 (the margin moves to class 1): logits (2, 2 (0 - 0.5), 0) = (2, -1, 0): log(e^2 + e^-1 + 1) + 1
    want = math.log(math.exp(2) + math.exp(-1) + 1) + 1
    assert orthocos_loss(cos, torch.tensor([1]), 2.0, 0.5).item() == pytest.approx(want, abs=1e-6)
    # m = 0: the plain scaled-cosine softmax; batch mean of both rows
    two = orthocos_loss(torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]), torch.tensor([0, 2]), 8.0, 0.0)
    want = (math.log(1 + 2 * math.exp(-8)) + math.log(2 * math.exp(4) + 1)) / 2
    assert two.item() == pytest.approx(want, rel=1e-6)


def test_orthocos_loss_against_an_independent_loop():
    g = torch.Generator().manual_seed(0)
    cos = torch.rand(5, 4, generator=g) * 2 - 1
    labels = torch.tensor([0, 3, 1, 1, 2])
    s, m = 8.0, 0.2
    ref = 0.0
    for i in range(5):
        logits = [s * (cos[i, c].item() - (m if c == labels[i] else 0.0)) for c in range(4)]
        ref += -logits[labels[i]] + math.log(sum(math.exp(z) for z in logits))
    assert orthocos_loss(cos, labels, s, m).item() == pytest.approx(ref / 5, rel=1e-6)


def test_quantization_loss_by_hand():
    v = torch.tensor([[2.0, -1.0], [0.5, 0.5]], requires_grad=True)
    # item 1: sign (1, -1), cos = (2 + 1) / (sqrt 5 sqrt 2) = 3 / sqrt 10; item 2: v parallel to (1, 1): cos 1
    want = (1.0 - 3.0 / math.sqrt(10.0) + 0.0) / 2
    q = quantization_loss(v)
    assert q.item() == pytest.approx(want, abs=1e-6)  # float32: 1 - cos loses relative precision
    q.backward()
    # d/dv (1 - v.s / (|v| |s|)) = -(s / (|v| |s|) - (v.s) v / (|v|^3 |s|)), sign(v) a constant; halved by the mean
    s1, v1 = torch.tensor([1.0, -1.0]), torch.tensor([2.0, -1.0])
    g1 = -(s1 / (math.sqrt(5) * math.sqrt(2)) - 3.0 * v1 / (5**1.5 * math.sqrt(2))) / 2
    torch.testing.assert_close(v.grad[0], g1)
    torch.testing.assert_close(v.grad[1], torch.zeros(2), atol=1e-7, rtol=0)  # already on its binary code


def test_quan_weight_adds_the_quantization_term():
    train = _train_set(s=3)
    h = OrthoHashHasher(n_bits=16, max_steps=1, batch_size=8, quan=0.5).fit(train)
    p, net = h.run_info()["hyper"], h.model_
    assert p["quan"] == 0.5
    net.train()
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    total, parts = h.loss(net, (images, labels), p, g)
    v = net(images)
    want = orthocos_loss(cosine_logits(v, net.codebook), labels, 8.0, 0.2) + 0.5 * quantization_loss(v)
    torch.testing.assert_close(total, want)
    torch.testing.assert_close(parts["quan"], quantization_loss(v).detach())


def test_hadamard_codebook_is_orthogonal_and_refused_at_other_bit_counts():
    train = _train_set(s=3)
    cb = OrthoHashHasher(n_bits=16, max_steps=1, batch_size=8, codes="hadamard").fit(train).model_.codebook
    torch.testing.assert_close(cb @ cb.T, 16.0 * torch.eye(3))
    with pytest.raises(UserError, match="power of 2"):
        OrthoHashHasher(n_bits=24, max_steps=1, batch_size=8, codes="hadamard").fit(train)


def test_hash_layer_is_linear_without_bias_then_batchnorm():
    h = OrthoHashHasher(n_bits=16)
    p = h.resolved_profile()
    net = h.initial_network(p, {"codebook": torch.ones(3, 16)})
    assert net.hash_fc.bias is None and isinstance(net.hash_bn, torch.nn.BatchNorm1d)
    assert float(net.hash_fc.weight.detach().std()) == pytest.approx(0.01, rel=0.1)  # the authors' N(0, 0.01^2) init
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (8, 32, 32, 3), generator=g, dtype=torch.uint8)
    net.train()
    v = net(images)
    # in training BN standardises every bit over the batch: zero mean (code balance, Sec. 3)
    torch.testing.assert_close(v.mean(0), torch.zeros(16), atol=1e-5, rtol=0)


def test_codebook_covers_the_seen_classes_only_and_loss_uses_it():
    train = _train_set(s=5)
    h = OrthoHashHasher(n_bits=32, max_steps=1, batch_size=8, seed=2).fit(train)
    cb = h.model_.codebook
    assert cb.shape == (5, 32) and set(cb.unique().tolist()) == {-1.0, 1.0}
    assert h.run_info()["n_seen_classes"] == 5
    p = h.run_info()["hyper"]
    net = h.model_
    net.train()
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.tensor([0, 4, 1, 1, 2, 3])
    total, parts = h.loss(net, (images, labels), p, g)
    want = orthocos_loss(cosine_logits(net(images), cb), labels, p["scale"], p["margin"])
    torch.testing.assert_close(total, want)


def test_spread_codebook_is_further_apart_than_random_bits():
    train = _train_set(s=4)
    cb = {
        c: OrthoHashHasher(n_bits=16, max_steps=1, batch_size=8, codes=c).fit(train).model_.codebook
        for c in ("bernoulli", "spread")
    }
    d = {c: ((16 - x @ x.T) / 32).fill_diagonal_(1).min().item() for c, x in cb.items()}
    assert d["spread"] >= 0.5 > d["bernoulli"], d


@pytest.mark.parametrize(
    "key,value", [("scale", 0.0), ("margin", -0.1), ("quan", -1.0), ("weight_decay", -1.0), ("batch_size", 1)]
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        OrthoHashHasher(**{key: value}).fit(_train_set())


def test_paper_profile_is_the_authors_setting_on_the_shared_backbone():
    p = OrthoHashHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"]) == ("resnet101.tv_in1k", 224, "pretrained")
    assert (p["optimizer"], p["lr"], p["weight_decay"], p["backbone_lr_scale"]) == ("adam", 1e-4, 5e-4, 0.1)
    assert (p["batch_size"], p["epochs"], tuple(p["lr_milestones"])) == (256, 100, (0.8,))
    assert (p["scale"], p["margin"], p["quan"], p["codes"]) == (8.0, 0.2, 0.0, "bernoulli")


def test_orthohash_learns_short():
    # measured (seed 0, 32 bits, 2 shared cores): map@all untrained 0.40 -> 30 steps 0.81
    before, after, info = learning_check("orthohash", 30)
    assert info["train"]["steps"] == 30
    assert after > before + 0.2, (before, after, info["train"]["epochs"])
