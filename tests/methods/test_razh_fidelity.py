"""RAZH against the paper (the re-audit): complementary branches (Fig. 2), one choice per class (RAZH-T / labels
as attributes), Table VIII, the paper loss scaling, the GloVe requirement of the paper profile, razh-f, and the
label-set table of zshbench.pretraining."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from zshbench import create_hasher
from zshbench.errors import UserError
from zshbench.methods.razh import RAZHFHasher, RAZHHasher
from zshbench.methods.razh import losses as L
from zshbench.methods.razh.model import RAZHNet
from zshbench.methods.razh.profiles import (
    DEFAULT_ALPHA_BETA,
    PAPER_WEIGHTS,
    PROFILES,
    RAZH_F_WEIGHTS,
    TABLE_VIII,
    paper_alpha_beta,
    resolve_profile,
)
from zshbench.train import make_generator
from zshbench.trainset import TrainSet

FAST = {"max_steps": 2, "batch_size": 16, "epochs": 1}


def _net(allowed: torch.Tensor, n_bits=16, seed=0, **over) -> RAZHNet:
    p = resolve_profile("tiny", over)
    torch.manual_seed(seed)
    return RAZHNet(p, n_bits, torch.randn(allowed.shape[1], 10), allowed)


def _two_per_class(n_classes=4, n_attr=6) -> torch.Tensor:
    allowed = torch.zeros(n_classes, n_attr, dtype=torch.bool)
    for c in range(n_classes):
        allowed[c, [c % n_attr, (c + 1) % n_attr]] = True
    return allowed


def _images(n=8, seed=0, size=32):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8))


LABELS8 = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def _record_mix(net):
    """Wrap net.mix and net.random_keep to capture the reconstruction branch's mask and the mixing output."""
    seen = {}
    real_mix, real_keep = net.mix, net.random_keep

    def keep(*a, **k):
        ids, mask = real_keep(*a, **k)
        seen.setdefault("masks", []).append(mask.clone())
        return ids, mask

    def mix(*a, **k):
        out = real_mix(*a, **k)
        seen["replaced"] = out["replaced"].clone()
        seen["candidates"] = k.get("candidates")
        return out

    net.mix, net.random_keep = mix, keep
    return seen


# -- Fig. 2: the mixing branch replaces only patches the reconstruction branch did not select ----------------------
@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75])
def test_mixing_replaces_only_unselected_patches_and_the_ratio_sets_the_count(ratio):
    net = _net(_two_per_class(), mask_ratio=ratio, threshold=-1.5)  # threshold below every cosine: all parts pass
    seen = _record_mix(net)
    _, parts = net.train_losses(_images(), LABELS8, make_generator(0))
    masked = seen["masks"][0].bool()  # 1 = not selected by the reconstruction branch
    replaced = seen["replaced"]
    assert not (replaced & ~masked).any()  # disjoint from the selected patches P_m
    assert torch.equal(replaced, masked)  # and, with every part above the threshold, exactly the unselected ones
    m = net.n_patches
    n_masked = m - int(round(m * (1 - ratio)))
    assert replaced.sum(1).tolist() == [n_masked] * 8
    assert parts["replaced"].item() == pytest.approx(n_masked / m)


def test_threshold_still_gates_the_unselected_patches():
    net = _net(_two_per_class(), threshold=1.5)  # above every cosine: nothing replaced
    _, parts = net.train_losses(_images(), LABELS8, make_generator(0))
    assert parts["replaced"].item() == 0.0
    net = _net(_two_per_class(), threshold=0.0)
    seen = _record_mix(net)
    net.train_losses(_images(), LABELS8, make_generator(0))
    assert not (seen["replaced"] & ~seen["masks"][0].bool()).any()


def test_mix_scope_all_keeps_eq3_alone():
    net = _net(_two_per_class(), threshold=-1.5, mix_scope="all")
    seen = _record_mix(net)
    _, parts = net.train_losses(_images(), LABELS8, make_generator(0))
    assert seen["candidates"] is None and parts["replaced"].item() == 1.0


def test_razh_d_second_branch_takes_the_complementary_patches():
    net = _net(_two_per_class(), mask_ratio=0.25)
    calls = []
    real = net.encode_tokens

    def enc(tokens, keep=None):
        calls.append(keep.clone())
        return real(tokens, keep)

    net.encode_tokens = enc
    net.train_losses(_images(), LABELS8, make_generator(0), variant="random-branches")
    first, second = calls
    m = net.n_patches
    for a, b in zip(first, second):
        assert set(a.tolist()).isdisjoint(b.tolist()) and len(a) + len(b) == m


