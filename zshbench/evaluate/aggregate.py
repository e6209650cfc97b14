"""Aggregation over blocks of queries: the mean curves and the registered metrics' sums.

`Accumulator` receives the `BlockStats` of each block of queries (from any backend), adds the per-query values
of every requested metric (see `zshbench.evaluate.metric_registry`) and the curves, and produces the final means.
The order of the floating-point sums depends only on the blocks, so every backend and thread count that uses
the same blocks gives the same bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import ranking
from .metric_registry import MetricSpec, QueryStats

if TYPE_CHECKING:  # the kernels import numba; reading METRIC_VERSION must not
    from .kernels import BlockStats

__all__ = ["Accumulator", "n_grid"]


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
    """Sums per-query values block by block and produces the final metrics and curves.

    Args:
        specs: the resolved metrics (`zshbench.evaluate.metrics.parse_metrics`).
        n_bits: code length K.
        n_db: database size N.
        k: the cut-off of the evaluation (also a point of the precision@N / recall@N grid).
    """

    def __init__(self, specs: list[MetricSpec], n_bits: int, n_db: int, k: int, keep: tuple[str, ...] = ()):
        self.specs, self.n_bits, self.n_db, self.k = specs, n_bits, n_db, k
        # per-query values kept for these metrics (the significance tests pair methods query by query)
        self.kept: dict[str, list[np.ndarray]] = {name: [] for name in keep}
        self.grid = n_grid(n_db, k)
        self.n = 0
        self.sums = {s.name: 0.0 for s in specs if not s.metric.at_end}
        self.radius_p = np.zeros(n_bits + 1)
        self.radius_r = np.zeros(n_bits + 1)
        self.pn = np.zeros(self.grid.size)
        self.rn = np.zeros(self.grid.size)

    @property
    def need_stable_k(self) -> bool:
        """Some metric reads stable AP at the ``k=`` cut-off: the kernels must compute ``BlockStats.ap_k``."""
        return any(s.needs("stable_ap") and s.cutoff is not None for s in self.specs)

    @property
    def need_stable_all(self) -> bool:
        """Some metric reads stable AP over the whole ranking: the kernels must compute ``BlockStats.ap_all``."""
        return any(s.needs("stable_ap") and s.cutoff is None for s in self.specs)

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
        stats = QueryStats(ha, hr, prec, rec, st.ap_k, st.ap_all, self.n_db, self.n_bits)
        for s in self.specs:
            if s.name in self.sums:
                values = s.per_query(stats)
                self.sums[s.name] += float(np.sum(values))
                if s.name in self.kept:
                    self.kept[s.name].append(np.asarray(values, dtype=np.float64).copy())

    def curves(self) -> dict[str, dict[str, list[float]]]:
        """Mean curves: ``pr_by_radius``, ``precision_at_n`` and ``recall_at_n``."""
        n = max(self.n, 1)
        return {
            "pr_by_radius": {
                "radius": list(range(self.n_bits + 1)),
                "precision": (self.radius_p / n).tolist(),
                "recall": (self.radius_r / n).tolist(),
            },
            "precision_at_n": {"n": self.grid.tolist(), "precision": (self.pn / n).tolist()},
            "recall_at_n": {"n": self.grid.tolist(), "recall": (self.rn / n).tolist()},
        }

    def per_query(self) -> dict[str, np.ndarray]:
        """The kept metrics' per-query values (n_query,), in query order; their means are the metrics."""
        return {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in self.kept.items()}

    def metrics(self) -> dict[str, float]:
        """Final scalar metrics, plain Python floats, in the requested order."""
        n = max(self.n, 1)
        curves = self.curves() if any(s.metric.at_end for s in self.specs) else None
        return {s.name: s.from_curves(curves) if s.metric.at_end else float(self.sums[s.name] / n) for s in self.specs}
