"""Result records as data for a notebook: `to_dataframe` gives one long table (one row per run, retrieval setting
and metric, like mteb's ``BenchmarkResults.to_dataframe()``), from which every table, figure and comparison is a
pivot.

``setting`` is ``U->A`` (unseen queries against the whole database: the headline, the record's ``metrics``) or
one of the record's other ``settings`` (``S->A``, ``U->U``, ``S->S``, ``H``; `zshbench.evaluate.settings`).

pandas is an optional extra (``pip install 'zshbench[results]'``); `to_rows` gives the same rows as plain dicts.

Example:
    >>> import zshbench
    >>> records, problems = zshbench.load_records("leaderboard/results")
    >>> df = zshbench.to_dataframe(records)
    >>> ua = df[(df.setting == "U->A") & (df.metric == "map@5000")]
    >>> ua.pivot_table(index="method", columns="bits", values="value", aggfunc="mean")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zshbench.errors import UserError
from zshbench.records import Record

__all__ = ["to_rows", "to_dataframe", "COLUMNS"]

COLUMNS = (
    "dataset",
    "protocol",
    "protocol_version",
    "method",
    "method_version",
    "config_hash",
    "features",
    "bits",
    "seed",
    "k",
    "setting",
    "metric",
    "value",
    "higher_is_better",
    "identity_hash",
    "path",
)


def to_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One dict per (record, setting, metric) with the `COLUMNS` (deterministic order: records as given, then
    U->A and the record's other settings in `zshbench.records.schema.SETTING_NAMES` order, metrics sorted)."""
    from zshbench.errors import UnknownNameError
    from zshbench.evaluate import get_metric
    from zshbench.leaderboard.tables import features_label
    from zshbench.records.schema import SETTING_NAMES

    def better(name: str) -> bool | None:
        try:
            return bool(get_metric(name).higher_is_better)
        except UnknownNameError:  # a metric of another zshbench version
            return None

    rows = []
    for r in records:
        base = {
            "dataset": r.dataset,
            "protocol": r.protocol["name"],
            "protocol_version": r.protocol["version"],
            "method": r.method,
            "method_version": r.method_version,
            "config_hash": r.config_hash,
            "features": features_label(r),
            "bits": r.n_bits,
            "seed": r.seed,
            "k": r.k,
            "identity_hash": r.identity_hash,
            "path": r.path,
        }
        settings = {"U->A": r.metrics, **{s: (r.settings or {})[s] for s in SETTING_NAMES if s in (r.settings or {})}}
        for setting, metrics in settings.items():
            for name in sorted(metrics):
                row = {"setting": setting, "metric": name, "value": float(metrics[name])}
                rows.append({**base, **row, "higher_is_better": better(name)})
    return [{c: row[c] for c in COLUMNS} for row in rows]


def to_dataframe(records: Iterable[Record]):
    """A pandas DataFrame of `to_rows` (columns `COLUMNS`).

    Raises:
        UserError: pandas is not installed.
    """
    try:
        import pandas as pd
    except ImportError:
        raise UserError(
            "zshbench.to_dataframe needs pandas: pip install 'zshbench[results]' (or pandas); "
            "zshbench.results.to_rows gives the same rows as plain dicts."
        ) from None
    return pd.DataFrame(to_rows(records), columns=list(COLUMNS))
