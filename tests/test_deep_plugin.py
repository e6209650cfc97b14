"""The deep plugin example (a `TorchHasher` in ~100 lines) installs and runs through its entry point, like a
third-party package: listed, validated by the conformance kit, and run end to end on shapes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "zshbench-deep-plugin-example"
HASHER = EXAMPLE / "zshbench_deep_plugin_example" / "hasher.py"
GUIDE = ROOT / "docs" / "adding-a-method.md"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    target = tmp_path_factory.mktemp("deep-plugin-site")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(target.glob("zshbench_deep_plugin_example-*.dist-info/entry_points.txt"))
    return target


def _run(plugin_path, *args):
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "zshbench", *args], capture_output=True, text=True, env=env)


def test_deep_plugin_listed_validated_and_run(plugin_path, tmp_path):
    out = _run(plugin_path, "list", "methods", "--names")
    assert out.returncode == 0 and "dpsh-example" in out.stdout.split()
    out = _run(plugin_path, "validate", "--method", "dpsh-example")
    assert out.returncode == 0 and "all checks passed" in out.stdout, out.stdout + out.stderr
    out = _run(
        plugin_path,
        "run",
        "--method",
        "dpsh-example",
        "--dataset",
        "shapes",
        "--bits",
        "16",
        "--set",
        "max_steps=3",
        "--results",
        str(tmp_path),
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    (rec_path,) = tmp_path.rglob("*.json")
    rec = json.loads(rec_path.read_text())
    assert rec["method"] == "dpsh-example" and 0.0 < rec["metrics"]["map@all"] <= 1.0
    extras = rec["extras"]  # what the TorchHasher template records for every deep method
    assert extras["profile"] == "tiny" and extras["train"]["steps"] == 3
    assert extras["weights_label_set"] == "random init" and extras["backbone_weights"] == "none (random init)"
    assert extras["hyper"]["eta"] == 0.1 and {"likelihood", "quantisation"} <= set(extras["train"]["epochs"][0])


def test_deep_plugin_hasher_is_short_and_uses_only_the_template():
    code = HASHER.read_text()
    assert len(code.splitlines()) <= 110
    assert "fit_loop" not in code and "manual_seed" not in code and "state_dict" not in code  # the template's job


def test_guide_documents_the_template_hooks():
    """The deep-method guide names every hook of the template, and each exists (the guide stays in step)."""
    from zshbench.train import TorchHasher

    guide = GUIDE.read_text()
    hooks = (
        "build_network",
        "loss",
        "prepare",
        "make_optimizer",
        "make_scheduler",
        "train_batches",
        "run_facts",
        "load_weights",
        "resolved_profile",
        "initial_network",
        "profiles",
        "config_rules",
        "weights_attr",
        "weights_ignore",
        "timm_name_key",
        "register_variant",
    )
    for name in hooks:
        assert re.search(rf"\b{name}\b", guide), f"docs/adding-a-method.md does not mention {name}"
        assert name == "register_variant" or hasattr(TorchHasher, name), name
    assert "examples/zshbench-deep-plugin-example" in guide and "examples/zshbench-plugin-example" in guide
