"""The evaluator reproduces the values, names, order and conventions it produced before the metric registry.

``golden_metrics.json`` was written by the evaluator of 2026-11 (before `register_metric`; METRIC_VERSION "2")
on three small cases stored in the file. Values from integer counts (stable map, precision@hamming, pr_auc,
curves) must be equal to the last bit; tie-aware mAP and the bounds use log-gamma and logarithms, which other
CPUs or libm versions may round differently in the last place, so they get 1e-14. A change of definition
moves values by far more than that: bump METRIC_VERSION and regenerate the file deliberately.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from zshbench.evaluate import METRIC_VERSION, evaluate

GOLDEN = json.loads((Path(__file__).parent / "golden_metrics.json").read_text())
ALL = [
    "map@k",
    "map@all",
    "tie_aware_map@k",
    "tie_aware_map@all",
    "map@k:relevant_first",
    "map@k:relevant_last",
    "map@all:relevant_first",
    "map@all:relevant_last",
    "precision@hamming0",
    "precision@hamming2",
    "pr_auc",
]


def _inputs(case):
    codes = [
        np.array([list(bytes.fromhex(h)) for h in case[key]], dtype=np.uint8) for key in ("query_codes", "db_codes")
    ]
    return (*codes, np.array(case["query_labels"]), np.array(case["db_labels"]))


def _same(name, got, expected):
    if name.startswith("tie_aware") or ":relevant_" in name:
        assert got == pytest.approx(expected, rel=0, abs=1e-14), name
    else:
        assert got == expected, name


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
@pytest.mark.parametrize("backend", ["numpy", "auto"])  # auto: the numba vector kernels (64-bit codes and below)
def test_values_names_and_conventions_unchanged(case, backend):
    assert GOLDEN["metric_version"] == METRIC_VERSION
    args, kw = _inputs(case), dict(n_bits=case["n_bits"], k=case["k"], backend=backend)
    res = evaluate(*args, metrics=ALL, **kw)
    tied = evaluate(*args, ties="relevant_last", metrics=["map@k", "map@all", "map@k:stable"], **kw)
    for got, expected in ((res, case["metrics"][backend]), (tied, case["ties_relevant_last"][backend])):
        assert list(got.metrics) == [name for name, _ in expected]  # names and their order
        for name, value in expected:
            _same(name, got.metrics[name], value)
    assert res.curves == case["curves"]
    assert {**res.conventions, **tied.conventions} == case["conventions"]
    assert list(evaluate(*args, **kw).metrics) == case["default_names"]


def _write() -> None:
    """Recompute the stored outputs with today's evaluator (after a deliberate METRIC_VERSION bump)::

    .venv/bin/python tests/evaluate/test_golden.py
    """
    for case in GOLDEN["cases"]:
        args = _inputs(case)
        for backend in ("numpy", "auto"):
            kw = dict(n_bits=case["n_bits"], k=case["k"], backend=backend)
            res = evaluate(*args, metrics=ALL, **kw)
            tied = evaluate(*args, ties="relevant_last", metrics=["map@k", "map@all", "map@k:stable"], **kw)
            case["metrics"][backend] = [[n, v] for n, v in res.metrics.items()]
            case["ties_relevant_last"][backend] = [[n, v] for n, v in tied.metrics.items()]
        case.update(
            curves=res.curves,
            conventions={**res.conventions, **tied.conventions},
            default_names=list(evaluate(*args, **kw).metrics),
        )
    GOLDEN["metric_version"] = METRIC_VERSION
    (Path(__file__).parent / "golden_metrics.json").write_text(json.dumps(GOLDEN, separators=(",", ":")))


if __name__ == "__main__":
    _write()
