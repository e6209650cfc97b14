"""The `TorchHasher` template: profiles, the seeded build, the weights policy, the hooks' order and arguments, and
saved models rebuilt from their saved settings. A toy method (a linear map of 8 x 8 images) keeps it fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
import torch

from zshbench.config import POSITIVE
from zshbench.errors import UserError
from zshbench.train import TorchHasher, TorchHasherConfig, profile_fields
from zshbench.trainset import TrainSet
from zshbench.weights import LoadedWeights, load_weights


class ToyNet(torch.nn.Module):
    def __init__(self, n_bits: int, width: int, centre: torch.Tensor | None = None):
        super().__init__()
        self.backbone = torch.nn.Linear(3 * 8 * 8, width)
        self.head = torch.nn.Linear(width, n_bits)
        self.register_buffer("centre", torch.zeros(3) if centre is None else centre.float().clone())

    def forward(self, x):
        x = x.float().permute(0, 3, 1, 2) / 255.0 - self.centre.view(1, 3, 1, 1)
        return self.head(torch.tanh(self.backbone(x.flatten(1))))

    def encode(self, x):
        with torch.no_grad():
            return self(x)


@dataclass
class ToyConfig(TorchHasherConfig):
    profile: Literal["small", "wide"] = "small"
    lr: float | None = None
    width: int | None = None
    weights: str | None = None
    scale: float = 1.0  # not a profile key: never an override


class ToyHasher(TorchHasher):
    Config = ToyConfig
    name = "toy"
    profiles = {
        "small": {"width": 4, "lr": 0.05, "epochs": 2, "batch_size": 8, "weights": "none", "betas": (0.8, 0.9)},
        "wide": {"width": 16, "lr": 0.01, "epochs": 1, "batch_size": 8, "weights": "none", "timm_name": "resnet10t"},
    }
    config_rules = {"scale": POSITIVE}
    calls: list = []

    def prepare(self, train, p):
        self.calls.append("prepare")
        p["n_classes"] = train.n_classes  # a training-set value saved with the model
        imgs = np.asarray(train.images.take(np.arange(len(train))), dtype=np.float64)
        return {"centre": torch.from_numpy(imgs.mean(axis=(0, 1, 2)) / 255.0)}

    def build_network(self, p, data):
        self.calls.append("build_network")
        return ToyNet(self.n_bits, p["width"], data["centre"])

    def make_scheduler(self, optimizer, p):
        self.calls.append("make_scheduler")
        self.scheduler_ = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        return self.scheduler_

    def loss(self, net, batch, p, generator):
        images, labels = batch
        h = net(images)
        noise = torch.rand(len(labels), generator=generator)  # the fit's generator
        same = (labels[:, None] == labels[None, :]).float()
        loss = ((torch.tanh(h) @ torch.tanh(h).T / self.n_bits - (2 * same - 1)) ** 2).mean() + 0 * noise.mean()
        return loss * self.config.scale, {"pairs": loss.detach()}

    def run_facts(self, train, p, net):
        self.calls.append("run_facts")
        return {"n_classes": p["n_classes"]}


def _train(n: int = 24) -> TrainSet:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), n // 3)
    imgs = (rng.random((n, 8, 8, 3)) * 60 + labels[:, None, None, None] * 60).astype(np.uint8)
    return TrainSet.from_arrays(labels, images=imgs)


def test_profile_fields_are_the_config_fields_named_like_profile_keys():
    assert profile_fields(ToyHasher) == ("lr", "width", "weights")  # not profile, scale, max_steps, ...
    h = ToyHasher(lr=0.2)
    p = h.resolved_profile()
    assert p["lr"] == 0.2 and p["width"] == 4 and list(p) == list(ToyHasher.profiles["small"])  # order kept
    assert ToyHasher(profile="wide").resolved_profile()["width"] == 16
    assert h.resolved_profile() is not h.resolved_profile()  # a new dict: hooks may change it


def test_builtin_overrides_equal_the_old_hand_written_lists():
    from zshbench.methods.comae import COMAEHasher
    from zshbench.methods.razh import RAZHHasher

    razh = (
        "word_vectors",
        "weights",
        "epochs",
        "batch_size",
        "lr",
        "alpha",
        "beta",
        "loss_scale",
        "mix_scope",
        "threshold",
        "n_parts",
        "mask_ratio",
        "kmeans_iters",
        "attribute_threshold",
    )
    comae = (
        "weights",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "lambda_point",
        "lambda_pair",
        "lambda_class",
        "lambda_hash",
        "epsilon",
        "tau",
        "n_negatives",
        "pair_similarity",
        "pair_form",
        "point_reduction",
        "theta",
        "theta_hidden",
        "am_scale",
        "am_margin",
        "attribute_norm",
    )
    assert set(profile_fields(RAZHHasher)) == set(razh) and set(profile_fields(COMAEHasher)) == set(comae)


def test_fit_calls_the_hooks_in_order_and_records_the_template_facts():
    ToyHasher.calls.clear()
    h = ToyHasher(n_bits=16, seed=1).fit(_train())
    assert ToyHasher.calls == ["prepare", "build_network", "make_scheduler", "run_facts"]
    info = h.run_info()
    assert info["profile"] == "small" and info["n_classes"] == 3
    assert info["backbone_weights"] == "none (random init)" and info["weights_label_set"] == "random init"
    assert info["train"]["steps"] == 6 and "pairs" in info["train"]["epochs"][0]
    assert info["hyper"]["betas"] == [0.8, 0.9] and info["hyper"]["n_classes"] == 3  # prepare's value is saved
    assert info["n_params"] == sum(t.numel() for t in h.model_.parameters())
    codes = h.encode(_train().images)
    assert codes.shape == (24, 2) and len(np.unique(codes, axis=0)) > 1


def test_default_optimizer_reads_lr_betas_and_the_scheduler_steps():
    h = ToyHasher(n_bits=8)
    net = h.initial_network(h.resolved_profile(), {"centre": torch.zeros(3)})
    opt = h.make_optimizer(net, h.resolved_profile())
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.8, 0.9) and opt.defaults["lr"] == 0.05
    assert opt.defaults["weight_decay"] == 0  # not in the profile: Adam's default
    h.fit(_train())  # fit_loop steps the scheduler after each of the 6 optimizer steps
    assert h.info_["train"]["steps"] == 6 and h.scheduler_.get_last_lr() == [pytest.approx(0.05 * 0.5**6)]


def test_initial_network_is_seeded_and_leaves_the_global_rng_alone():
    h = ToyHasher(n_bits=8, seed=4)
    p, data = h.resolved_profile(), {"centre": torch.zeros(3)}
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = h.initial_network(p, data), h.initial_network(p, data)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a.head.weight, b.head.weight)
    assert not torch.equal(a.head.weight, ToyHasher(n_bits=8, seed=5).initial_network(p, data).head.weight)


def test_prepared_data_must_be_kept_as_buffers():
    class Forgetful(ToyHasher):
        def build_network(self, p, data):
            return ToyNet(self.n_bits, p["width"])  # keeps "centre", but not "extra"

        def prepare(self, train, p):
            return {"centre": torch.zeros(3), "extra": torch.ones(2)}

    with pytest.raises(TypeError, match="extra"):
        Forgetful(n_bits=8).fit(_train())


def test_config_rules_profile_names_and_loop_rules_are_checked():
    for bad, key in (({"scale": -1.0}, "scale"), ({"max_steps": 0}, "max_steps"), ({"lr": 0.0}, "lr")):
        with pytest.raises(UserError, match=key):
            ToyHasher(n_bits=8, **bad).fit(_train())


def test_saved_model_is_rebuilt_from_its_saved_settings(tmp_path, monkeypatch):
    h = ToyHasher(n_bits=8, seed=2).fit(_train())
    codes = h.encode(_train().images)
    path = tmp_path / "toy.pt"
    h.save(path)
    monkeypatch.setitem(ToyHasher.profiles["small"], "width", 9)  # the current profile changed since
    loaded = ToyHasher.load(path)
    assert loaded.model_.backbone.out_features == 4
    np.testing.assert_array_equal(loaded.encode(_train().images), codes)
    sd = h.state_dict()
    sd["state"]["run_info_json"] = "{}"
    with pytest.raises(UserError, match="hyper"):
        ToyHasher().load_state_dict(sd)


def test_weights_policy_file_pretrained_and_refusals(tmp_path):
    src = ToyNet(8, 4)
    path = tmp_path / "backbone.pth"
    torch.save(src.backbone.state_dict(), path)
    h = ToyHasher(n_bits=8, weights=str(path)).fit(_train())
    assert h.run_info()["backbone_weights"] == "state dict backbone.pth (0 unused keys)"
    assert h.run_info()["weights_label_set"] == "user file: unknown"
    fresh = h.initial_network(h.resolved_profile(), {"centre": torch.zeros(3)})
    loaded = h.load_weights(fresh, h.resolved_profile())
    assert isinstance(loaded, LoadedWeights) and torch.equal(fresh.backbone.weight, src.backbone.weight)
    with pytest.raises(UserError, match="profile=wide"):  # "pretrained" needs a profile with a timm name
        ToyHasher(n_bits=8, weights="pretrained").fit(_train())
    with pytest.raises(UserError, match="missing key"):
        torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pth")
        ToyHasher(n_bits=8, weights=str(tmp_path / "bad.pth")).fit(_train())


def test_load_weights_function(tmp_path, monkeypatch):
    assert load_weights(None, None) == LoadedWeights("none (random init)", "random init")
    assert load_weights(None, "None").description == "none (random init)"
    with pytest.raises(UserError, match="no pretrained weights"):
        load_weights(torch.nn.Linear(2, 2), "pretrained", what="the toy backbone")
    net = torch.nn.Linear(2, 2)
    donor = torch.nn.Linear(2, 2)

    class Src:
        pretrained_cfg = {"mean": (0.1, 0.2, 0.3)}

        def state_dict(self):
            return {**donor.state_dict(), "head.weight": torch.zeros(1), "fc.bias": torch.zeros(1)}

    monkeypatch.setattr("zshbench.weights.create_pretrained", lambda name, flag, **kw: Src())
    got = load_weights(net, "pretrained", timm_name="resnet10t", ignore_prefixes=("head",))
    assert got.description == "pretrained resnet10t (timm) (1 unused keys)" and got.label_set == "imagenet-1k"
    assert got.pretrained_cfg["mean"] == (0.1, 0.2, 0.3) and torch.equal(net.weight, donor.weight)


class _FakeBar:
    """Records what `fit_loop` asks of a caller's live bar (`use_progress_bar`)."""

    def __init__(self):
        self.added, self.updates, self.removed = [], [], []

    def add_task(self, description, total=None, **fields):
        self.added.append((description, total))
        return len(self.added) - 1

    def update(self, task, advance=0, description=None, **fields):
        self.updates.append((task, advance, description))

    def remove_task(self, task):
        self.removed.append(task)


def test_training_shows_in_the_callers_bar_and_progress_is_not_part_of_the_identity():
    """`zshbench run` in a terminal: the epochs, steps and loss terms appear in the run's bar; the display switch
    ``progress`` is recorded at its default, so a run with it has the same params, hash and identity."""
    from zshbench.train.loop import use_progress_bar

    h = ToyHasher(n_bits=8)
    bar = _FakeBar()
    with use_progress_bar(bar):
        h.fit(_train())
    assert [t for t, _ in bar.added] == ["toy 8b epoch 1/2", "toy 8b epoch 2/2"] and bar.removed == [0, 1]
    epochs = h.run_info()["train"]["epochs"]
    assert len(bar.updates) == sum(e["steps"] for e in epochs) and len(epochs) == 2
    assert all(d.startswith("toy 8b epoch") and "loss" in d for _, _, d in bar.updates)
    with_bar = ToyHasher(n_bits=8, progress=True)
    assert with_bar.config.progress is True  # it still shows a bar when asked ...
    assert with_bar.get_params() == h.get_params() and with_bar.get_params()["progress"] is False  # ... unrecorded
    assert with_bar.config_hash() == h.config_hash() and with_bar.identity_params() == h.identity_params()
