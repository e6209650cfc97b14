"""Every constant of COMAE lives in `profiles.py`: the other modules hold no numeric constant beyond 0, 1, 2
(indices, axes, counts) and structural ones (the 0.5 of a square root, the 3 RGB channels of a view, axes given
as ``dim=``/``axis=``); every
profile key read by the code exists in both profiles and is documented in README.md; every profile value
that is changed reaches the network or the loss."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import torch

import zshbench.methods.comae as comae_pkg
from zshbench.methods.comae import COMAEConfig, COMAEHasher
from zshbench.methods.comae.model import COMAENet
from zshbench.methods.comae.profiles import PROFILES, resolve_profile
from zshbench.train import profile_fields

PKG = Path(comae_pkg.__file__).resolve().parent
CODE = ("model.py", "losses.py", "__init__.py")
TEMPLATE = Path(__file__).resolve().parents[2] / "zshbench" / "train" / "torch_hasher.py"  # the training loop's keys
ALLOWED = {0, 1, 2}


def _parents(tree):
    parent = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    return parent


def _stray_numbers(path: Path) -> list[tuple[int, object]]:
    tree = ast.parse(path.read_text())
    parent = _parents(tree)
    out = []
    for node in ast.walk(tree):
        if (
            not (
                isinstance(node, ast.Constant)
                and isinstance(node.value, (int, float))
                and not isinstance(node.value, bool)
            )
            or node.value in ALLOWED
        ):
            continue
        up, structural = node, False
        while up in parent:
            up, child = parent[up], up
            if isinstance(up, ast.BinOp) and isinstance(up.op, ast.Pow) and child is up.right and node.value == 0.5:
                structural = True  # c ** 0.5
            if (
                isinstance(up, ast.Call)
                and isinstance(up.func, ast.Attribute)
                and up.func.attr == "view"
                and node.value == 3
            ):
                structural = True  # .view(1, 3, 1, 1): RGB channels
            if isinstance(up, ast.keyword) and up.arg in ("dim", "axis"):
                structural = True  # axes
            if isinstance(up, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "conformance_params" for t in up.targets
            ):
                structural = True  # the conformance kit's test budget, not a method constant
        if not structural:
            out.append((node.lineno, node.value))
    return out


@pytest.mark.parametrize("name", CODE)
def test_no_numeric_constant_outside_profiles(name):
    stray = _stray_numbers(PKG / name)
    assert not stray, f"methods/comae/{name} holds constants that belong in profiles.py: {stray}"


def test_the_constant_check_catches_a_constant(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f(x, c):\n    return x * 0.1 + c ** 0.5 + x.view(1, 3, 1, 1).mean(dim=(2, 3)) + 2 + 3\n")
    assert sorted(v for _, v in _stray_numbers(f)) == [0.1, 3]


def _profile_keys_read(path: Path) -> set[str]:
    keys = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "p"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "p"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)  # self.p["..."]
    return keys


def test_profiles_share_their_keys_and_every_key_read_exists():
    assert set(PROFILES["tiny"]) == set(PROFILES["paper"])
    read = set().union(*(_profile_keys_read(PKG / n) for n in CODE))
    assert read, "the scan found no profile lookups"
    assert read <= set(PROFILES["paper"]), read - set(PROFILES["paper"])
    unused = set(PROFILES["paper"]) - read - {"grad_clip", "weights", "epochs", "batch_size", "lr"}
    # those are read by the TorchHasher template (its training loop, weights policy; checked below)
    assert not unused, f"profile keys that no code reads: {unused}"
    template = TEMPLATE.read_text()
    for k in ("epochs", "batch_size", "lr"):
        assert f'p["{k}"]' in template
    assert 'p.get("grad_clip")' in template and 'p.get("weights")' in template
    assert COMAEHasher.timm_name_key == "backbone" and "p.get(self.timm_name_key)" in template


def test_every_profile_key_is_documented_and_every_override_is_a_field():
    readme = (PKG / "README.md").read_text()
    missing = [k for k in PROFILES["paper"] if f"`{k}`" not in readme]
    assert not missing, f"profile keys not documented in methods/comae/README.md: {missing}"
    overrides = set(profile_fields(COMAEHasher))  # derived: the Config fields named like profile keys
    assert overrides <= set(COMAEConfig.__dataclass_fields__) and overrides <= set(PROFILES["paper"])
    none_valued = {f.name for f in dataclasses.fields(COMAEConfig) if f.default is None} - {"max_steps"}
    assert overrides == none_valued, "every None-valued field (but max_steps) stands for a profile value"


@pytest.mark.parametrize(
    "key,value,check",
    [
        ("centre_init_std", 0.0, lambda net: torch.all(net.centres == 0)),
        ("prototype_init_std_hadamard", 0.0, lambda net: torch.all(net.prototypes == 0)),
        ("w_init_gain", 0.0, lambda net: torch.all(net.W == 0)),
        ("hash_bias", False, lambda net: net.hash_layer.bias is None),
        ("theta_hidden", 5, lambda net: net.theta_net["U"].out_features == 5),
        ("theta", "dot", lambda net: net.theta_net is None),
        ("img_size", 24, lambda net: net.prepare(torch.zeros(1, 8, 8, 3, dtype=torch.uint8)).shape[-1] == 24),
    ],
)
def test_profile_values_reach_the_network(key, value, check):
    p = resolve_profile("tiny", {key: value})
    torch.manual_seed(0)
    assert check(COMAENet(p, 16, torch.eye(4, 6)))


def test_prototype_init_gain_reaches_the_dot_theta():
    net = COMAENet(resolve_profile("tiny", {"theta": "dot", "prototype_init_gain": 0.0}), 16, torch.eye(4, 6))
    assert torch.all(net.prototypes == 0)
    torch.manual_seed(0)
    net = COMAENet(resolve_profile("tiny", {"theta": "dot"}), 16, torch.eye(4, 6))
    c = net.prototypes.shape[1]
    assert float(net.prototypes.detach().std()) == pytest.approx(c**-0.5, rel=0.1)


@pytest.mark.parametrize(
    "key,value",
    [
        ("lambda_hash", 3.0),
        ("lambda_point", 0.0),
        ("point_reduction", "sum"),
        ("pair_form", "per-positive"),
        ("theta_negative_slope", 0.0),
        ("am_margin", 0.5),
        ("tau", 0.1),
    ],
)
def test_profile_values_reach_the_loss(key, value):
    def loss(over):
        p = resolve_profile("tiny", {"theta_hidden": 8, **over})
        torch.manual_seed(0)
        attr = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
        net = COMAENet(p, 16, attr)
        g = torch.Generator().manual_seed(0)
        imgs = torch.randint(0, 256, (6, 32, 32, 3), generator=g, dtype=torch.uint8)
        return net.train_losses(imgs, torch.arange(6) % 3, torch.Generator().manual_seed(0))[0].item()

    assert loss({key: value}) != pytest.approx(loss({}), rel=1e-6)