# -- one choice per class: labels as attributes, RAZH-T --------------------------------------------------------------
def test_labels_mode_freezes_f_m_and_trains_the_rest():
    net = _net(torch.eye(4, dtype=torch.bool), threshold=-1.5)
    assert not net.f_m_learns and not net.f_m.weight.requires_grad
    loss, parts = net.train_losses(_images(), LABELS8, make_generator(0))
    loss.backward()
    assert net.f_m.weight.grad is None and net.f_m.bias.grad is None
    for name, mod in [("f_a", net.f_a), ("f_i", net.f_i), ("encoder", net.encoder.blocks), ("decoder", net.decoder)]:
        assert sum(float(p.grad.abs().sum()) for p in mod.parameters()) > 0, name
    # the chosen "attribute" is always the image's own class
    out = net.mix(net.patches(net.prepare(_images())), LABELS8, make_generator(0))
    assert torch.equal(out["best"], LABELS8[:, None].expand_as(out["best"]))


def test_annotated_mode_f_m_learns_through_the_straight_through_choice():
    net = _net(_two_per_class(), threshold=-1.5)
    assert net.f_m_learns
    loss, _ = net.train_losses(_images(), LABELS8, make_generator(0))
    loss.backward()
    assert float(net.f_m.weight.grad.abs().sum()) > 0


def _labels_trainset(n=48):
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.flatnonzero(d.target < 3)[:n]
    imgs = np.rint(d.images[keep] * (255 / 16)).astype(np.uint8)[..., None]
    return TrainSet.from_arrays(d.target[keep], images=imgs)


def test_labels_mode_hasher_keeps_f_m_at_its_initialisation_and_says_so():
    tr = _labels_trainset()
    h = create_hasher("razh-t", n_bits=8, **FAST).fit(tr)
    info = h.run_info()
    assert info["f_m_learns"] is False and "F_m" in info["f_m_note"]
    fresh = h.initial_network(info["hyper"], {"wordvec": h.model_.wordvec, "allowed": h.model_.allowed})
    assert torch.equal(fresh.f_m.weight, h.model_.f_m.weight)  # untouched by two Adam steps
    assert not torch.equal(fresh.f_a.weight, h.model_.f_a.weight)  # F_a did learn


# -- eq. 12 bias ---------------------------------------------------------------------------------------------------
def test_classification_layer_has_the_bias_of_eq12():
    assert _net(_two_per_class()).cls_layer.bias is not None


# -- Table VIII ----------------------------------------------------------------------------------------------------
def test_table_viii_as_printed():
    assert paper_alpha_beta("awa2", 48)[0] == (0.5, 0.001)
    assert paper_alpha_beta("awa2", 64)[0] == (1.0, 0.01)
    assert paper_alpha_beta("cub", 24)[0] == (1.0, 0.5)
    assert paper_alpha_beta("cub", 48)[0] == (1.0, 0.001)
    assert paper_alpha_beta("cifar10", 64)[0] == (0.05, 1.0)
    assert paper_alpha_beta("cifar10", 128)[0] == (0.001, 0.1)
    assert paper_alpha_beta("CIFAR10", 24) == ((0.05, 1.0), "paper Table VIII (cifar10, 24 bits)")
    assert sorted(TABLE_VIII) == ["awa2", "cifar10", "cub"] and all(
        sorted(r) == [24, 48, 64, 128] for r in TABLE_VIII.values()
    )
    for ds, bits in [("shapes", 64), ("awa2", 32), ("awa2-res101", 64), ("sun", 64)]:
        ab, src = paper_alpha_beta(ds, bits)
        assert ab == DEFAULT_ALPHA_BETA and src.startswith("default") and ds in src


def test_table_viii_applies_in_the_tiny_profile_and_is_recorded():
    tr = dataclasses.replace(_labels_trainset(), dataset="cifar10")
    info = create_hasher("razh", n_bits=24, **FAST).fit(tr).run_info()
    assert (info["alpha"], info["beta"]) == (0.05, 1.0)
    assert info["alpha_beta_source"] == "paper Table VIII (cifar10, 24 bits)"
    assert info["loss_scale"] == "mean"
    info = create_hasher("razh", n_bits=24, alpha=2.0, beta=3.0, **FAST).fit(tr).run_info()
    assert (info["alpha"], info["beta"]) == (2.0, 3.0) and info["alpha_beta_source"].startswith("config")
    info = create_hasher("razh", n_bits=16, **FAST).fit(tr).run_info()
    assert (info["alpha"], info["beta"]) == DEFAULT_ALPHA_BETA and "no entry" in info["alpha_beta_source"]


