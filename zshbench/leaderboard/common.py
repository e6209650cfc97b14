"""Helpers shared by the leaderboard's tables and the reported-numbers section."""

from __future__ import annotations

import math
from collections import defaultdict

__all__ = ["mean_std", "row_labels"]


def mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def row_labels(records: list[dict]) -> dict[int, str]:
    """Row label of each record: the method, plus the config hash when the method has several configs."""
    configs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in records:
        configs[(r["dataset"], r["protocol"]["name"], r["method"])].add(r["config_hash"])
    out = {}
    for i, r in enumerate(records):
        many = len(configs[(r["dataset"], r["protocol"]["name"], r["method"])]) > 1
        out[i] = f"{r['method']} [{r['config_hash'][:6]}]" if many else r["method"]
    return out
