"""The built-in metrics, each one function registered with `register_metric`, and the names they answer to.

Every scalar metric is the mean over queries of a per-query value (queries without any relevant item count,
with value 0), except ``pr_auc``, which is computed from the mean curve. Definitions: ``docs/metrics.md``; how
to add a metric: its section "Adding a metric" and `zshbench.evaluate.metric_registry`.
"""

from __future__ import annotations

import numpy as np

from zshbench.errors import UserError

from . import ranking
from .metric_registry import MetricSpec, QueryStats, register_metric, resolve_metric, unknown_metric

__all__ = ["METRIC_VERSION", "DEFAULT_METRICS", "TIES", "parse_metrics", "pr_auc"]

METRIC_VERSION = "2"  # 2: map@k:relevant_first / :relevant_last are the true bounds over tie orders
TIES = ("stable", "relevant_first", "relevant_last")
DEFAULT_METRICS = (
    "map@k",
    "map@all",
    "tie_aware_map@k",
    "tie_aware_map@all",
    "map@k:relevant_first",
    "map@k:relevant_last",
    "precision@hamming2",
    "pr_auc",
)

_RANK = "Ranking by ascending Hamming distance; relevant = shares at least one label with the query; "
_BOUND_TEXT = {
    "relevant_first": ("largest", "optimistic", "first", "maximise"),
    "relevant_last": ("smallest", "pessimistic", "last", "minimise"),
}


def _cut(k: int | None) -> str:
    return "the whole ranking" if k is None else f"the top {k} (whole db if smaller)"


def parse_metrics(metrics, k: int, ties: str, n_bits: int) -> list[MetricSpec]:
    """Resolve metric names (generic ``map@k`` or concrete ``map@5000``) into `MetricSpec` objects.

    Names are stripped of surrounding spaces; a name given twice (``map@k`` and ``map@5000``) is computed once.

    Args:
        metrics: names, one name, or None for `DEFAULT_METRICS`.
        k: the cut-off of the evaluation.
        ties: the tie order of ``map@k`` / ``map@all`` ("stable", "relevant_first" or "relevant_last").
        n_bits: the code length.

    Raises:
        UserError: unknown name (with a did-you-mean), a concrete cut-off different from ``k``, a bad radius,
            no name at all.
    """
    if metrics is None:
        metrics = DEFAULT_METRICS
    if isinstance(metrics, str):
        metrics = [metrics]
    specs: dict[str, MetricSpec] = {}
    for raw in metrics:
        if not isinstance(raw, str):
            raise unknown_metric(raw, DEFAULT_METRICS)
        spec = resolve_metric(raw.strip(), k, ties, n_bits, DEFAULT_METRICS)
        specs[spec.name] = spec
    if not specs:
        raise UserError("metrics is empty; pass None for the default metrics or a list of names.")
    return list(specs.values())


def pr_auc(precision, recall) -> float:
    """Trapezoidal area under (recall, precision) points ordered by radius, from (0, precision[0])."""
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64)])
    p = np.concatenate([[precision[0]], np.asarray(precision, dtype=np.float64)])
    return float(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2.0))


# ------------------------------------------------------------------------------------------ the built-in metrics
# Registration order is the order of the generic names in the unknown-metric message.


@register_metric(
    "map@{k}",
    needs=("histograms", "stable_ap"),
    follows_ties=True,
    aliases=("map@{k}:stable",),
    convention=lambda k: (
        _RANK + f"ties broken by database index. Mean over all queries of AP over "
        f"{_cut(k)}: sum of precision@i at relevant positions i divided by the "
        "number of relevant items retrieved (0 if none)."
    ),
)
def map_at_k(stats: QueryStats, k: int | None) -> np.ndarray:
    """AP over the top k (hashing normaliser: the relevant items retrieved), ties broken by database index."""
    return stats.stable_ap(k)


@register_metric(
    "tie_aware_map@{k}",
    convention=lambda k: (
        _RANK + f"exact expectation of AP over {_cut(k)} (as in map) when every tie "
        "group is ordered uniformly at random (He et al., CVPR 2018; hypergeometric "
        "sum at the cut-off)."
    ),
)
def tie_aware_map(stats: QueryStats, k: int | None) -> np.ndarray:
    """Expected AP over the top k when every tie group is in uniformly random order (`ranking.tie_aware_ap`)."""
    return ranking.tie_aware_ap(stats.hist_all, stats.hist_rel, stats.cut(k))


def _bound_convention(ties: str):
    most, kind, where, verb = _BOUND_TEXT[ties]
    return lambda k: (
        _RANK + f"AP over {_cut(k)} as in map (normalised by the relevant items retrieved). Per query "
        f"the {most} AP over every order of the items inside tie groups ({kind} bound): relevant "
        f"items {where} inside each tie group, except in the group cut by the cut-off, where the "
        f"number of relevant items admitted is chosen to {verb} AP. Mean over all queries."
    )


@register_metric("map@{k}:relevant_first", convention=_bound_convention("relevant_first"))
def map_optimistic(stats: QueryStats, k: int | None) -> np.ndarray:
    """The largest AP over the top k over every order inside tie groups (`ranking.bound_ap`)."""
    return ranking.bound_ap(stats.hist_all, stats.hist_rel, stats.cut(k), True)


@register_metric("map@{k}:relevant_last", convention=_bound_convention("relevant_last"))
def map_pessimistic(stats: QueryStats, k: int | None) -> np.ndarray:
    """The smallest AP over the top k over every order inside tie groups (`ranking.bound_ap`)."""
    return ranking.bound_ap(stats.hist_all, stats.hist_rel, stats.cut(k), False)


@register_metric(
    "precision@hamming{r}",
    convention="Mean over all queries of the fraction of relevant items among database items within "
    "Hamming distance <= {r}; 0 for a query with no item within that radius.",
)
def precision_at_hamming(stats: QueryStats, r: int) -> np.ndarray:
    """Precision of retrieving every item within Hamming radius r (0 when nothing is retrieved)."""
    return stats.radius_precision[:, r]


@register_metric(
    "pr_auc",
    needs=("curves",),
    convention="Area under the mean precision-recall curve by Hamming radius 0..n_bits (precision 0 "
    "when nothing is retrieved), trapezoidal rule over recall, starting at the point (recall "
    "0, precision at radius 0).",
)
def pr_auc_metric(curves: dict) -> float:
    """`pr_auc` of the mean ``pr_by_radius`` curve."""
    pr = curves["pr_by_radius"]
    return pr_auc(pr["precision"], pr["recall"])