# -- the paper's loss scaling (sums as printed) ----------------------------------------------------------------------
def test_paper_reductions_hand_computed():
    h = torch.tensor([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]])
    y = torch.tensor([0, 0, 1])
    sp = lambda t: math.log(1 + math.exp(t))  # noqa: E731
    # all 9 pairs: similar (0,0),(1,1),(2,2),(0,1),(1,0) -> s_p = 5/2; dissimilar 4 -> s_n = 2; N = 3
    w1, w0 = 3 / 2.5, 3 / 2
    th = lambda a, b: 0.5 * float(h[a] @ h[b])  # noqa: E731
    sim = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 0)]
    dis = [(0, 2), (2, 0), (1, 2), (2, 1)]
    expected = sum(w1 * (sp(th(a, b)) - th(a, b)) for a, b in sim) + sum(w0 * sp(th(a, b)) for a, b in dis)
    assert L.hash_loss(h, y, 0.5, "paper").item() == pytest.approx(expected, rel=1e-6)
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    lab = torch.tensor([0, 0])
    ce = [-math.log(math.exp(2) / (math.exp(2) + 1)), -math.log(1 / (1 + math.e))]
    assert L.classification_loss(logits, lab, "paper").item() == pytest.approx(sum(ce), rel=1e-6)
    target = torch.tensor([[[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]]])
    pred = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]])
    weight = torch.tensor([[1.0, 0.0, 1.0]])
    assert L.reconstruction_loss(pred, target, weight, norm_pix=False, reduction="paper").item() == pytest.approx(12.0)
    a = torch.tensor([[0.5, -1.0], [0.0, 0.25]])
    b = torch.tensor([[0.0, 1.0], [0.0, -0.25]])
    expected = sum(math.log(math.cosh(v)) for v in [0.5, -2.0, 0.0, 0.5]) / (2 * 2)
    assert L.alignment_loss(a, b, "paper").item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError):
        L.hash_loss(h, y, 0.5, "sum")


def test_paper_scaling_trains_end_to_end():
    net = _net(_two_per_class(), loss_scale="paper")
    loss, parts = net.train_losses(_images(), LABELS8, make_generator(0))
    ref, ref_parts = _net(_two_per_class()).train_losses(_images(), LABELS8, make_generator(0))
    assert torch.isfinite(loss) and set(parts) == set(ref_parts)
    assert parts["cls"].item() == pytest.approx(8 * ref_parts["cls"].item(), rel=1e-5)  # sum vs mean over N = 8


# -- GloVe: required by the paper profile ----------------------------------------------------------------------------
def test_paper_profile_without_glove_stops_with_where_to_get_it():
    with pytest.raises(UserError) as exc:
        RAZHHasher(profile="paper").validate_config()
    msg = str(exc.value)
    assert "glove.6B.300d.txt" in msg and "--set word_vectors=glove:" in msg and "seen-columns" in msg
    with pytest.raises(UserError, match="no such file"):
        RAZHHasher(profile="paper", word_vectors="glove:/no/such/glove.txt").validate_config()
    RAZHHasher(profile="paper", word_vectors="seen-columns").validate_config()  # an explicit substitute is fine
    RAZHHasher().validate_config()  # tiny: seen-columns by default


def _fake_glove(tmp_path: Path, names) -> Path:
    from zshbench.methods.razh.wordvec import name_words

    words = sorted({w for n in names for w in name_words(n)})
    rng = np.random.default_rng(0)
    f = tmp_path / "glove.tiny.6d.txt"
    f.write_text("".join(f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=6)) + "\n" for w in words))
    return f


