"""Significance of differences between methods, from the per-query results stored beside every record.

Two rows (method configs) of one cell (dataset, protocol, code length, evaluation) are compared query by query:
every record keeps, per retrieval setting, the AP of each query (`zshbench.records.load_per_query`), keyed by
the queries' dataset indices. The protocol fixes the queries, so every seed of every method answers the *same*
queries; a query is the unit of observation and the seeds are strata (never resampled).
This module is longer than 450 lines because the per-query loading with its validation, the two procedures
(bootstrap, sign flip), Holm and the column marks share one set of checks and documented conventions.

For rows A and B with seeds s = 1..S and queries q = 1..Q:

* ``d[s, q] = AP_A[s, q] - AP_B[s, q]``, and ``dbar[q]`` = its mean over the seeds;
* the **mean difference** ``mean_q dbar[q]`` equals (mean over seeds of A's mAP) - (B's): the difference of
  the two leaderboard cells;
* the **bootstrap interval** resamples the queries with replacement (`BOOTSTRAP_DRAWS` draws, percentile
  interval, RNG seeded with `RNG_SEED`); one draw of query indices is applied to every seed (the seeds stay
  as strata and are averaged), because a query that is hard for A under one seed is hard under the others:
  drawing the queries independently per seed would treat S x Q correlated values as independent and give
  intervals that are too narrow;
* the **p-value** is a sign-flip permutation test of ``mean_q dbar[q]`` (`PERMUTATIONS` random sign vectors,
  p = (count + 1) / (draws + 1), `scipy.stats.permutation_test`'s convention; exact enumeration when
  2^Q <= draws). Null hypothesis: for every query, the seed-averaged AP of A and of B are exchangeable (the
  distribution of ``dbar[q]`` is symmetric about 0); the test is exact under it and asymptotically valid for
  the weaker null "the expected per-query difference, i.e. the mAP difference on the query population, is 0".
  It tests the mean, the quantity reported (a Wilcoxon test would test the median of skewed AP differences,
  which can disagree in sign with the mAP difference).

The inference is conditional on the seeds that ran: it says whether A beats B on this query population with
these trained models, not over the training randomness (`Comparison.seed_diffs` shows the per-seed picture).

`tied_with_best` marks the rows of a leaderboard column that are not significantly worse than its best:
one-sided tests of best vs each other row, Holm-adjusted over the column at `ALPHA`. See docs/metrics.md,
"Significance".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zshbench.errors import RecordError, UserError, close_matches

__all__ = [
    "ALPHA",
    "LEVEL",
    "BOOTSTRAP_DRAWS",
    "PERMUTATIONS",
    "RNG_SEED",
    "PerQuery",
    "Comparison",
    "Ties",
    "setting_tag",
    "cell_key",
    "row_key",
    "bootstrap_interval",
    "sign_flip_pvalue",
    "holm",
    "compare",
    "compare_records",
    "tied_with_best",
]

ALPHA = 0.05  # significance level of every verdict and of the tied-with-best marks
LEVEL = 0.95  # confidence level of the bootstrap interval
BOOTSTRAP_DRAWS = 10_000  # B: query resamples of the bootstrap interval
PERMUTATIONS = 9_999  # random sign vectors of the sign-flip test (p-values are multiples of 1/10,000)
RNG_SEED = 0  # the fixed seed of both (the same inputs always give the same numbers)
_CHUNK = 1_000  # draws per chunk (memory: chunk x Q floats)


# -- per-query values of one row ---------------------------------------------------------------------------------
def setting_tag(setting: str) -> str:
    """The sidecar tag of a retrieval setting: "U->A", "u->a", "UA", "ua" -> "ua" ("U->A" needs quotes in a shell)."""
    from zshbench.evaluate.settings import TAGS

    norm = "".join(c for c in str(setting).lower() if c.isalpha())
    if norm in TAGS.values():
        return norm
    raise UserError(
        f"Unknown retrieval setting {setting!r}.{close_matches(setting, TAGS)} Expected one of "
        f"{', '.join(TAGS)} (or their tags {', '.join(TAGS.values())}; quote 'U->A' in a shell, where > redirects)."
    )


def _setting_name(tag: str) -> str:
    from zshbench.evaluate.settings import TAGS

    return {t: s for s, t in TAGS.items()}[tag]


def cell_key(record) -> dict[str, Any]:
    """What two rows must share to be compared: dataset (content), protocol (version and content), code length
    and evaluation (k, metric version, variant), from the record's identity."""
    ident = record.identity
    return {
        "dataset": ident.get("dataset"),
        "protocol": ident.get("protocol"),
        "n_bits": record.n_bits,
        "evaluation": ident.get("evaluation"),
    }


