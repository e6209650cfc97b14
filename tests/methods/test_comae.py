"""COMAE's model, training wiring and hasher: max pooling, gradients reach every module AND the optimizer
updates it, fit sees only seen-class attributes and labels, variants, weights handling, other input sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zshbench import create_hasher
from zshbench.errors import UserError
from zshbench.methods.comae import COMAEHasher, build_optimizer, check_optimizer_covers, normalise_attributes
from zshbench.methods.comae.model import COMAENet
from zshbench.methods.comae.profiles import resolve_profile


def _net(variant="full", theta="hadamard", n_bits=16, s=4, a=5, seed=0):
    torch.manual_seed(seed)
    p = resolve_profile("tiny", {"theta": theta, "theta_hidden": 8})
    attr = (torch.rand(s, a) > 0.5).float()
    attr[:, 0] = torch.tensor([0.0, 1.0] * (s // 2))  # at least one attribute with positives and negatives
    return COMAENet(p, n_bits, attr, variant=variant), p


def _batch(n=8, s=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % s
    return imgs, labels


def _train_set(n_per_class=6, s=4, a=17, hw=32, c=3, seed=0):
    from zshbench.trainset import TrainSet

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, c), dtype=np.uint8)
    attrs = (rng.random((s, a)) > 0.5).astype(np.float32) * 100.0  # a 0-100 scale like AWA2 / CUB
    return TrainSet.from_arrays(labels, images=images, class_attributes=attrs)


# -- eq. 1: maps and max pooling ---------------------------------------------------------------------------


def test_attribute_maps_are_prototype_dot_features_and_a_hat_is_their_max():
    net, _ = _net(theta="dot")
    c = net.prototypes.shape[1]
    fmap = torch.zeros(1, c, 4, 4)
    k = 3
    fmap[0, :, 2, 1] = 10.0 * net.prototypes[k].detach()  # a planted peak for attribute k at (2, 1)
    fmap[0, :, 0, 0] = -3.0 * net.prototypes[k].detach()
    maps = net.attribute_maps(fmap)
    assert maps.shape == (1, net.prototypes.shape[0], 16)
    expected = torch.einsum("kc,bchw->bkhw", net.prototypes, fmap).flatten(2)
    torch.testing.assert_close(maps, expected)
    a_hat = net.predict_attributes(maps)
    peak = 10.0 * net.prototypes[k].detach().pow(2).sum()
    torch.testing.assert_close(a_hat[0, k], peak)
    assert maps[0, k].argmax().item() == 2 * 4 + 1
    # max, not mean: the mean would be (10 - 3) / 16 of the peak
    assert a_hat[0, k] > maps[0, k].mean() * 2


def test_hadamard_theta_is_a_perceptron_on_the_product_of_the_projections():
    """Theta(p_k, f_ij) = v^T LeakyReLU((U f_ij + b) * (V p_k + b')) + c, checked position by position."""
    net, p = _net(theta="hadamard")
    torch.manual_seed(1)
    fmap = torch.randn(2, net.prototypes.shape[1], 4, 4)
    maps = net.attribute_maps(fmap)
    assert maps.shape == (2, net.prototypes.shape[0], 16)
    U, V, v = net.theta_net["U"], net.theta_net["V"], net.theta_net["v"]
    assert U.out_features == V.out_features == p["theta_hidden"] == 8 and v.out_features == 1
    slope = p["theta_negative_slope"]
    for b, k, (i, j) in [(0, 0, (0, 0)), (1, 3, (2, 1)), (0, 4, (3, 3))]:
        f, pk = fmap[b, :, i, j], net.prototypes[k]
        z = (U.weight @ f + U.bias) * (V.weight @ pk + V.bias)
        z = torch.where(z > 0, z, slope * z)
        expected = v.weight[0] @ z + v.bias[0]
        torch.testing.assert_close(maps[b, k, i * 4 + j], expected, rtol=1e-5, atol=1e-5)


def test_factorised_hadamard_theta_equals_the_direct_form_with_its_gradients():
    """Version 3 computes Theta without the (B, A, HW, hid) tensor: same values and gradients as
    v^T LeakyReLU(u * v) + c written out, including hidden units with v = 0 and both signs of u and v."""
    from zshbench.methods.comae.model import _hadamard_theta

    g = torch.Generator().manual_seed(3)
    u = torch.randn(3, 16, 8, generator=g, dtype=torch.float64, requires_grad=True)
    vv = torch.randn(5, 8, generator=g, dtype=torch.float64)
    vv[0, 2] = 0.0
    vv.requires_grad_(True)
    out = torch.nn.Linear(8, 1).double()
    for slope in (0.2, 0.0, 1.0):
        direct = out(F.leaky_relu(u.unsqueeze(1) * vv[None, :, None, :], slope)).squeeze(-1)
        fast = _hadamard_theta(u, vv, out, slope)
        torch.testing.assert_close(fast, direct, rtol=1e-12, atol=1e-12)
        w = torch.randn(direct.shape, generator=g, dtype=torch.float64)
        g_direct = torch.autograd.grad((direct * w).sum(), [u, vv, out.weight, out.bias])
        g_fast = torch.autograd.grad((fast * w).sum(), [u, vv, out.weight, out.bias])
        # at exactly v = 0, LeakyReLU(u v) has a kink in v: the two forms take different (valid) subgradients there
        kink = torch.zeros_like(vv, dtype=torch.bool)
        kink[0, 2] = True
        g_fast = (g_fast[0], g_fast[1].masked_fill(kink, 0.0), *g_fast[2:])
        g_direct = (g_direct[0], g_direct[1].masked_fill(kink, 0.0), *g_direct[2:])
        for a, b in zip(g_fast, g_direct):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_hadamard_theta_is_not_linear_in_the_features():
    net, _ = _net(theta="hadamard")
    torch.manual_seed(2)
    f = torch.randn(1, net.prototypes.shape[1], 4, 4)
    m1, m2, m0 = net.attribute_maps(f), net.attribute_maps(-f), net.attribute_maps(torch.zeros_like(f))
    # a linear (dot-product) Theta would give M(f) + M(-f) = 2 M(0) = 0
    assert (m1 + m2 - 2 * m0).abs().max() > 1e-3
    dot, _ = _net(theta="dot")
    torch.testing.assert_close(dot.attribute_maps(f) + dot.attribute_maps(-f), torch.zeros(1, 5, 16))


def test_hadamard_theta_with_identity_activation_is_a_bilinear_form():
    """Slope 1 (identity activation), no biases: Theta(p, f) = sum_h v_h (U f)_h (V p)_h = p^T (V^T diag(v) U) f,
    the low-rank bilinear family that contains APN's dot product."""
    net, p = _net(theta="hadamard")
    net.p["theta_negative_slope"] = 1.0
    with torch.no_grad():
        for name in ("U", "V", "v"):
            net.theta_net[name].bias.zero_()
    torch.manual_seed(3)
    f = torch.randn(2, net.prototypes.shape[1], 4, 4)
    M = net.theta_net["V"].weight.t() @ torch.diag(net.theta_net["v"].weight[0]) @ net.theta_net["U"].weight
    expected = torch.einsum("kc,cd,bdn->bkn", net.prototypes, M, f.flatten(2))
    torch.testing.assert_close(net.attribute_maps(f), expected, rtol=1e-4, atol=1e-4)


def test_both_profiles_use_the_non_linear_theta_by_default():
    from zshbench.methods.comae.profiles import PROFILES

    assert PROFILES["paper"]["theta"] == PROFILES["tiny"]["theta"] == "hadamard"
    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12).fit(_train_set())
    assert h.model_.theta_net is not None and h.run_info()["hyper"]["theta"] == "hadamard"
    with pytest.raises(UserError, match="theta"):
        COMAEHasher(n_bits=16, max_steps=1, theta="mlp").fit(_train_set())


# -- every trainable module learns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant,theta", [("full", "hadamard"), ("full", "dot"), ("v1", "hadamard"), ("v2", "hadamard"), ("v3", "hadamard")]
)
def test_every_parameter_gets_a_gradient_and_is_in_the_optimizer(variant, theta):
    net, p = _net(variant, theta)
    imgs, labels = _batch()
    gen = torch.Generator().manual_seed(0)
    opt = build_optimizer(net, {**p, "lr": 1e-3})
    # two steps: timm's ResNet zero-initialises the last BN scale of each residual block (zero_init_last), so at
    # the first step conv1, bn1 and conv2 of every block get no gradient (the stem, the shortcuts, the last BNs
    # and the heads do); from the second step on, everything must receive one
    for _ in range(2):
        opt.zero_grad()
        loss, parts = net.train_losses(imgs, labels, gen)
        loss.backward()
        opt.step()
    no_grad = [n for n, q in net.named_parameters() if q.grad is None or not torch.any(q.grad != 0)]
    assert not no_grad, f"parameters without gradient: {no_grad}"
    assert (net.W is None) == (variant == "v3")
    in_opt = {id(q) for g in opt.param_groups for q in g["params"]}
    assert in_opt == {id(q) for q in net.parameters()}
    expected_parts = {
        "full": {"point", "pair", "class"},
        "v1": {"pair", "class"},
        "v2": {"point", "class"},
        "v3": {"point", "pair"},
    }[variant] | {"hash"}
    assert set(parts) == expected_parts


