"""The external plugin example installs and runs through its entry point, like a third-party package."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "zshbench-plugin-example"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    target = tmp_path_factory.mktemp("plugin-site")
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
    assert list(target.glob("zshbench_plugin_example-*.dist-info/entry_points.txt"))
    return target


def _run(plugin_path, *args):
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run([sys.executable, "-m", "zshbench", *args], capture_output=True, text=True, env=env)


def test_plugin_listed_validated_and_run(plugin_path, tmp_path):
    out = _run(plugin_path, "list", "methods", "--names")
    assert out.returncode == 0 and "attrproj" in out.stdout.split()
    out = _run(plugin_path, "validate", "--method", "attrproj")
    assert out.returncode == 0, out.stdout + out.stderr
    out = _run(
        plugin_path,
        "run",
        "--method",
        "attrproj",
        "--dataset",
        "shapes",
        "--bits",
        "32",
        "--results",
        str(tmp_path),
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    (rec_path,) = tmp_path.rglob("*.json")
    rec = json.loads(rec_path.read_text())
    assert rec["method"] == "attrproj" and rec["metrics"]["map@all"] > 0.03
    # the example validates its own key: a negative ridge stops before any work
    bad = _run(plugin_path, "run", "--method", "attrproj", "--dataset", "shapes", "--set", "ridge=-1",
               "--results", str(tmp_path / "bad"), "--no-progress")  # fmt: skip
    assert bad.returncode == 2 and "ridge" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_plugin_hasher_is_short():
    n = len((EXAMPLE / "zshbench_plugin_example" / "hasher.py").read_text().splitlines())
    assert n <= 45


def test_readme_shows_the_example_verbatim():
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    code = (EXAMPLE / "zshbench_plugin_example" / "hasher.py").read_text()
    assert code.strip() in readme, "README's plugin example is out of sync with examples/zshbench-plugin-example"
    assert "attrproj = zshbench_plugin_example.hasher:AttributeProjectionHasher" in readme