def row_key(record) -> dict[str, Any]:
    """What makes one row (one method config) of a cell: method and version, config hash, features, world size."""
    ident = record.identity
    return {
        "method": record.method,
        "method_version": record.method_version,
        "config_hash": record.config_hash,
        "features": ident.get("features"),
        "world_size": ident.get("world_size"),
    }


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    from zshbench.records import identity_difference

    return "; ".join(identity_difference(a, b)[:4])


@dataclasses.dataclass(frozen=True)
class PerQuery:
    """The per-query values of one row in one cell: ``values[s, q]`` for ``seeds[s]`` and ``query_index[q]``.

    ``query_index`` is sorted, so two rows of one cell line up column by column. ``cell`` and ``row`` are the
    records' `cell_key` and `row_key` (empty for synthetic values); ``label`` names the row in messages.
    """

    seeds: tuple[int, ...]
    query_index: np.ndarray  # (Q,) int64, sorted, unique
    values: np.ndarray  # (S, Q) float64
    label: str = ""
    cell: dict = dataclasses.field(default_factory=dict)
    row: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        v = np.asarray(self.values, dtype=np.float64)
        qi = np.asarray(self.query_index, dtype=np.int64).reshape(-1)
        if v.ndim != 2 or v.shape != (len(self.seeds), len(qi)) or len(qi) == 0:
            raise UserError(
                f"{self.label or 'PerQuery'}: values must be (seeds, queries) = ({len(self.seeds)}, {len(qi)}) "
                f"with at least one query, got shape {v.shape}."
            )
        if np.any(np.diff(qi) <= 0):
            raise UserError(
                f"{self.label or 'PerQuery'}: query_index must be sorted and unique (one column per query, in "
                "the order of the dataset indices), so two rows line up query by query."
            )
        if not np.all(np.isfinite(v)):
            raise UserError(f"{self.label or 'PerQuery'}: per-query values must be finite; found NaN or inf.")
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "query_index", qi)

    @property
    def mean(self) -> float:
        """Mean over seeds of the per-seed mean over queries: the leaderboard cell's mean."""
        return float(self.values.mean())

    @property
    def query_means(self) -> np.ndarray:
        """(Q,) the values averaged over the seeds."""
        return self.values.mean(axis=0)

    @classmethod
    def from_records(cls, records: Sequence[Any], metric: str | None = None, setting: str = "U->A", label: str = ""):
        """The per-query ``metric`` of ``setting`` of the records of one row (one per seed).

        Args:
            records: `zshbench.records.Record` objects loaded from files, one per seed, of one row in one cell.
            metric: a per-query metric (``map@<k>`` or ``map@all``); default: the records' headline ``map@<k>``.
            setting: "U->A" (default), "S->A", "U->U", "S->S" or a tag ("ua", ...).
            label: the row's name in messages (default: the method).

        Raises:
            UserError: no records; records of different rows or cells (naming the difference); two records of
                one seed; a setting or metric the sidecars lack; seeds evaluating different queries.
            RecordError: a record without per-query results, or a missing or damaged sidecar.
        """
        from zshbench.records import load_per_query

        records = sorted(records, key=lambda r: r.seed)
        if not records:
            raise UserError("PerQuery.from_records needs at least one record (one per seed).")
        first = records[0]
        label = label or first.method
        metric = metric or f"map@{first.k}"
        tag = setting_tag(setting)
        key0 = {**cell_key(first), **row_key(first)}
        seen: dict[int, Any] = {}
        rows, index = [], None
        for r in records:
            diff = _differences(key0, {**cell_key(r), **row_key(r)})
            if diff:
                raise UserError(
                    f"{label}: the records {first.path} and {r.path} are not one row of one cell (they differ in "
                    f"{diff}); pass the records of one method config, dataset, protocol, code length and evaluation."
                )
            if r.seed in seen:
                raise UserError(
                    f"{label}: two records of seed {r.seed} ({seen[r.seed].path} and {r.path}); keep one of them "
                    "(the folder holds a copy of a run)."
                )
            seen[r.seed] = r
            arrays = load_per_query(r)
            name, qkey = f"{tag}.{metric}", f"{tag}.query_index"
            if name not in arrays or qkey not in arrays:
                have_tags = sorted({k.split(".", 1)[0] for k in arrays})
                have_metrics = sorted({k.split(".", 1)[1] for k in arrays if k.startswith(f"{tag}.")} - {"query_index"})
                settings = ", ".join(_setting_name(t) for t in have_tags if t in ("ua", "sa", "uu", "ss"))
                if tag not in have_tags:
                    raise UserError(
                        f"{r.path}: has no per-query results for setting {_setting_name(tag)} (it has {settings}; "
                        "S->A and S->S need a protocol with held-out seen queries); choose one of those."
                    )
                raise UserError(
                    f"{r.path}: per-query results hold {', '.join(have_metrics)}, not {metric!r}; choose one of "
                    "those (per-query values are kept for the headline map@k and map@all only)."
                )
            qi, v = np.asarray(arrays[qkey], dtype=np.int64), np.asarray(arrays[name], dtype=np.float64)
            if qi.shape != v.shape or qi.ndim != 1 or len(np.unique(qi)) != len(qi) or not np.all(np.isfinite(v)):
                raise RecordError(
                    f"{r.path}: its per-query arrays {name} and {qkey} are inconsistent (shapes {v.shape} and "
                    f"{qi.shape}, repeated query indices or non-finite values); rerun the run (--force)."
                )
            order = np.argsort(qi, kind="stable")
            if index is None:
                index = qi[order]
            elif not np.array_equal(index, qi[order]):
                raise UserError(
                    f"{label}: seed {r.seed} evaluated other queries than seed {first.seed} ({len(qi)} vs "
                    f"{len(index)} queries, {len(np.setxor1d(index, qi))} not shared), although the protocol fixes "
                    "them; the records come from different protocol files: rerun them with one protocol."
                )
            rows.append(v[order])
        return cls(
            seeds=tuple(sorted(seen)),
            query_index=index,
            values=np.stack(rows),
            label=label,
            cell=cell_key(first),
            row=row_key(first),
        )


