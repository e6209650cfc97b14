"""TBH: the binary bottleneck's forward and backward, the Hamming adjacency, the graph convolution, the gradient
reversal and both losses on hand-computed cases; the adversarial game's gradients (one optimizer, both players);
the loss wiring, unsupervised wiring (no labels), the frozen backbone, config errors, the paper profile's
iteration budget and one fast learning check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.tbh import TBHHasher, tbh_objective
from zshbench.methods.tbh.layers import (
    GraphConv,
    binary_bottleneck,
    hamming_adjacency,
    normalized_adjacency,
    reverse,
)
from zshbench.methods.tbh.losses import adversarial_loss, reconstruction_loss
from zshbench.trainset import TrainSet


def _unlabelled(n=24, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(np.arange(n) % 3, images=images)  # fit hides the labels from tbh


def test_binary_bottleneck_forward_and_backward_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0), -math.log(3.0)]], requires_grad=True)  # q = 1/2, 3/4, 1/4
    eps = torch.tensor([[0.5, 0.8, 0.2]])
    b = binary_bottleneck(logits, eps)
    assert b.tolist() == [[1.0, 0.0, 1.0]]  # q >= eps
    (b * torch.tensor([[1.0, 2.0, -4.0]])).sum().backward()
    # dL/dl = q (1 - q) dL/db: 1/4 * 1, 3/16 * 2, 3/16 * -4
    torch.testing.assert_close(logits.grad, torch.tensor([[0.25, 0.375, -0.75]]))
    assert binary_bottleneck(torch.tensor([0.1, -0.1]), 0.5).tolist() == [1.0, 0.0]


def test_hamming_adjacency_and_its_normalisation_by_hand():
    b = torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    # Hamming distances: d01 = 2, d02 = 4, d12 = 2 (K = 4); A = 1 - d / 4
    a1 = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]])
    torch.testing.assert_close(hamming_adjacency(b, 1.0), a1)
    torch.testing.assert_close(hamming_adjacency(b, 1.4), a1.pow(1.4))
    # degrees 1.5, 2, 1.5: entry (0, 1) = 0.5 / sqrt(1.5 * 2)
    lap = normalized_adjacency(a1)
    assert lap[0, 1].item() == pytest.approx(0.5 / math.sqrt(3.0), rel=1e-6)
    assert lap[1, 1].item() == pytest.approx(1 / 2, rel=1e-6)
    torch.testing.assert_close(lap, lap.T)


def test_graph_convolution_by_hand():
    conv = GraphConv(2)
    with torch.no_grad():
        conv.fc.weight.copy_(torch.eye(2))
        conv.fc.bias.zero_()
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    a = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # degrees 2: every entry of D^-1/2 A D^-1/2 is 1/2
    want = torch.sigmoid(torch.tensor([[0.5, 1.0], [0.5, 1.0]]))
    torch.testing.assert_close(conv(z, a), want)
    eye = conv(z, torch.eye(2))  # no edges: each item keeps its own values
    torch.testing.assert_close(eye, torch.sigmoid(z))


def test_reverse_negates_only_the_gradient():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = reverse(x)
    assert y.tolist() == [1.0, -2.0]
    (y * torch.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [-3.0, -4.0]


def test_losses_by_hand():
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    r = torch.tensor([[1.5, 2.0], [1.0, -1.0]])
    # squared errors 0.25 + 1 = 1.25; halved: 0.625; per item: 0.3125
    assert reconstruction_loss(r, x).item() == pytest.approx(0.625)
    assert reconstruction_loss(r, x, "mean").item() == pytest.approx(0.3125)
    d_enc, d_prior = torch.tensor([[0.5], [0.8]]), torch.tensor([[0.25], [0.5]])
    want = -(math.log(0.5) + math.log(0.8)) / 2 - (math.log(0.75) + math.log(0.5)) / 2
    assert adversarial_loss(d_enc, d_prior).item() == pytest.approx(want, rel=1e-6)
    # the same as PyTorch's binary cross-entropy, including its clamp of the logarithm at -100
    bce = torch.nn.functional.binary_cross_entropy
    sat_enc, sat_prior = torch.tensor([[0.0], [0.8]]), torch.tensor([[1.0], [0.5]])
    for e, q in ((d_enc, d_prior), (sat_enc, sat_prior)):
        ref = bce(e, torch.ones_like(e)) + bce(q, torch.zeros_like(q))
        assert adversarial_loss(e, q).item() == pytest.approx(ref.item(), rel=1e-6)


def test_one_objective_plays_both_sides_of_the_adversarial_game():
    """The discriminators get +lambda dL_adv (they minimise it), the encoder -lambda dL_adv (the authors' actor
    loss L_rec - L_adv): checked against the two losses differentiated separately."""
    h = TBHHasher(n_bits=8, adv_weight=0.5)
    p = h.resolved_profile()
    net = h.initial_network(p, {})
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, net.num_features, generator=g)
    prior_b = (torch.rand(6, 8, generator=g) >= 0.5).float()
    prior_c = torch.rand(6, 512, generator=g)
    total, parts = tbh_objective(net, x, 0.5, prior_b, prior_c, p)
    enc_w, disc_w = net.enc_binary.weight, net.disc_binary[0].weight
    g_enc, g_disc = torch.autograd.grad(total, [enc_w, disc_w])
    # the same forward, without the reversal: actor = rec - lambda adv, critic = lambda adv
    logits, z = net.encoder(x)
    b = binary_bottleneck(logits, 0.5)
    zc = net.gcn(z, hamming_adjacency(b, p["adj_power"]))
    rec = reconstruction_loss(net.decoder(zc), x)
    adv = adversarial_loss(net.disc_binary(b), net.disc_binary(prior_b)) + adversarial_loss(
        net.disc_cont(zc), net.disc_cont(prior_c)
    )
    (actor,) = torch.autograd.grad(rec - 0.5 * adv, [enc_w], retain_graph=True)
    (critic,) = torch.autograd.grad(0.5 * adv, [disc_w])
    torch.testing.assert_close(g_enc, actor)
    torch.testing.assert_close(g_disc, critic)
    assert total.item() == pytest.approx(rec.item() + 0.5 * adv.item(), rel=1e-6)
    assert parts["reconstruction"].item() == pytest.approx(rec.item(), rel=1e-6)


@pytest.mark.parametrize("sampling", ["stochastic", "threshold"])
def test_training_step_wiring(sampling):
    h = TBHHasher(n_bits=8, sampling=sampling)
    p = h.resolved_profile()
    net = h.initial_network(p, {})
    net.train()
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    total, _ = h.loss(net, (images, None), p, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    eps = torch.rand(6, 8, generator=g) if sampling == "stochastic" else 0.5
    prior_b = (torch.rand(6, 8, generator=g) >= 0.5).float()
    prior_c = torch.rand(6, 512, generator=g)
    want, _ = tbh_objective(net, net.pooled(images), eps, prior_b, prior_c, p)
    torch.testing.assert_close(total, want)


def test_trains_without_labels_frozen_backbone_and_encodes_sign_of_the_logits():
    assert not TBHHasher.requires.supervised and not TBHHasher.requires.attributes
    train = _unlabelled()
    with pytest.raises(UserError, match="supervised=False"):
        _ = train.visible_to(TBHHasher.requires).labels
    h = TBHHasher(n_bits=16, max_steps=2, batch_size=8, adv_weight=1.0)  # the discriminators train too
    p = h.resolved_profile()
    start = h.initial_network(p, {}).state_dict()
    h.fit(train)
    assert h.run_info()["train"]["steps"] == 2
    end = h.model_.state_dict()
    for k, v in start.items():
        if k.startswith("backbone."):
            torch.testing.assert_close(end[k], v)  # the reconstruction target does not move
    assert not torch.equal(end["enc_binary.weight"], start["enc_binary.weight"])
    assert not torch.equal(end["disc_binary.0.weight"], start["disc_binary.0.weight"])
    imgs = train.images.take(np.arange(6))
    codes = h.encode(imgs)
    alone = np.concatenate([h.encode(imgs[i : i + 1]) for i in range(6)])
    np.testing.assert_array_equal(codes, alone)  # no batch graph at encoding time
    with torch.no_grad():
        logits = h.model_.encode(torch.from_numpy(np.ascontiguousarray(imgs)))
    np.testing.assert_array_equal(np.unpackbits(codes, axis=1)[:, :16], (logits.numpy() >= 0).astype(np.uint8))


@pytest.mark.parametrize(
    "key,value",
    [("adv_weight", -1.0), ("adj_power", 0.0), ("backbone_lr_scale", -0.5), ("lr", 0.0), ("iterations", -3)],
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        TBHHasher(**{key: value}).fit(_unlabelled())


@pytest.mark.parametrize("key,value", [("sampling", "gumbel"), ("rec_reduction", "max")])
def test_invalid_choices_are_refused(key, value):
    with pytest.raises(UserError, match=key):
        TBHHasher(**{key: value}).fit(_unlabelled())


def test_paper_profile_and_its_iteration_budget():
    h = TBHHasher(profile="paper")
    p = h.resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"], p["backbone_lr_scale"]) == (
        "resnet101.tv_in1k",
        224,
        "pretrained",
        0.0,
    )
    assert (p["lr"], p["batch_size"], p["iterations"], p["hidden"], p["cont_dim"], p["adj_power"]) == (
        1e-4,
        256,
        100_000,
        1024,
        512,
        1.4,
    )
    assert p["adv_weight"] == 1.0 and p["sampling"] == "stochastic" and p["rec_reduction"] == "sum"
    tiny = TBHHasher().resolved_profile()
    assert tiny["adv_weight"] == 0.0 and tiny["epochs"] == 8 and tiny["backbone_lr_scale"] == 0.0
    # 100,000 steps of 256 over 10,000 items (40 steps an epoch) = 2,500 epochs
    h.prepare(TrainSet.from_arrays(np.arange(10_000) % 4, images=np.zeros((10_000, 1, 1, 3), np.uint8)), p)
    assert p["epochs"] == 2500


def test_tbh_learns_codes_of_structured_features():
    """The fast learning check: the whole TBH head (encoder, twin bottlenecks, graph convolution, decoder and both
    discriminators, one Adam) on features with cluster structure (six Gaussian clusters in R^32): the reconstruction
    error on a fixed batch falls and the codes are closer within a cluster than across clusters."""
    h = TBHHasher(n_bits=16, adv_weight=1.0)  # the paper's objective, the adversarial terms included
    p = dict(h.resolved_profile(), img_size=32)
    net = h.initial_network(p, {})
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(6, net.num_features, generator=g)

    def batch(n):
        c = torch.randint(0, 6, (n,), generator=g)
        return centres[c] + 0.3 * torch.randn(n, net.num_features, generator=g), c

    def objective(x, gen):
        n = x.shape[0]
        eps = torch.rand(n, 16, generator=gen)
        prior_b = (torch.rand(n, 16, generator=gen) >= 0.5).float()
        return tbh_objective(net, x, eps, prior_b, torch.rand(n, 512, generator=gen), p)

    fixed, labels = batch(128)
    with torch.no_grad():
        before = objective(fixed, torch.Generator().manual_seed(1))[1]["reconstruction"].item()
    opt = torch.optim.Adam([q for n, q in net.named_parameters() if not n.startswith("backbone.")], 1e-3)
    for _ in range(40):
        x, _ = batch(64)
        loss, _ = objective(x, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = objective(fixed, torch.Generator().manual_seed(1))[1]["reconstruction"].item()
        b = net.encoder(fixed)[0] >= 0
    ham = (b[:, None, :] != b[None, :, :]).float().mean(2)
    same = labels[:, None] == labels[None, :]
    # measured: reconstruction 36404 -> 24309; Hamming distance 0.000 within, 0.436 across clusters
    assert after < 0.8 * before, (before, after)
    assert ham[same].mean() < 0.5 * ham[~same].mean(), (ham[same].mean(), ham[~same].mean())
