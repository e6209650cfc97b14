"""CIBHash: the straight-through binary layer, NT-Xent and the Bernoulli KL term on hand-computed cases, the
augmentations (seeded, shapes, hand-checkable pieces), the loss wiring, unsupervised wiring (no labels), config
errors, the paper profile and one fast learning check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.cibhash import CIBHashHasher
from zshbench.methods.cibhash.augment import colour_jitter, crop_flip, gaussian_blur, greyscale, two_views
from zshbench.methods.cibhash.losses import bernoulli_kl, cibhash_loss, nt_xent, stochastic_sign
from zshbench.trainset import TrainSet


def _unlabelled(n=24, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(np.arange(n) % 3, images=images)  # fit hides the labels from cibhash


def test_stochastic_sign_forward_and_straight_through_backward():
    q = torch.tensor([[0.9, 0.2, 0.5]], requires_grad=True)
    u = torch.tensor([[0.95, 0.1, 0.5]])
    b = stochastic_sign(q, u)
    assert b.tolist() == [[-1.0, 1.0, 1.0]]  # 0.9 < 0.95 -> -1; 0.2 > 0.1 -> +1; a tie -> +1
    (b * torch.tensor([[2.0, -3.0, 0.5]])).sum().backward()
    assert q.grad.tolist() == [[2.0, -3.0, 0.5]]  # the identity backward
    assert stochastic_sign(torch.tensor([0.7, 0.3]), 0.5).tolist() == [1.0, -1.0]


def test_nt_xent_by_hand():
    # two items, two bits: view 1 = [(1, 1), (1, -1)], view 2 = [(1, 1), (-1, 1)]
    z1 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    z2 = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    tau = 0.5
    # rows z = a=(1,1), b=(1,-1), c=(1,1), d=(-1,1); cosines: a.b=0, a.c=1, a.d=0, b.c=0, b.d=-1, c.d=0
    # row a: positive c (cos 1), others b, d (cos 0):  -log(e^2 / (e^2 + 1 + 1)); row c likewise
    # row b: positive d (cos -1), others a, c (cos 0): -log(e^-2 / (e^-2 + 1 + 1)); row d likewise
    la = -math.log(math.exp(2) / (math.exp(2) + 2))
    lb = -math.log(math.exp(-2) / (math.exp(-2) + 2))
    assert nt_xent(z1, z2, tau).item() == pytest.approx((2 * la + 2 * lb) / 4, rel=1e-6)
    # symmetric in the two views, invariant to the norm of the rows (cosine)
    assert nt_xent(z2, z1, tau).item() == pytest.approx(nt_xent(z1, z2, tau).item(), rel=1e-6)
    assert nt_xent(3 * z1, z2, tau).item() == pytest.approx(nt_xent(z1, z2, tau).item(), rel=1e-6)


def test_nt_xent_matches_an_explicit_loop():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    z = torch.cat([z1, z2])
    n2, tau = 8, 0.3
    total = 0.0
    for i in range(n2):
        pos = (i + 4) % n2
        cos = [float(torch.dot(z[i], z[j]) / (z[i].norm() * z[j].norm())) / tau for j in range(n2)]
        total += -cos[pos] + math.log(sum(math.exp(cos[j]) for j in range(n2) if j != i))
    assert nt_xent(z1, z2, tau).item() == pytest.approx(total / n2, rel=1e-5)


def test_bernoulli_kl_by_hand_and_detached_second_argument():
    q = torch.tensor([[0.5, 0.9]], requires_grad=True)
    r = torch.tensor([[0.5, 0.6]], requires_grad=True)
    # bit 1: KL = 0; bit 2: 0.9 log(0.9 / 0.6) + 0.1 log(0.1 / 0.4)
    want = 0.9 * math.log(1.5) + 0.1 * math.log(0.25)
    kl = bernoulli_kl(q, r)
    assert kl.item() == pytest.approx(want, rel=1e-5)
    kl.backward()
    assert r.grad is None and q.grad is not None
    # mean over rows: a second row with KL 0 halves it
    q2, r2 = torch.tensor([[0.5, 0.9], [0.3, 0.3]]), torch.tensor([[0.5, 0.6], [0.3, 0.3]])
    assert bernoulli_kl(q2, r2).item() == pytest.approx(want / 2, rel=1e-5)


def test_total_loss_is_contrastive_plus_beta_times_the_symmetric_kl():
    q1 = torch.tensor([[0.9, 0.2], [0.4, 0.7]])
    q2 = torch.tensor([[0.6, 0.3], [0.5, 0.5]])
    b1, b2 = stochastic_sign(q1, 0.5), stochastic_sign(q2, 0.5)
    total, con, kl = cibhash_loss(q1, q2, b1, b2, 0.3, 0.25)
    assert con.item() == pytest.approx(nt_xent(b1, b2, 0.3).item())
    assert kl.item() == pytest.approx(((bernoulli_kl(q1, q2) + bernoulli_kl(q2, q1)) / 2).item())
    assert total.item() == pytest.approx(con.item() + 0.25 * kl.item())


def test_augmentation_pieces_by_hand():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    grey = greyscale(x)
    torch.testing.assert_close(grey[:, 0], 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])
    torch.testing.assert_close(grey[:, 0], grey[:, 2])
    # zero strength: brightness, contrast and saturation factors 1, hue rotation 0 -> the identity
    torch.testing.assert_close(colour_jitter(x, (0, 0, 0, 0), torch.Generator()), x, atol=1e-5, rtol=0)
    # blurring a constant image leaves it constant; a single bright pixel spreads with the 3 x 3 Gaussian
    const = torch.full((1, 3, 5, 5), 0.25)
    torch.testing.assert_close(gaussian_blur(const, 3, torch.tensor([1.0])), const)
    dot = torch.zeros(1, 3, 5, 5)
    dot[..., 2, 2] = 1.0
    w = math.exp(-0.5)  # sigma = 1: weights (e^-1/2, 1, e^-1/2) / (1 + 2 e^-1/2) per axis
    centre = (1 / (1 + 2 * w)) ** 2
    assert gaussian_blur(dot, 3, torch.tensor([1.0]))[0, 0, 2, 2].item() == pytest.approx(centre, rel=1e-5)
    # the full-image crop (scale 1, aspect drawn but clipped to the image) is within the image's range
    out = crop_flip(x, 4, (1.0, 1.0), torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 4, 4) and out.min() >= x.min() - 1e-6 and out.max() <= x.max() + 1e-6


def test_two_views_are_seeded_differ_and_keep_range():
    p = CIBHashHasher(n_bits=8).resolved_profile()
    images = torch.randint(0, 256, (5, 40, 40, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    a1, a2 = two_views(images, p, torch.Generator().manual_seed(3), "cpu")
    b1, b2 = two_views(images, p, torch.Generator().manual_seed(3), "cpu")
    torch.testing.assert_close(a1, b1)
    torch.testing.assert_close(a2, b2)
    assert a1.shape == (5, 3, 32, 32) and a1.min() >= 0 and a1.max() <= 1
    assert not torch.allclose(a1, a2)  # two independent views


@pytest.mark.parametrize("sampling", ["stochastic", "threshold"])
def test_training_step_wiring(sampling):
    h = CIBHashHasher(n_bits=8, sampling=sampling, beta=0.5, temperature=0.2)
    p = h.resolved_profile()
    net = h.initial_network(p, {})
    net.train()
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    total, parts = h.loss(net, (images, None), p, torch.Generator().manual_seed(7))
    # recompute with the same draws in the same order
    g = torch.Generator().manual_seed(7)
    v1, v2 = two_views(images, p, g, "cpu")
    q1, q2 = torch.sigmoid(net.logits_of_views(v1)), torch.sigmoid(net.logits_of_views(v2))
    if sampling == "stochastic":
        u1, u2 = torch.rand(q1.shape, generator=g), torch.rand(q2.shape, generator=g)
    else:
        u1 = u2 = 0.5
    want, con, kl = cibhash_loss(q1, q2, stochastic_sign(q1, u1), stochastic_sign(q2, u2), 0.2, 0.5)
    torch.testing.assert_close(total, want)
    assert parts["contrastive"].item() == pytest.approx(con.item()) and parts["kl"].item() == pytest.approx(kl.item())


def test_trains_without_labels_and_encodes_sign_of_the_logits():
    assert not CIBHashHasher.requires.supervised and not CIBHashHasher.requires.attributes
    train = _unlabelled()
    with pytest.raises(UserError, match="supervised=False"):
        _ = train.visible_to(CIBHashHasher.requires).labels
    h = CIBHashHasher(n_bits=16, max_steps=2, batch_size=8).fit(train)
    assert h.run_info()["train"]["steps"] == 2
    imgs = train.images.take(np.arange(6))
    codes = h.encode(imgs)
    alone = np.concatenate([h.encode(imgs[i : i + 1]) for i in range(6)])
    np.testing.assert_array_equal(codes, alone)
    with torch.no_grad():
        f = h.model_.encode(torch.from_numpy(np.ascontiguousarray(imgs)))
    # b = sign(sigmoid(f) - 1/2) = sign(f)
    np.testing.assert_array_equal(np.unpackbits(codes, axis=1)[:, :16], (f.numpy() >= 0).astype(np.uint8))


@pytest.mark.parametrize(
    "key,value",
    [("temperature", 0.0), ("beta", -1.0), ("backbone_lr_scale", -0.5), ("weight_decay", -1.0), ("lr", 0.0)],
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        CIBHashHasher(**{key: value}).fit(_unlabelled())


def test_invalid_sampling_is_refused():
    with pytest.raises(UserError, match="sampling"):
        CIBHashHasher(sampling="gumbel").fit(_unlabelled())


def test_paper_profile_is_the_papers_setting():
    p = CIBHashHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"], p["backbone_lr_scale"]) == (
        "resnet101.tv_in1k",
        224,
        "pretrained",
        0.0,
    )
    assert (p["temperature"], p["beta"], p["optimizer"], p["lr"], p["batch_size"], p["sampling"]) == (
        0.3,
        1e-3,
        "adam",
        1e-3,
        64,
        "stochastic",
    )
    assert p["hidden"] == 1024 and p["crop_scale"] == (0.5, 1.0) and p["jitter"] == (0.4, 0.4, 0.4, 0.1)


def test_cibhash_head_learns_view_invariant_codes_of_structured_features():
    """The fast learning check: the encoder MLP, the stochastic straight-through codes and the CIBHash loss,
    trained by Adam on two noisy "views" of features with cluster structure (six Gaussian clusters in R^32): the
    loss on a fixed pair of views falls, and the codes (sign of the logits) are close within a cluster and far
    across clusters."""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(6, 32, generator=g) * 2

    def views(n):
        c = torch.randint(0, 6, (n,), generator=g)
        x = centres[c] + 0.5 * torch.randn(n, 32, generator=g)
        return x + 0.3 * torch.randn(n, 32, generator=g), x + 0.3 * torch.randn(n, 32, generator=g), c

    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
    opt = torch.optim.Adam(enc.parameters(), 1e-3)

    def step_loss(x1, x2, gen):
        q1, q2 = torch.sigmoid(enc(x1)), torch.sigmoid(enc(x2))
        b1 = stochastic_sign(q1, torch.rand(q1.shape, generator=gen))
        b2 = stochastic_sign(q2, torch.rand(q2.shape, generator=gen))
        return cibhash_loss(q1, q2, b1, b2, 0.3, 1e-3)[0]

    f1, f2, labels = views(256)
    with torch.no_grad():
        before = step_loss(f1, f2, torch.Generator().manual_seed(1)).item()
    for _ in range(150):
        x1, x2, _ = views(64)
        loss = step_loss(x1, x2, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = step_loss(f1, f2, torch.Generator().manual_seed(1)).item()
        b = torch.sign(enc(f1))
    ham = (b[:, None, :] != b[None, :, :]).float().mean(2)
    same = labels[:, None] == labels[None, :]
    # measured: loss 6.42 -> 4.73; Hamming distance 0.003 within, 0.591 across clusters
    assert after < before - 1.0, (before, after)
    assert ham[same].mean() < 0.05 and ham[~same].mean() > 0.4