# -- the two procedures --------------------------------------------------------------------------------------------
def bootstrap_interval(
    d: np.ndarray, *, level: float = LEVEL, draws: int = BOOTSTRAP_DRAWS, seed: int = RNG_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean of ``d`` over its last axis (the queries).

    Each draw resamples the Q queries with replacement; the same draws serve every leading index, so a batch
    of rows gives the same intervals as one call per row.

    Args:
        d: (..., Q) seed-averaged per-query differences.
        level: the confidence level (default 0.95).
        draws: B, the number of resamples.
        seed: the RNG seed.

    Returns:
        (low, high), each of shape ``d.shape[:-1]`` (floats for a 1-D ``d``).
    """
    d = np.asarray(d, dtype=np.float64)
    n = d.shape[-1]
    if not 0 < level < 1 or draws < 1 or n < 1:
        raise UserError(f"bootstrap_interval needs 0 < level < 1, draws >= 1 and queries; got {level}, {draws}, {n}.")
    rng = np.random.default_rng(seed)
    means = np.empty(d.shape[:-1] + (draws,))
    for start in range(0, draws, _CHUNK):
        c = min(_CHUNK, draws - start)
        idx = rng.integers(0, n, size=(c, n))
        counts = np.bincount((idx + n * np.arange(c)[:, None]).ravel(), minlength=c * n).reshape(c, n)
        means[..., start : start + c] = d @ counts.T / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail], axis=-1)
    return (float(low), float(high)) if d.ndim == 1 else (low, high)


def _sign_vectors(n: int, draws: int, rng: np.random.Generator):
    """Chunks of sign matrices: every one of the 2^n vectors when 2^n <= draws (exact test), else ``draws``
    random ones."""
    if n <= 20 and 2**n <= draws:
        codes = np.arange(2**n)
        yield 1.0 - 2.0 * ((codes[:, None] >> np.arange(n)) & 1)
        return
    for start in range(0, draws, _CHUNK):
        c = min(_CHUNK, draws - start)
        yield rng.integers(0, 2, size=(c, n)).astype(np.float64) * 2.0 - 1.0


def sign_flip_pvalue(
    d: np.ndarray, *, alternative: str = "two-sided", permutations: int = PERMUTATIONS, seed: int = RNG_SEED
) -> np.ndarray | float:
    """Sign-flip permutation test of the mean of ``d`` over its last axis (the queries).

    Null hypothesis: each value is as likely to be negated (the two rows are exchangeable per query). With
    2^Q > ``permutations`` the null distribution is ``permutations`` random sign vectors and
    p = (count + 1) / (permutations + 1) (never 0); otherwise every sign vector is enumerated and p is exact.
    "greater" tests mean > 0, "less" mean < 0, "two-sided" is twice the smaller one-sided p (at most 1): the
    conventions of `scipy.stats.permutation_test`, which gives the same p-values (tests/test_stats.py).

    Args:
        d: (..., Q) seed-averaged per-query differences; leading axes are tested independently with the same
            sign vectors (one call per row gives the same p-values).
        alternative: "two-sided", "greater" or "less".
        permutations: the number of random sign vectors.
        seed: the RNG seed.

    Returns:
        The p-value(s), shape ``d.shape[:-1]``.
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise UserError(f"Unknown alternative {alternative!r}; choose two-sided, greater or less.")
    d = np.asarray(d, dtype=np.float64)
    n = d.shape[-1]
    if n < 1 or permutations < 1:
        raise UserError(f"sign_flip_pvalue needs at least one query and one permutation; got {n} and {permutations}.")
    observed = d.sum(axis=-1)
    tol = 1e-9 * np.abs(d).sum(axis=-1)  # sums of the same terms in another order differ by rounding only
    ge = np.zeros(d.shape[:-1])
    le = np.zeros(d.shape[:-1])
    total = 0
    exact = n <= 20 and 2**n <= permutations
    for signs in _sign_vectors(n, permutations, np.random.default_rng(seed)):
        null = d @ signs.T  # (..., chunk)
        ge += (null >= (observed - tol)[..., None]).sum(axis=-1)
        le += (null <= (observed + tol)[..., None]).sum(axis=-1)
        total += len(signs)
    if exact:
        p_ge, p_le = ge / total, le / total
    else:
        p_ge, p_le = (ge + 1) / (total + 1), (le + 1) / (total + 1)
    p = {"greater": p_ge, "less": p_le}.get(alternative)
    if p is None:
        p = np.minimum(1.0, 2 * np.minimum(p_ge, p_le))
    return float(p) if d.ndim == 1 else p


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (reject hypothesis i at level alpha iff adjusted[i] <= alpha)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


# -- paired comparison of two rows ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Comparison:
    """The paired comparison of rows A and B (see the module docstring for each quantity)."""

    label_a: str
    label_b: str
    seeds: tuple[int, ...]
    n_queries: int
    mean_a: float  # the leaderboard cell of A (mean over seeds of the mean over queries)
    mean_b: float
    diff: float  # mean_a - mean_b
    ci_low: float  # percentile bootstrap interval of diff at `level`
    ci_high: float
    p_value: float  # sign-flip test of diff (`alternative`)
    seed_diffs: tuple[float, ...]  # per seed: A's mean over queries - B's
    alternative: str = "two-sided"
    level: float = LEVEL
    alpha: float = ALPHA
    draws: int = BOOTSTRAP_DRAWS
    permutations: int = PERMUTATIONS

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    @property
    def p_floor(self) -> float:
        """The smallest p-value the test can give (with these many random sign vectors, or exactly)."""
        sides = 2.0 if self.alternative == "two-sided" else 1.0
        if self.n_queries <= 20 and 2**self.n_queries <= self.permutations:
            return sides / 2**self.n_queries
        return sides / (self.permutations + 1)

    def p_text(self) -> str:
        if self.p_value <= self.p_floor * (1 + 1e-9):
            return f"p <= {self.p_floor:.2g}"
        return f"p = {self.p_value:.4f}" if self.p_value >= 1e-4 else f"p = {self.p_value:.1e}"

    def verdict(self) -> str:
        """One line: which row is better at `alpha`, or that the difference is not significant."""
        a, b = self.label_a, self.label_b
        if not self.significant:
            return f"no significant difference between {a} and {b} at alpha = {self.alpha:g} ({self.p_text()})."
        winner, loser = (a, b) if self.diff > 0 else (b, a)
        text = f"{winner} is better than {loser} at alpha = {self.alpha:g} ({self.p_text()})."
        against = [s for s, x in zip(self.seeds, self.seed_diffs) if x * self.diff < 0]
        if against:
            which = ", ".join(map(str, against))
            text += (
                f" Caution: on seed{'s' if len(against) > 1 else ''} {which} on its own the difference has the "
                "other sign; the test treats the seeds as fixed, so more seeds would tell whether it holds."
            )
        return text


def _check_pair(a: PerQuery, b: PerQuery, *, same_seeds: bool) -> None:
    na, nb = a.label or "A", b.label or "B"
    if a.cell and b.cell and a.cell != b.cell:
        raise UserError(
            f"{na} and {nb} are not in one cell (they differ in {_differences(a.cell, b.cell)}); compare rows of one "
            "dataset, protocol version, code length and evaluation."
        )
    if same_seeds and a.seeds != b.seeds:
        only_a, only_b = sorted(set(a.seeds) - set(b.seeds)), sorted(set(b.seeds) - set(a.seeds))
        raise UserError(
            f"{na} has seeds {', '.join(map(str, a.seeds))} and {nb} has {', '.join(map(str, b.seeds))}"
            + (f" (only {na}: {', '.join(map(str, only_a))})" if only_a else "")
            + (f" (only {nb}: {', '.join(map(str, only_b))})" if only_b else "")
            + "; a paired comparison needs the same seeds: run the missing ones or keep the common seeds."
        )
    if not np.array_equal(a.query_index, b.query_index):
        shared = len(np.intersect1d(a.query_index, b.query_index))
        raise UserError(
            f"{na} evaluated {len(a.query_index)} queries and {nb} {len(b.query_index)}, {shared} of them shared; "
            "a paired comparison needs the same queries (the same protocol version): rerun one of them."
        )


def compare(
    a: PerQuery,
    b: PerQuery,
    *,
    alternative: str = "two-sided",
    level: float = LEVEL,
    alpha: float = ALPHA,
    draws: int = BOOTSTRAP_DRAWS,
    permutations: int = PERMUTATIONS,
    seed: int = RNG_SEED,
) -> Comparison:
    """Paired comparison of two rows over the same seeds and queries (see the module docstring).

    Args:
        a, b: the rows' per-query values (`PerQuery.from_records`).
        alternative: of the test: "two-sided" (default), "greater" (A better) or "less".
        level: of the bootstrap interval (0.95).
        alpha: of the verdict (0.05).
        draws, permutations, seed: bootstrap draws B, random sign vectors, RNG seed.

    Raises:
        UserError: different cells, seeds or queries (naming the difference).

    Example:
        >>> a = PerQuery((0, 1), np.arange(3), [[0.5, 0.6, 0.7], [0.5, 0.7, 0.7]])
        >>> b = PerQuery((0, 1), np.arange(3), [[0.4, 0.6, 0.6], [0.5, 0.6, 0.6]])
        >>> round(compare(a, b).diff, 4)
        0.0667
    """
    _check_pair(a, b, same_seeds=True)
    per_seed = a.values - b.values
    d = per_seed.mean(axis=0)
    low, high = bootstrap_interval(d, level=level, draws=draws, seed=seed)
    p = sign_flip_pvalue(d, alternative=alternative, permutations=permutations, seed=seed)
    return Comparison(
        label_a=a.label or "A",
        label_b=b.label or "B",
        seeds=a.seeds,
        n_queries=len(a.query_index),
        mean_a=a.mean,
        mean_b=b.mean,
        diff=float(d.mean()),
        ci_low=low,
        ci_high=high,
        p_value=p,
        seed_diffs=tuple(float(x) for x in per_seed.mean(axis=1)),
        alternative=alternative,
        level=level,
        alpha=alpha,
        draws=draws,
        permutations=permutations,
    )


def compare_records(
    records_a: Sequence[Any],
    records_b: Sequence[Any],
    metric: str | None = None,
    setting: str = "U->A",
    **kwargs,
) -> Comparison:
    """`compare` of the per-query ``metric`` of ``setting`` of two rows given as records (one per seed).

    Raises:
        UserError: see `PerQuery.from_records` and `compare`.
    """
    a = PerQuery.from_records(records_a, metric, setting)
    b = PerQuery.from_records(records_b, metric, setting)
    if a.label == b.label and a.row != b.row:
        a = dataclasses.replace(a, label=f"{a.label}[{a.row['config_hash'][:6]}]")
        b = dataclasses.replace(b, label=f"{b.label}[{b.row['config_hash'][:6]}]")
    return compare(a, b, **kwargs)


# -- leaderboard: rows tied with the best --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Ties:
    """Which rows of a column are not significantly worse than its best.

    ``tied`` holds the best and every row whose Holm-adjusted one-sided p-value exceeds ``alpha`` (in the
    column's order); ``p_values`` and ``adjusted`` are per row other than the best.
    """

    best: str
    tied: tuple[str, ...]
    means: dict[str, float]
    p_values: dict[str, float]
    adjusted: dict[str, float]
    alpha: float = ALPHA

    def is_tied(self, label: str) -> bool:
        return label in self.tied


def tied_with_best(
    column: Mapping[str, PerQuery],
    *,
    alpha: float = ALPHA,
    higher_is_better: bool = True,
    permutations: int = PERMUTATIONS,
    seed: int = RNG_SEED,
) -> Ties:
    """The rows of one leaderboard column (one dataset, protocol, code length) that are statistically tied
    with its best, to mark every one of them instead of bolding one.

    The best is the row with the best mean (as `Table.best`: exact ties go to the larger label when higher is
    better, to the smaller when lower is better). Each other row
    r is compared with it on the per-query values averaged over each row's own seeds (rows may have different
    seeds: each cell is the mean over its own seeds, and the test conditions on them):
    ``dbar[q] = best[q] - r[q]`` (negated when lower is better), a one-sided sign-flip test of "the best is
    better than r", and Holm's adjustment over the column's k - 1 tests. Row r is tied when its adjusted
    p-value is above ``alpha``. Holm controls the chance of declaring any row worse than the best when it is
    not, under any dependence between the tests (they share the best row), and is uniformly more powerful
    than Bonferroni.

    Args:
        column: row label -> per-query values (`PerQuery.from_records`) of one cell.
        alpha: the level (0.05).
        higher_is_better: the metric's direction.
        permutations, seed: of the sign-flip test.

    Returns:
        `Ties`.

    Raises:
        UserError: an empty column, or rows of different cells or queries.
    """
    labels = list(column)
    if not labels:
        raise UserError("tied_with_best needs a column with at least one row.")
    rows = [column[k] for k in labels]
    first = dataclasses.replace(rows[0], label=labels[0])
    for label, r in zip(labels[1:], rows[1:]):
        _check_pair(first, dataclasses.replace(r, label=label), same_seeds=False)
    sign = 1.0 if higher_is_better else -1.0
    means = {k: r.mean for k, r in zip(labels, rows)}
    # as `Table.best`: the best mean, exact ties to the larger label (higher is better) or the smaller (lower)
    best = (max if higher_is_better else min)(labels, key=lambda k: (means[k], k))
    others = [k for k in labels if k != best]
    if not others:
        return Ties(best, (best,), means, {}, {}, alpha)
    qbest = column[best].query_means
    d = sign * np.stack([qbest - column[k].query_means for k in others])
    p = np.atleast_1d(sign_flip_pvalue(d, alternative="greater", permutations=permutations, seed=seed))
    adj = holm(p)
    worse = {k for k, a in zip(others, adj) if a <= alpha}
    return Ties(
        best=best,
        tied=tuple(k for k in labels if k not in worse),
        means=means,
        p_values={k: float(x) for k, x in zip(others, p)},
        adjusted={k: float(x) for k, x in zip(others, adj)},
        alpha=alpha,
    )