def test_optimizer_check_fails_when_a_parameter_is_left_out():
    net, _ = _net()
    params = [q for n, q in net.named_parameters() if n != "prototypes"]
    with pytest.raises(RuntimeError, match="prototypes"):
        check_optimizer_covers(net, torch.optim.Adam(params, lr=1e-3))


def test_fit_updates_prototypes_w_centres_and_hash_layer():
    """The real fit path: after two steps every trainable tensor differs from its (seeded) initial value."""
    train = _train_set()
    h = COMAEHasher(n_bits=16, seed=3, max_steps=2, batch_size=12).fit(train)
    init = h.initial_network(resolve_profile("tiny", {}), {"class_attr": h.model_.class_attr.cpu()})
    unchanged = [
        n
        for (n, q), (_, q0) in zip(h.model_.named_parameters(), init.named_parameters())
        if torch.equal(q.detach().cpu(), q0.detach().cpu())
    ]
    assert not unchanged, f"not updated by fit: {unchanged}"


# -- only seen-class information reaches fit ---------------------------------------------------------------


def test_fit_sees_only_seen_class_attributes_and_labels(monkeypatch):
    from zshbench.runner import build_trainset
    from zshbench.testing import conformance_dataset

    ds, split = conformance_dataset()
    train = build_trainset(ds, split)
    n_seen = len(split.seen_classes)
    seen_labels = []
    orig = COMAENet.train_losses

    def spy(self, images, labels, generator):
        seen_labels.append(labels.detach().cpu().clone())
        return orig(self, images, labels, generator)

    monkeypatch.setattr(COMAENet, "train_losses", spy)
    h = COMAEHasher(n_bits=16, max_steps=3, batch_size=16).fit(train)
    m = h.model_
    assert m.class_attr.shape == (n_seen, ds.class_attributes.shape[1])
    np.testing.assert_allclose(
        m.class_attr.cpu().numpy(),
        normalise_attributes(ds.class_attributes[split.seen_classes], "zscore"),
        rtol=1e-6,
        atol=1e-6,
    )
    assert m.centres.shape == (n_seen, 16), "hash-loss centres must number exactly the seen classes"
    assert m.W.shape[1] == m.class_attr.shape[1] and m.prototypes.shape[0] == m.class_attr.shape[1]
    labels = torch.cat(seen_labels)
    assert len(seen_labels) == 3 and labels.min() >= 0 and labels.max() < n_seen


