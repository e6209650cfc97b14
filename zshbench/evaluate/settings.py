"""Four retrieval settings of one run, from the same codes (the database is encoded once).

* ``U->A``: unseen-class queries against the whole database, the papers' setting and the headline;
* ``S->A``: held-out seen-class queries against the whole database (the generalized setting: does the index
  still serve the classes it was trained on?);
* ``U->U``: unseen queries against the unseen part of the database;
* ``S->S``: seen queries against the seen part of the database;
* ``H``: the harmonic mean of U->A and S->A, per metric, as generalized zero-shot learning reports it
  (Xian et al., TPAMI 2019): 2 a b / (a + b), 0 when both are 0.

S->A, S->S and H need the protocol's held-out seen queries (``Split.seen_query``); protocols without them give
U->A and U->U. The ``leaky`` variant reproduces the published COMAE/PIXEL code's mistake for measurement only:
the unseen queries are also put in the database of U->A (each query then finds itself at distance 0); it is
never used for the leaderboard's tables (`zshbench.leaderboard` shows it in "protocol effects" only).

Per-query values of the headline metric and map@all are kept for every setting (`SettingsResult.per_query`),
keyed ``"<tag>.<metric>"`` with tags ``ua``, ``sa``, ``uu``, ``ss``, plus ``"<tag>.query_index"`` (the queries'
dataset indices): the significance tests pair methods query by query (`zshbench.stats`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from zshbench.evaluate import HEADLINE_K

__all__ = ["SETTINGS", "TAGS", "VARIANTS", "SettingsResult", "evaluate_settings", "harmonic_mean", "settings_of"]

SETTINGS = ("U->A", "S->A", "U->U", "S->S")
TAGS = {"U->A": "ua", "S->A": "sa", "U->U": "uu", "S->S": "ss"}
VARIANTS = ("standard", "leaky")


def settings_of(has_seen_queries: bool) -> list[str]:
    """The settings a run evaluates: all four with held-out seen queries, else U->A and U->U."""
    return list(SETTINGS) if has_seen_queries else ["U->A", "U->U"]


def harmonic_mean(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Per metric present in both: 2ab/(a+b) (0 when both are 0)."""
    return {m: (2 * a[m] * b[m] / (a[m] + b[m]) if a[m] + b[m] > 0 else 0.0) for m in a if m in b}


@dataclasses.dataclass
class SettingsResult:
    """The headline evaluation (U->A: metrics, curves, conventions), the other settings' metrics, H, and the
    per-query values (see the module docstring)."""

    headline: Any  # the EvalResult of U->A
    settings: dict[str, dict[str, float]]  # "S->A", "U->U", "S->S", "H" -> metrics (U->A is ``headline``)
    per_query: dict[str, np.ndarray]


def evaluate_settings(
    codes_query: np.ndarray,
    codes_db: np.ndarray,
    labels_query: np.ndarray,
    labels_db: np.ndarray,
    *,
    unseen_classes: np.ndarray,
    n_bits: int,
    k: int = HEADLINE_K,
    codes_seen_query: np.ndarray | None = None,
    labels_seen_query: np.ndarray | None = None,
    index_query: np.ndarray | None = None,
    index_seen_query: np.ndarray | None = None,
    variant: str = "standard",
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> SettingsResult:
    """Evaluate the settings of one run (see the module docstring).

    Args:
        codes_query, labels_query: the unseen queries' codes and labels.
        codes_db, labels_db: the database's (encoded once).
        unseen_classes: the protocol's unseen class indices (the database's unseen part).
        codes_seen_query, labels_seen_query: the held-out seen queries (None or empty: no seen settings).
        index_query, index_seen_query: dataset indices of the queries (stored with the per-query values).
        variant: "standard" or "leaky" (U->A only, the queries also in its database).
    """
    from zshbench.evaluate import HEADLINE_METRIC, evaluate

    if variant not in VARIANTS:
        from zshbench.errors import UserError

        raise UserError(f"Unknown evaluation variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    keep = (HEADLINE_METRIC.replace(str(HEADLINE_K), str(k)), "map@all")
    unseen_db = np.isin(labels_db, unseen_classes)
    has_seen = codes_seen_query is not None and len(codes_seen_query) > 0
    per_query: dict[str, np.ndarray] = {}

    def run(tag, cq, cdb, lq, ldb, idx, **kw):
        res = evaluate(cq, cdb, lq, ldb, n_bits=n_bits, k=k, device=device, per_query=keep, **kw)
        for m, v in res.per_query.items():
            per_query[f"{tag}.{m}"] = v
        per_query[f"{tag}.query_index"] = np.asarray(idx if idx is not None else np.arange(len(cq)), dtype=np.int64)
        return res

    if variant == "leaky":  # the published code's mistake, measured: the queries are in the database too
        head = run(
            "ua",
            codes_query,
            np.concatenate([codes_db, codes_query]),
            labels_query,
            np.concatenate([labels_db, labels_query]),
            index_query,
            progress=progress,
        )
        return SettingsResult(head, {}, per_query)
    head = run("ua", codes_query, codes_db, labels_query, labels_db, index_query, progress=progress)
    settings: dict[str, dict[str, float]] = {}
    settings["U->U"] = run(
        "uu", codes_query, codes_db[unseen_db], labels_query, labels_db[unseen_db], index_query
    ).metrics
    if has_seen:
        settings["S->A"] = run("sa", codes_seen_query, codes_db, labels_seen_query, labels_db, index_seen_query).metrics
        settings["S->S"] = run(
            "ss", codes_seen_query, codes_db[~unseen_db], labels_seen_query, labels_db[~unseen_db], index_seen_query
        ).metrics
        settings["H"] = harmonic_mean(head.metrics, settings["S->A"])
    return SettingsResult(head, settings, per_query)