def test_paper_profile_with_a_glove_file_and_with_a_recorded_substitute(tmp_path, monkeypatch):
    from zshbench.runner import build_trainset
    from zshbench.testing import conformance_dataset

    tr = build_trainset(*conformance_dataset())
    glove = _fake_glove(tmp_path, tr.attribute_names)
    # the paper profile's code path (GloVe, paper loss scaling, Table VIII lookup) on the tiny network
    small_paper = {**PROFILES["tiny"], "word_vectors": "glove", "loss_scale": "paper"}
    monkeypatch.setitem(PROFILES, "paper", small_paper)
    h = create_hasher("razh", n_bits=16, profile="paper", word_vectors=f"glove:{glove}", **FAST).fit(tr)
    info = h.run_info()
    assert info["word_vectors"]["source"] == f"glove:{glove.name}" and info["word_vectors"]["paper_setting"]
    assert (
        info["word_vectors"]["dim"] == 6 and info["loss_scale"] == "paper" and "substitute" not in info["word_vectors"]
    )
    info = create_hasher("razh", n_bits=16, profile="paper", word_vectors="seen-columns", **FAST).fit(tr).run_info()
    assert "instead of the paper's GloVe" in info["word_vectors"]["substitute"]


# -- backbone weights and razh-f -------------------------------------------------------------------------------------
def test_razh_f_is_a_registered_variant_with_the_class_supervised_backbone():
    from zshbench import list_methods
    from zshbench.registry import get_method

    assert "razh-f" in list_methods("razh*") and get_method("razh-f") is RAZHFHasher
    assert RAZHFHasher.variant_of == "razh"
    assert RAZHFHasher(profile="paper").resolved_profile()["timm_name"] == RAZH_F_WEIGHTS
    assert RAZHHasher(profile="paper").resolved_profile()["timm_name"] == PAPER_WEIGHTS
    from zshbench.pretraining import timm_label_set

    assert timm_label_set(PAPER_WEIGHTS) == "none (self-supervised on ImageNet-1k images)"
    assert timm_label_set(RAZH_F_WEIGHTS) == "imagenet-21k"


def test_tiny_runs_record_their_weights_label_set(tmp_path):
    tr = _labels_trainset()
    h = create_hasher("razh", n_bits=8, **FAST).fit(tr)
    assert h.run_info()["weights_label_set"] == "random init"
    sd = {k[len("encoder.") :]: v for k, v in h.model_.state_dict().items() if k.startswith("encoder.")}
    path = tmp_path / "enc.pth"
    torch.save(sd, path)
    info = create_hasher("razh", n_bits=8, weights=str(path), **FAST).fit(tr).run_info()
    assert info["weights_label_set"] == "user file: unknown"


@pytest.mark.parametrize("method,name", [("razh", PAPER_WEIGHTS), ("razh-f", RAZH_F_WEIGHTS)])
def test_pretrained_load_path_uses_the_method_weights(monkeypatch, method, name):
    """The paper profile asks timm for exactly its weights (stand-in: the encoder's own random weights with the
    pretrained config of that name)."""
    import timm

    asked = []

    def fake(nm, flag, **kw):
        asked.append(nm)
        return SimpleNamespace(
            state_dict=net.encoder.state_dict, pretrained_cfg=timm.models.get_pretrained_cfg(nm).to_dict()
        )

    monkeypatch.setattr("zshbench.weights.create_pretrained", fake)
    from zshbench.methods.razh.model import build_encoder

    h = create_hasher(method, profile="paper", word_vectors="seen-columns")
    p = h.resolved_profile()
    net = SimpleNamespace(
        encoder=build_encoder(p), mean=torch.full((1, 3, 1, 1), 0.5), std=torch.full((1, 3, 1, 1), 0.5)
    )  # the parts of RAZHNet the loader touches
    loaded = h.load_weights(net, p)
    assert asked == [name] and name in loaded.description
    from zshbench.pretraining import timm_label_set

    assert loaded.label_set == timm_label_set(name)
    if name == PAPER_WEIGHTS:  # DINO's ImageNet normalisation replaces the 0.5 default
        assert net.mean.flatten().tolist() == pytest.approx([0.485, 0.456, 0.406])


# -- zshbench.pretraining: label sets and unseen overlaps ------------------------------------------------------------
def _unseen(protocol):
    from zshbench.protocols import load_protocol

    return list(load_protocol(protocol).unseen)