def test_attribute_normalisation_modes():
    m = np.array([[0.0, 50.0, 100.0], [100.0, 25.0, 25.0], [7.0, 7.0, 7.0]])
    # zscore: each class row to mean 0, std 1 (row 0: mean 50, std 40.82; a constant row becomes 0)
    sd0 = np.sqrt(5000.0 / 3.0)
    np.testing.assert_allclose(normalise_attributes(m, "zscore")[0], [-50 / sd0, 0.0, 50 / sd0], rtol=1e-6)
    np.testing.assert_allclose(normalise_attributes(m, "zscore")[2], 0.0)
    z = normalise_attributes(m[:2], "zscore")
    np.testing.assert_allclose(z.mean(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(1), 1.0, rtol=1e-6)
    za = normalise_attributes(m, "zscore-attributes")
    np.testing.assert_allclose(za.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(za.std(0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(normalise_attributes(m, "max"), m / 100.0)
    np.testing.assert_allclose(np.linalg.norm(normalise_attributes(m, "l2"), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(normalise_attributes(m, "none"), m)
    with pytest.raises(UserError, match="attribute_norm"):
        normalise_attributes(m, "minmax")
    train = _train_set()
    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12).fit(train)
    ca = h.model_.class_attr.cpu().numpy()  # zscore by default: every seen-class row has mean 0 and std 1
    np.testing.assert_allclose(ca.mean(1), 0.0, atol=1e-5)
    np.testing.assert_allclose(ca.std(1), 1.0, rtol=1e-5)


def _same_value_masks(m):
    b = torch.from_numpy(m).float().t()
    same = b[:, :, None] == b[:, None, :]
    return same & ~torch.eye(m.shape[0], dtype=torch.bool), ~same


def test_zscore_positives_of_binary_attributes():
    """Binary attributes: eq. 3's positives are the items with the same value when every class row has the same
    number of ones (shapes: one value per attribute group), for "zscore"; for any binary matrix with
    "zscore-attributes" (values 1 and 0 of attribute d differ by 1 / std_d >= 2 > 0.9)."""
    from zshbench.methods.comae import losses as L

    rng = np.random.default_rng(0)
    groups = [5, 6, 4, 2]  # shapes' attribute groups
    m = np.zeros((12, sum(groups)))
    for r in range(12):
        start = 0
        for g in groups:
            m[r, start + rng.integers(g)] = 1.0
            start += g
    pos, neg = L.pair_masks(torch.from_numpy(normalise_attributes(m, "zscore")), 0.9)
    exp_pos, exp_neg = _same_value_masks(m)
    assert torch.equal(pos, exp_pos) and torch.equal(neg, exp_neg)
    free = (rng.random((12, 17)) > 0.7).astype(np.float64)
    free[:, 0] = 1.0 - free[:, 1]
    pos, neg = L.pair_masks(torch.from_numpy(normalise_attributes(free, "zscore-attributes")), 0.9)
    exp_pos, exp_neg = _same_value_masks(free)
    assert torch.equal(pos, exp_pos) and torch.equal(neg, exp_neg)
    # with rows of different densities, "zscore" puts the ones of a sparse row far from those of a dense row
    pos, neg = L.pair_masks(torch.from_numpy(normalise_attributes(free, "zscore")), 0.9)
    assert bool((neg & ~exp_neg).any())


# -- variants, inputs, config, weights ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,variant,missing", [("comae-v1", "v1", "point"), ("comae-v2", "v2", "pair"), ("comae-v3", "v3", "class")]
)
def test_variants_run(name, variant, missing):
    train = _train_set()
    h = create_hasher(name, n_bits=16, max_steps=2, batch_size=12).fit(train)
    assert h.config.variant == variant
    epoch = h.run_info()["train"]["epochs"][0]
    assert missing not in epoch and "hash" in epoch
    codes = h.encode(train.images)
    assert codes.shape == (len(train), 2)


def test_grey_8x8_images_work():
    train = _train_set(hw=8, c=1)
    h = COMAEHasher(n_bits=24, max_steps=1, batch_size=12).fit(train)
    assert h.encode(train.images).shape == (len(train), 3)


@pytest.mark.parametrize(
    "key,value", [("epsilon", 0.0), ("tau", -1.0), ("n_negatives", 0), ("lambda_pair", -1.0), ("batch_size", 1)]
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        COMAEHasher(**{key: value}).fit(_train_set())


def test_pretrained_unavailable_raises_naming_both_options(monkeypatch):
    import timm

    def offline(*a, **k):
        if k.get("pretrained"):
            raise OSError("offline")
        return orig(*a, **k)

    orig = timm.create_model
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(UserError) as exc:
        COMAEHasher(n_bits=16, max_steps=1, weights="pretrained").fit(_train_set())
    assert "weights=PATH" in str(exc.value) and "weights=none" in str(exc.value)


def test_weights_from_path(tmp_path):
    net, _ = _net()
    path = tmp_path / "backbone.pth"
    sd = {k: v + 1.0 if v.is_floating_point() else v for k, v in net.backbone.state_dict().items()}
    torch.save(sd, path)
    h = COMAEHasher(n_bits=16, max_steps=1, lr=1e-12, weights=str(path)).fit(_train_set())
    assert "backbone.pth" in h.run_info()["backbone_weights"]
    w = (
        h.model_.backbone.conv1[0].weight
        if isinstance(h.model_.backbone.conv1, torch.nn.Sequential)
        else h.model_.backbone.conv1.weight
    )
    key = "conv1.0.weight" if "conv1.0.weight" in sd else "conv1.weight"
    torch.testing.assert_close(w.detach(), sd[key], atol=1e-6, rtol=0)
    with pytest.raises(UserError, match="no such file"):
        COMAEHasher(n_bits=16, max_steps=1, weights=str(tmp_path / "nope.pth")).fit(_train_set())
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="missing key"):
        COMAEHasher(n_bits=16, max_steps=1, weights=str(bad)).fit(_train_set())


# -- saved models are rebuilt from their own settings --------------------------------------------------------


def test_restore_uses_the_saved_settings_not_the_current_profile(tmp_path, monkeypatch):
    """Fit and save with one profile setting (input size 24, Theta hidden width 12), change the profile, load:
    the network is rebuilt as it was trained and encodes identically."""
    from zshbench.methods.comae import profiles
    from zshbench.registry import load_hasher

    train = _train_set()
    monkeypatch.setitem(profiles.PROFILES["tiny"], "img_size", 24)
    monkeypatch.setitem(profiles.PROFILES["tiny"], "theta_hidden", 12)
    h = COMAEHasher(n_bits=16, seed=1, max_steps=2, batch_size=12).fit(train)
    codes = h.encode(train.images)
    path = tmp_path / "comae.pt"
    h.save(path)
    monkeypatch.setitem(profiles.PROFILES["tiny"], "img_size", 32)  # the current profile differs now
    monkeypatch.setitem(profiles.PROFILES["tiny"], "theta_hidden", 64)
    loaded = load_hasher(path)
    assert loaded.model_.p["img_size"] == 24 and loaded.model_.theta_net["U"].out_features == 12
    np.testing.assert_array_equal(loaded.encode(train.images), codes)
    assert loaded.run_info()["hyper"] == h.run_info()["hyper"]


def test_restore_without_saved_settings_is_refused():
    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12).fit(_train_set())
    sd = h.state_dict()
    sd["state"]["run_info_json"] = "{}"
    with pytest.raises(UserError, match="hyper"):
        COMAEHasher().load_state_dict(sd)


# -- which label set the backbone weights were trained on --------------------------------------------------


def test_run_info_records_the_weights_label_set(tmp_path):
    from zshbench.pretraining import weights_label_set

    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12).fit(_train_set())
    assert h.run_info()["weights_label_set"] == "random init"
    net, _ = _net()
    path = tmp_path / "backbone.pth"
    torch.save(net.backbone.state_dict(), path)
    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12, weights=str(path)).fit(_train_set())
    assert h.run_info()["weights_label_set"] == "user file: unknown"
    # pretrained timm weights of the profiles' backbones (no download needed to name them): the label set is
    # zshbench.pretraining's, as for every method
    paper = resolve_profile("paper", {})
    assert weights_label_set(paper["weights"], paper["backbone"]) == "imagenet-1k"  # resnet101.tv_in1k
    assert weights_label_set("pretrained", resolve_profile("tiny", {})["backbone"]) == "imagenet-1k"  # c3_in1k
