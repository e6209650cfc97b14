"""COMAE's model, training wiring and hasher: max pooling, gradients reach every module AND the optimizer
updates it, fit sees only seen-class attributes and labels, variants, weights handling, other input sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zshbench import create_hasher
from zshbench.errors import UserError
from zshbench.methods.comae import (COMAEHasher, build_optimizer, check_optimizer_covers, normalise_attributes)
from zshbench.methods.comae.model import COMAENet
from zshbench.methods.comae.profiles import resolve_profile


def _net(variant="full", theta="dot", n_bits=16, s=4, a=5, seed=0):
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
    from zshbench.data import TrainSet

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(s), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, c), dtype=np.uint8)
    attrs = (rng.random((s, a)) > 0.5).astype(np.float32) * 100.0  # a 0-100 scale like AWA2 / CUB
    return TrainSet.from_arrays(labels, images=images, class_attributes=attrs)


# -- eq. 1: maps and max pooling ---------------------------------------------------------------------------

def test_attribute_maps_are_prototype_dot_features_and_a_hat_is_their_max():
    net, _ = _net()
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


def test_mlp_theta_maps_shape():
    net, _ = _net(theta="mlp")
    maps = net.attribute_maps(torch.randn(2, net.prototypes.shape[1], 4, 4))
    assert maps.shape == (2, net.prototypes.shape[0], 16)


# -- every trainable module learns -------------------------------------------------------------------------

@pytest.mark.parametrize("variant,theta", [("full", "dot"), ("full", "mlp"), ("v1", "dot"), ("v2", "dot"),
                                           ("v3", "dot")])
def test_every_parameter_gets_a_gradient_and_is_in_the_optimizer(variant, theta):
    net, p = _net(variant, theta)
    imgs, labels = _batch()
    gen = torch.Generator().manual_seed(0)
    opt = build_optimizer(net, {**p, "lr": 1e-3})
    # two steps: timm's ResNet zero-initialises the last BN scale of each block (zero_init_last), so the first
    # step sends no gradient into the layers before it; from the second step on, everything must receive one
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
    expected_parts = {"full": {"point", "pair", "class"}, "v1": {"pair", "class"}, "v2": {"point", "class"},
                      "v3": {"point", "pair"}}[variant] | {"hash"}
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
    p = resolve_profile("tiny", {})
    init = h._build(p, h.model_.class_attr.cpu(), load_weights=False)
    unchanged = [n for (n, q), (_, q0) in zip(h.model_.named_parameters(), init.named_parameters())
                 if torch.equal(q.detach().cpu(), q0.detach().cpu())]
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
    np.testing.assert_allclose(m.class_attr.cpu().numpy(), normalise_attributes(
        ds.class_attributes[split.seen_classes], "max"))
    assert m.centres.shape == (n_seen, 16), "hash-loss centres must number exactly the seen classes"
    assert m.W.shape[1] == m.class_attr.shape[1] and m.prototypes.shape[0] == m.class_attr.shape[1]
    labels = torch.cat(seen_labels)
    assert len(seen_labels) == 3 and labels.min() >= 0 and labels.max() < n_seen


def test_attribute_normalisation_modes():
    m = np.array([[0.0, 50.0], [100.0, 25.0]])
    np.testing.assert_allclose(normalise_attributes(m, "max"), m / 100.0)
    np.testing.assert_allclose(np.linalg.norm(normalise_attributes(m, "l2"), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(normalise_attributes(m, "none"), m)
    train = _train_set()
    h = COMAEHasher(n_bits=16, max_steps=1, batch_size=12).fit(train)
    assert float(h.model_.class_attr.max()) == pytest.approx(1.0)  # 0-100 -> 0-1 by default


# -- variants, inputs, config, weights ---------------------------------------------------------------------

@pytest.mark.parametrize("name,variant,missing", [("comae-v1", "v1", "point"), ("comae-v2", "v2", "pair"),
                                                  ("comae-v3", "v3", "class")])
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


@pytest.mark.parametrize("key,value", [("epsilon", 0.0), ("tau", -1.0), ("n_negatives", 0), ("lambda_pair", -1.0),
                                       ("batch_size", 1)])
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
    w = h.model_.backbone.conv1[0].weight if isinstance(h.model_.backbone.conv1, torch.nn.Sequential) \
        else h.model_.backbone.conv1.weight
    key = "conv1.0.weight" if "conv1.0.weight" in sd else "conv1.weight"
    torch.testing.assert_close(w.detach(), sd[key], atol=1e-6, rtol=0)
    with pytest.raises(UserError, match="no such file"):
        COMAEHasher(n_bits=16, max_steps=1, weights=str(tmp_path / "nope.pth")).fit(_train_set())
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(UserError, match="missing key"):
        COMAEHasher(n_bits=16, max_steps=1, weights=str(bad)).fit(_train_set())