def test_unseen_overlap_of_the_built_in_protocols():
    from zshbench.pretraining import overlap_report, unseen_overlap

    assert unseen_overlap("imagenet-1k", "cifar10", _unseen("cifar10-zsh")) == ["cat", "truck"]
    rep = overlap_report("imagenet-1k", "cifar10", ["cat"])
    assert {m[1] for m in rep["matches"]["cat"]} == {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
    assert all(m[2] == "subordinate class" for m in rep["matches"]["cat"])
    ps = _unseen("awa2-zsh")
    assert unseen_overlap("imagenet-21k", "awa2", ps) == ps  # ImageNet-21k holds every AwA2 class
    assert unseen_overlap("imagenet-1k", "awa2", ps) == ["horse", "sheep", "seal", "dolphin"]  # subordinates only
    assert overlap_report("imagenet-1k", "awa2", ["horse"])["matches"]["horse"] == [
        ["n02389026", "sorrel", "subordinate class"]
    ]
    ss = overlap_report("imagenet-1k", "awa2", _unseen("awa2-zsh-ss"))
    same = [c for c, ms in ss["matches"].items() if any(m[2] == "same class" for m in ms)]
    assert same == ["persian+cat", "hippopotamus", "leopard", "chimpanzee", "giant+panda", "pig"]
    assert unseen_overlap("imagenet-1k", "cub", _unseen("cub-zsh")) == []
    assert unseen_overlap("imagenet-1k", "cub", _unseen("cub-unseen60")) == [
        "014.Indigo_Bunting",
        "090.Red_breasted_Merganser",
    ]
    assert set(unseen_overlap("imagenet-1k", "sun", _unseen("sun-zsh"))) >= {
        "church_indoor",
        "mosque_indoor",
        "monastery_outdoor",
    }
    for ls in ("none (self-supervised on ImageNet-1k images)", "random init", "user file: unknown"):
        assert unseen_overlap(ls, "awa2", ps) == [] and not overlap_report(ls, "awa2", ps)["label_set_has_classes"]
    assert unseen_overlap("imagenet-1k", "digits", ["three", "eight"]) == []
    assert overlap_report("imagenet-1k", "sun", ["abbey"])["unchecked"] == ["abbey"]  # only sun-zsh's unseen mapped
    assert overlap_report("imagenet-1k", "cub", ["002.Laysan_Albatross"])["unchecked"] == []  # checked: no synset
    assert unseen_overlap("imagenet-21k (inferred from the timm tag 'x_in21k')", "cifar10", ["cat"]) == ["cat"]


def test_overlap_table_is_consistent_with_timm_class_lists_and_the_protocols():
    from zshbench.pretraining import CLASS_SYNSETS, OVERLAPS, label_set_synsets
    from zshbench.protocols import load_protocol

    for ls, per in OVERLAPS.items():
        members = label_set_synsets(ls)
        for ds, rows in per.items():
            for cname, ids in rows.items():
                assert cname in CLASS_SYNSETS[ds], (ds, cname)
                assert set(ids.split()) <= members, (ls, ds, cname)
                own = set(CLASS_SYNSETS[ds][cname]) & members
                assert not own or set(ids.split()) == own, (ls, ds, cname)  # same class -> only itself listed
    names = {ds: set() for ds in CLASS_SYNSETS}
    for proto in ("awa2-zsh", "cifar10-zsh", "cub-zsh", "sun-zsh"):
        p = load_protocol(proto)
        names[p.dataset] |= set(p.seen) | set(p.unseen)
    for ds, classes in CLASS_SYNSETS.items():
        assert set(classes) <= names[ds], set(classes) - names[ds]  # no typo in a class name
    assert set(CLASS_SYNSETS["sun"]) == set(_unseen("sun-zsh"))


@pytest.mark.skipif(
    not Path("/usr/share/wordnet/data.noun").is_file(), reason="WordNet 3.0 (wordnet-base) not installed"
)
def test_overlap_table_regenerates_from_wordnet():
    from zshbench.pretraining import OVERLAPS, derive_overlaps

    assert derive_overlaps("/usr/share/wordnet") == OVERLAPS


def test_weights_label_set_of_the_settings():
    from zshbench.pretraining import timm_label_set, weights_label_set
    from zshbench.weights import weights_label_set as reexported

    assert reexported is weights_label_set
    assert weights_label_set("none") == weights_label_set(None) == "random init"
    assert weights_label_set("/some/file.pth") == "user file: unknown"
    assert weights_label_set("pretrained", "resnet101.tv_in1k") == "imagenet-1k"
    assert timm_label_set("vit_base_patch16_224") == "imagenet-21k"  # timm's default tag: augreg2_in21k_ft_in1k
    assert timm_label_set("resnet18").startswith("imagenet-1k (inferred")
    assert timm_label_set("no_such_model_xyz").startswith("unknown")
