"""Metric names, definitions and their aggregation over blocks of queries.

Every scalar metric is the mean over queries of a per-query value (queries without any relevant item count,
with value 0); curves are means of per-query curves. Definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zshbench.errors import UnknownNameError, UserError

from . import ranking

if TYPE_CHECKING:  # the kernels import numba; reading METRIC_VERSION must not
    from .kernels import BlockStats

__all__ = ["METRIC_VERSION", "DEFAULT_METRICS", "TIES", "MetricSpec", "parse_metrics", "Accumulator", "n_grid"]

METRIC_VERSION = "2"  # 2: map@k:relevant_first / :relevant_last are the true bounds over tie orders
TIES = ("stable", "relevant_first", "relevant_last")
DEFAULT_METRICS = ("map@k", "map@all", "tie_aware_map@k", "tie_aware_map@all", "map@k:relevant_first",
                   "map@k:relevant_last", "precision@hamming2", "pr_auc")
_KNOWN = DEFAULT_METRICS + ("map@k:stable", "map@all:relevant_first", "map@all:relevant_last",
                            "precision@hamming<r>")

_BOUND_TEXT = {
    "relevant_first": ("largest", "optimistic", "first", "maximise"),
    "relevant_last": ("smallest", "pessimistic", "last", "minimise"),
}


@dataclass(frozen=True)
class MetricSpec:
    """A resolved metric: ``kind`` in {map, tie_aware_map, precision_hamming, pr_auc}."""

    name: str
    kind: str
    cutoff: int | None = None  # None = whole database
    ties: str = "stable"
    radius: int = 0

    def convention(self) -> str:
        """One-line definition stored with result records."""
        cut = "the whole ranking" if self.cutoff is None else f"the top {self.cutoff} (whole db if smaller)"
        rank = "Ranking by ascending Hamming distance; relevant = shares at least one label with the query; "
        if self.kind == "map" and self.ties == "stable":
            return (rank + f"ties broken by database index. Mean over all queries of AP over {cut}: sum of "
                    "precision@i at relevant positions i divided by the number of relevant items retrieved "
                    "(0 if none).")
        if self.kind == "map":
            most, kind, where, verb = _BOUND_TEXT[self.ties]
            return (rank + f"AP over {cut} as in map (normalised by the relevant items retrieved). Per query the "
                    f"{most} AP over every order of the items inside tie groups ({kind} bound): relevant items "
                    f"{where} inside each tie group, except in the group cut by the cut-off, where the number of "
                    f"relevant items admitted is chosen to {verb} AP. Mean over all queries.")
        if self.kind == "tie_aware_map":
            return (rank + f"exact expectation of AP over {cut} (as in map) when every tie group is ordered "
                    "uniformly at random (He et al., CVPR 2018; hypergeometric sum at the cut-off).")
        if self.kind == "precision_hamming":
            return (f"Mean over all queries of the fraction of relevant items among database items within Hamming "
                    f"distance <= {self.radius}; 0 for a query with no item within that radius.")
        return ("Area under the mean precision-recall curve by Hamming radius 0..n_bits (precision 0 when nothing "
                "is retrieved), trapezoidal rule over recall, starting at the point (recall 0, precision at radius 0).")


def _unknown(name: str) -> UnknownNameError:
    close = difflib.get_close_matches(str(name), _KNOWN, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(f"Unknown metric {name!r}. Known metrics: {', '.join(_KNOWN)} (k is the k= argument, "
                            f"<r> a Hamming radius).{hint}")


def parse_metrics(metrics, k: int, ties: str, n_bits: int) -> list[MetricSpec]:
    """Resolve metric names (generic ``map@k`` or concrete ``map@5000``) into `MetricSpec` objects.

    Raises:
        UserError: unknown name (with a did-you-mean), a concrete cut-off different from ``k``, a bad radius.
    """
    if metrics is None:
        metrics = DEFAULT_METRICS
    if isinstance(metrics, str):
        metrics = [metrics]
    specs: dict[str, MetricSpec] = {}
    for raw in metrics:
        if not isinstance(raw, str):
            raise _unknown(raw)
        name = raw.strip()
        m = re.fullmatch(r"(map|tie_aware_map)@(k|all|\d+)(?::(\w+))?", name)
        if m:
            kind, cut, tie = m.group(1), m.group(2), m.group(3)
            if cut.isdigit() and int(cut) != k:
                raise UserError(f"Metric {name!r} asks for cut-off {cut} but k={k}; pass k={cut} (one cut-off per "
                                "call) or use the generic name 'map@k'.")
            if tie is not None and (kind == "tie_aware_map" or tie not in TIES):
                raise _unknown(name)
            tie = tie or (ties if kind == "map" else "stable")
            cutoff = None if cut == "all" else k
            label = f"{kind}@{'all' if cutoff is None else k}" + ("" if tie == "stable" else f":{tie}")
            specs[label] = MetricSpec(label, kind, cutoff, tie)
            continue
        m = re.fullmatch(r"precision@hamming(\d+)", name)
        if m:
            r = int(m.group(1))
            if r > n_bits:
                raise UserError(f"Metric {name!r}: radius {r} exceeds the code length {n_bits} bits.")
            specs[name] = MetricSpec(name, "precision_hamming", radius=r)
            continue
        if name == "pr_auc":
            specs[name] = MetricSpec(name, "pr_auc")
            continue
        raise _unknown(name)
    if not specs:
        raise UserError("metrics is empty; pass None for the default metrics or a list of names.")
    return list(specs.values())


def n_grid(n_db: int, k: int) -> np.ndarray:
    """Cut-offs N of the precision@N / recall@N curves: 1, 2, 5, 10, 20, 50, ... below n_db, plus k and n_db."""
    vals = {n_db}
    if k < n_db:
        vals.add(k)
    base = 1
    while base < n_db:
        vals.update(v for v in (base, 2 * base, 5 * base) if v < n_db)
        base *= 10
    return np.array(sorted(vals), dtype=np.int64)


class Accumulator:
    """Sums per-query values block by block and produces the final metrics and curves."""

    def __init__(self, specs: list[MetricSpec], n_bits: int, n_db: int, k: int):
        self.specs, self.n_bits, self.n_db, self.k = specs, n_bits, n_db, k
        self.grid = n_grid(n_db, k)
        self.n = 0
        self.sums = {s.name: 0.0 for s in specs}
        self.radius_p = np.zeros(n_bits + 1)
        self.radius_r = np.zeros(n_bits + 1)
        self.pn = np.zeros(self.grid.size)
        self.rn = np.zeros(self.grid.size)

    @property
    def need_stable_k(self) -> bool:
        return any(s.kind == "map" and s.ties == "stable" and s.cutoff is not None for s in self.specs)

    @property
    def need_stable_all(self) -> bool:
        return any(s.kind == "map" and s.ties == "stable" and s.cutoff is None for s in self.specs)

    def add(self, st: BlockStats) -> None:
        """Add the statistics of one block of queries."""
        ha, hr = st.hist_all, st.hist_rel
        self.n += ha.shape[0]
        prec, rec = ranking.radius_pr(ha, hr)
        self.radius_p += prec.sum(axis=0)
        self.radius_r += rec.sum(axis=0)
        exp_rel = ranking.expected_rel_at(ha, hr, self.grid)
        total = hr.sum(axis=1)[:, None]
        self.pn += (exp_rel / self.grid[None, :]).sum(axis=0)
        self.rn += np.where(total > 0, exp_rel / np.maximum(total, 1), 0.0).sum(axis=0)
        for s in self.specs:
            cut = self.n_db if s.cutoff is None else s.cutoff
            if s.kind == "map" and s.ties == "stable":
                vals = st.ap_all if s.cutoff is None else st.ap_k
            elif s.kind == "map":
                vals = ranking.bound_ap(ha, hr, cut, s.ties == "relevant_first")
            elif s.kind == "tie_aware_map":
                vals = ranking.tie_aware_ap(ha, hr, cut)
            elif s.kind == "precision_hamming":
                vals = prec[:, s.radius]
            else:
                continue
            self.sums[s.name] += float(np.sum(vals))

    def curves(self) -> dict[str, dict[str, list[float]]]:
        """Mean curves: ``pr_by_radius``, ``precision_at_n`` and ``recall_at_n``."""
        n = max(self.n, 1)
        return {
            "pr_by_radius": {"radius": list(range(self.n_bits + 1)), "precision": (self.radius_p / n).tolist(),
                             "recall": (self.radius_r / n).tolist()},
            "precision_at_n": {"n": self.grid.tolist(), "precision": (self.pn / n).tolist()},
            "recall_at_n": {"n": self.grid.tolist(), "recall": (self.rn / n).tolist()},
        }

    def metrics(self) -> dict[str, float]:
        """Final scalar metrics, plain Python floats, in the requested order."""
        n = max(self.n, 1)
        out = {}
        for s in self.specs:
            if s.kind == "pr_auc":
                out[s.name] = pr_auc(self.radius_p / n, self.radius_r / n)
            else:
                out[s.name] = float(self.sums[s.name] / n)
        return out


def pr_auc(precision: np.ndarray, recall: np.ndarray) -> float:
    """Trapezoidal area under (recall, precision) points ordered by radius, from (0, precision[0])."""
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64)])
    p = np.concatenate([[precision[0]], np.asarray(precision, dtype=np.float64)])
    return float(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2.0))
