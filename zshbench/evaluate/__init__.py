"""Evaluation of binary codes by Hamming ranking: mAP@k, tie-aware mAP, bounds, PR curves.

Public API::

    from zshbench.evaluate import evaluate, EvalResult, METRIC_VERSION, DEFAULT_METRICS, HEADLINE_METRIC
    res = evaluate(query_codes, db_codes, query_labels, db_labels, k=HEADLINE_K)
    res.metrics[HEADLINE_METRIC]  # "map@5000"

Definitions are in ``docs/metrics.md``; performance notes in ``docs/performance.md``. A metric is one function
registered with `register_metric` (see `zshbench.evaluate.metric_registry` and "Adding a metric" in
``docs/metrics.md``).

The headline number of the benchmark, used for defaults, leaderboards and figures:

* `HEADLINE_K` = 5000: the default cut-off ``k`` of `evaluate`, ``zshbench run`` and ``zshbench evaluate``;
* `HEADLINE_METRIC` = ``"map@5000"``: the metric that ranks methods (stable ``map@k`` at `HEADLINE_K`).

The other names are loaded on first use (PEP 562): importing this package, or reading `METRIC_VERSION` or the
headline constants, does not import numba, scipy or torch, so commands that never evaluate (``zshbench
--version``, ``zshbench list``, ``zshbench leaderboard``) do not pay for them. torch is imported only by the
torch backend or a CUDA device.
"""

from __future__ import annotations

import importlib

__all__ = [
    "evaluate",
    "EvalResult",
    "METRIC_VERSION",
    "DEFAULT_METRICS",
    "TIES",
    "BACKENDS",
    "HEADLINE_K",
    "HEADLINE_METRIC",
    "register_metric",
    "unregister_metric",
    "list_metrics",
    "get_metric",
    "QueryStats",
]

HEADLINE_K = 5000
HEADLINE_METRIC = f"map@{HEADLINE_K}"

_WHERE = {
    "evaluate": "core",
    "EvalResult": "core",
    "BACKENDS": "core",
    "METRIC_VERSION": "metrics",
    "DEFAULT_METRICS": "metrics",
    "TIES": "metrics",
    "register_metric": "metric_registry",
    "unregister_metric": "metric_registry",
    "list_metrics": "metric_registry",
    "get_metric": "metric_registry",
    "QueryStats": "metric_registry",
}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _CallablePackage(type(importlib)):
    """``zshbench.evaluate`` is both this package and, for the public API (``zshbench.evaluate(...)``), the
    function `evaluate`: Python binds a sub-package to its parent's attribute of the same name, so the package
    itself forwards calls to the function."""

    def __call__(self, *args, **kwargs):
        return self.evaluate(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallablePackage
