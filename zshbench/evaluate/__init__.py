"""Evaluation of binary codes by Hamming ranking: mAP@k, tie-aware mAP, bounds, PR curves.

Public API::

    from zshbench.evaluate import evaluate, EvalResult, METRIC_VERSION, DEFAULT_METRICS
    res = evaluate(query_codes, db_codes, query_labels, db_labels, k=5000)
    res.metrics["map@5000"]

Definitions are in ``docs/metrics.md``; performance notes in ``docs/performance.md``.

The names are loaded on first use (PEP 562): importing this package, or reading `METRIC_VERSION`, does not
import numba, scipy or torch, so commands that never evaluate (``zshbench --version``, ``zshbench list``,
``zshbench leaderboard``) do not pay for them. torch is imported only by the torch backend or a CUDA device.
"""

from __future__ import annotations

import importlib

__all__ = ["evaluate", "EvalResult", "METRIC_VERSION", "DEFAULT_METRICS", "TIES", "BACKENDS"]

_WHERE = {"evaluate": "core", "EvalResult": "core", "BACKENDS": "core", "METRIC_VERSION": "metrics",
          "DEFAULT_METRICS": "metrics", "TIES": "metrics"}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
