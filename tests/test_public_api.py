"""The public Python API of ``zshbench/__init__.py``: every advertised name resolves, importing the package stays
light, and the notebook-style example runs end to end."""

import subprocess
import sys
from pathlib import Path

import numpy as np

import zshbench

REPO = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves():
    for name in zshbench.__all__:
        assert getattr(zshbench, name) is not None, name
    assert set(zshbench.__all__) >= {
        "create_hasher",
        "load_hasher",
        "get_dataset",
        "load_protocol",
        "resolve",
        "run",
        "evaluate",
        "load_records",
        "to_dataframe",
        "Record",
    }


def test_evaluate_is_callable_from_the_package():
    from zshbench.evaluate.core import evaluate

    rng = np.random.default_rng(0)
    args = (rng.integers(0, 2, (4, 16)), rng.integers(0, 2, (30, 16)), np.arange(4) % 2, np.arange(30) % 2)
    assert zshbench.evaluate(*args, n_bits=16).metrics == evaluate(*args, n_bits=16).metrics
    assert zshbench.evaluate.HEADLINE_K == 5000  # still the package


def test_import_is_light():
    code = (
        "import sys, zshbench; print(sorted(m for m in ('numpy', 'numba', 'scipy', 'torch', 'timm') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_python_api_example_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "python_api.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "itq 32 bits seed 0: map@5000" in out.stdout and "evaluate: {'map@5000'" in out.stdout
    assert len(list(tmp_path.rglob("*.json"))) == 2 and (tmp_path / "itq.safetensors").is_file()
