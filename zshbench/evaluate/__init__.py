"""Evaluation of binary codes by Hamming ranking: mAP@k, tie-aware mAP, bounds, PR curves.

Public API::

    from zshbench.evaluate import evaluate, EvalResult, METRIC_VERSION, DEFAULT_METRICS
    res = evaluate(query_codes, db_codes, query_labels, db_labels, k=5000)
    res.metrics["map@5000"]

Definitions are in ``docs/metrics.md``; performance notes in ``docs/performance.md``.
"""

from .core import BACKENDS, EvalResult, evaluate
from .metrics import DEFAULT_METRICS, METRIC_VERSION, TIES

__all__ = ["evaluate", "EvalResult", "METRIC_VERSION", "DEFAULT_METRICS", "TIES", "BACKENDS"]
