"""benchmarks/gpu_check.py --cpu: the GPU check script end to end on tiny sizes, so it cannot rot between GPU runs."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    rc = _load().main(["--cpu", "--out", str(out)])
    return rc, json.loads((out / "gpu_check.json").read_text()), (out / "gpu_check.md").read_text()


def test_cpu_mode_runs_every_section_and_passes(report):
    rc, data, text = report
    assert rc == 0, text
    assert data["cpu_mode"] and data["passed"]
    ev = data["evaluator"]
    assert ev["passed"] and {r["bits"] for r in ev["rows"]} >= {8, 64, 128}
    assert {r["labels"] for r in ev["rows"]} == {"single", "multi"}
    assert all(r["max_abs_diff"] <= 1e-12 for r in ev["rows"])
    assert ev["streamed"]["query_blocks"] > 1 and ev["streamed"]["passed"]
    tr = data["training"]
    assert [r["method"] for r in tr["rows"]] == ["razh", "comae"]
    for r in tr["rows"]:
        assert "error" not in r, r.get("trace")
        assert r["losses_finite"] and r["device_vs_cpu_bit_agreement"] == 1.0 and r["rerun_bit_agreement"] == 1.0
    pc = data["paper_cost"]
    assert {r["network"] for r in pc["rows"]} == {"vit_base_patch16_224", "resnet101"}
    assert pc["counts"]["train"] == 3000 and pc["counts"]["query"] == 1000
    assert all(r["awa2_total_min"] > 0 for r in pc["rows"])
    assert "## Evaluator" in text and "## Training" in text and "## Paper profiles' cost" in text


def test_a_metric_mismatch_fails_the_check(monkeypatch):
    mod = _load()
    import zshbench.evaluate as ev

    real = ev.evaluate

    def skewed(*a, **kw):
        res = real(*a, **kw)
        if kw.get("backend") == "torch":
            res.metrics["map@all"] += 1e-9
        return res

    monkeypatch.setattr(ev, "evaluate", skewed)
    out = mod.check_evaluator("cpu", cpu_mode=True)
    assert not out["passed"] and all(not r["passed"] for r in out["rows"])


def test_bad_arguments_exit_2(tmp_path, capsys):
    mod = _load()
    assert mod.main(["--cpu", "--skip", "nonsense", "--out", str(tmp_path)]) == 2
    assert "--skip" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert mod.main(["--out", str(tmp_path)]) == 2
        assert "no CUDA device" in capsys.readouterr().err
