"""The metric registry: a metric is one function, registered with its name pattern.

Registering is all it takes to add a metric (the built-in ones are in `zshbench.evaluate.metrics`)::

    @register_metric("recall@hamming{r}", convention="Mean over all queries of the fraction of the query's "
                     "relevant items within Hamming distance <= {r}; 0 for a query with no relevant item.")
    def recall_at_hamming(stats: QueryStats, r: int) -> np.ndarray:
        return stats.radius_recall[:, r]

From then on ``evaluate(..., metrics=["recall@hamming2"])`` computes it, result records store its convention
(``EvalResult.conventions``) and a misspelt name gets a did-you-mean. This is pytorch-metric-learning's
``calculate_<name>`` with ``requires_knn()`` (here ``needs``) and lm-eval's ``higher_is_better``.

**Name patterns** are literal text plus placeholders; each placeholder becomes a keyword argument of the
function (see `PLACEHOLDERS`):

* ``{k}``: the cut-off, written ``k`` (the ``k=`` argument of `evaluate`), that same number (``map@5000`` with
  ``k=5000``) or ``all`` (the whole ranking). The function gets ``k`` as an int, or ``None`` for ``all``; the
  result is named with the number or ``all``.
* ``{r}``: a Hamming radius 0..n_bits, as an int; the result is named as written.

**What a metric needs** (``needs``) says what the kernels must compute and how the function is called:

* ``"histograms"`` (the default): per query, how many database items (and how many relevant ones) lie at each
  Hamming distance; always computed. The function gets a `QueryStats` for a block of B queries and returns B
  per-query values; the metric is their mean over all queries (a query with no relevant item counts).
* ``"stable_ap"``: also AP with ties broken by database index at the metric's cut-off ``{k}``, read as
  ``stats.stable_ap(k)``. It costs a second pass over the database, so the kernels run it only when a
  requested metric needs it (the pattern must contain ``{k}``).
* ``"curves"``: the metric is a function of the mean curves over all queries (`EvalResult.curves`), called once
  at the end as ``f(curves, **params) -> float``.

A metric that needs each relevant item's rank position (not the histograms or stable AP) needs new kernels in
``kernels.py`` (numpy and numba), ``_accel/simd.py`` and ``torch_backend.py``; see ``docs/metrics.md``.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import itertools
import re
import string
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zshbench.errors import UnknownNameError, UserError

__all__ = [
    "NEEDS",
    "PLACEHOLDERS",
    "Metric",
    "MetricSpec",
    "QueryStats",
    "register_metric",
    "unregister_metric",
    "list_metrics",
    "get_metric",
    "resolve_metric",
    "known_names",
    "unknown_metric",
]

NEEDS = ("histograms", "stable_ap", "curves")
_BUILTINS = "zshbench.evaluate.metrics"  # imported on first use, so that its decorators run


@dataclass(frozen=True)
class _Placeholder:
    """How one placeholder of a name pattern is matched, checked, shown and written back into the name."""

    regex: str
    spellings: tuple[str, ...]  # the generic spellings listed among the known metrics
    hint: str  # what the generic spelling means, for the unknown-name message
    value: Callable[[str, str, str, int, int], Any]  # (text, name, generic name, k, n_bits) -> argument
    label: Callable[[str, Any, int], str]  # (text, argument, k) -> text in the result's name


def _cutoff(text: str, name: str, generic: str, k: int, n_bits: int) -> int | None:
    if text == "all":
        return None
    if text.isdigit() and int(text) != k:
        raise UserError(
            f"Metric {name!r} asks for cut-off {text} but k={k}; pass k={text} (one cut-off per call) "
            f"or use the generic name {generic!r}."
        )
    return k


def _radius(text: str, name: str, generic: str, k: int, n_bits: int) -> int:
    r = int(text)
    if r > n_bits:
        raise UserError(f"Metric {name!r}: radius {r} exceeds the code length {n_bits} bits.")
    return r


PLACEHOLDERS: dict[str, _Placeholder] = {
    "k": _Placeholder(
        r"k|all|\d+",
        ("k", "all"),
        "k is the k= argument",
        _cutoff,
        lambda text, value, k: "all" if value is None else str(k),
    ),
    "r": _Placeholder(r"\d+", ("<r>",), "<r> a Hamming radius", _radius, lambda text, value, k: text),
}


@dataclass(frozen=True)
class QueryStats:
    """What a per-query metric reads, for one block of B queries (K = n_bits).

    Attributes:
        hist_all: ``int64`` (B, K + 1), database items at Hamming distance d = 0..K from each query.
        hist_rel: ``int64`` (B, K + 1), the relevant ones among them.
        radius_precision: ``float64`` (B, K + 1), precision of retrieving every item within radius d (0 when
            nothing is retrieved); `ranking.radius_pr`.
        radius_recall: ``float64`` (B, K + 1), recall of the same (0 for a query with no relevant item).
        ap_k: ``float64`` (B,) stable AP at the ``k=`` cut-off, or None (read it with `stable_ap`).
        ap_all: ``float64`` (B,) stable AP over the whole ranking, or None.
        n_db: database size N.
        n_bits: code length K.
    """

    hist_all: np.ndarray
    hist_rel: np.ndarray
    radius_precision: np.ndarray
    radius_recall: np.ndarray
    ap_k: np.ndarray | None
    ap_all: np.ndarray | None
    n_db: int
    n_bits: int

    def cut(self, k: int | None) -> int:
        """The cut-off as a number of items: ``k``, or N for the whole ranking (``k=None``)."""
        return self.n_db if k is None else k

    def stable_ap(self, k: int | None) -> np.ndarray:
        """Per-query AP over the top ``k`` (``None``: the whole ranking), ties broken by database index.

        Raises:
            ValueError: the metric reading it was registered without ``needs=("stable_ap", ...)``.
        """
        values = self.ap_all if k is None else self.ap_k
        if values is None:
            raise ValueError(
                "stable AP was not computed: register the metric that reads stats.stable_ap(k) with "
                "needs=('histograms', 'stable_ap') and a {k} in its pattern."
            )
        return values


@dataclass(frozen=True)
class Metric:
    """A registered metric (see the module docstring; made by `register_metric`)."""

    pattern: str
    fn: Callable
    needs: tuple[str, ...]
    higher_is_better: bool
    convention: str | Callable[..., str]
    follows_ties: bool
    aliases: tuple[str, ...]

    @property
    def placeholders(self) -> tuple[str, ...]:
        return _fields(self.pattern)

    @property
    def at_end(self) -> bool:
        """Computed once from the mean curves (``needs`` has "curves") rather than averaged over queries."""
        return "curves" in self.needs

    def generic_name(self) -> str:
        """The pattern with each placeholder in its first generic spelling (``map@{k}`` -> ``map@k``)."""
        return self.pattern.format(**{p: PLACEHOLDERS[p].spellings[0] for p in self.placeholders})


@dataclass(frozen=True)
class MetricSpec:
    """A requested metric, resolved: its result name, the registered `Metric` and the placeholder values."""

    name: str
    metric: Metric
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def cutoff(self) -> int | None:
        """The ``{k}`` value: the cut-off, or None for the whole ranking (and for metrics without ``{k}``)."""
        return self.params.get("k")

    @property
    def higher_is_better(self) -> bool:
        return self.metric.higher_is_better

    def needs(self, what: str) -> bool:
        return what in self.metric.needs

    def convention(self) -> str:
        """One-line definition stored with result records (``EvalResult.conventions``)."""
        text = self.metric.convention
        return text(**self.params) if callable(text) else text.format(**self.params)

    def per_query(self, stats: QueryStats) -> np.ndarray:
        """The per-query values of one block of queries."""
        values = np.asarray(self.metric.fn(stats, **self.params))
        if values.shape != stats.hist_all.shape[:1]:
            raise ValueError(
                f"Metric {self.name!r} (function {self.metric.fn.__qualname__}) must return one value "
                f"per query, shape ({stats.hist_all.shape[0]},); it returned shape {values.shape}."
            )
        return values

    def from_curves(self, curves: dict) -> float:
        """The value of a metric that needs "curves", from the final mean curves."""
        return float(self.metric.fn(curves, **self.params))


_METRICS: dict[str, Metric] = {}  # pattern -> metric, in registration order
_MATCHERS: list[tuple[re.Pattern, Metric, bool]] = []  # (regex, metric, is an alias), in registration order
_loaded = False


def _fields(pattern: str) -> tuple[str, ...]:
    return tuple(f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None)


def _compile(pattern: str) -> re.Pattern:
    parts, seen = [], set()
    for literal, name, spec, conv in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conv:
            raise ValueError(
                f"Metric pattern {pattern!r}: unknown placeholder {{{name}}}; the placeholders are "
                f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
            )
        if name in seen:
            raise ValueError(f"Metric pattern {pattern!r}: placeholder {{{name}}} appears twice.")
        seen.add(name)
        parts.append(f"(?P<{name}>{PLACEHOLDERS[name].regex})")
    return re.compile("".join(parts))


def register_metric(
    pattern: str,
    *,
    convention: str | Callable[..., str],
    needs: Iterable[str] = ("histograms",),
    higher_is_better: bool = True,
    follows_ties: bool = False,
    aliases: Iterable[str] = (),
) -> Callable[[Callable], Callable]:
    """Decorator: register a metric function under a name pattern (see the module docstring).

    Args:
        pattern: the metric's name, with placeholders ``{k}`` (cut-off) or ``{r}`` (Hamming radius), e.g.
            ``"map@{k}"``, ``"precision@hamming{r}"``, ``"pr_auc"``.
        convention: the one-line definition stored in records: a string formatted with the placeholder values
            (``"... within Hamming distance <= {r}"``), or a function of them returning the string (needed
            when the text for ``k=None``, the whole ranking, is not just the value).
        needs: what the function reads: "histograms" (the default), "stable_ap", "curves" (see module docstring).
        higher_is_better: whether a larger value is better (for leaderboards).
        follows_ties: the ``ties=`` argument of `evaluate` applies to the name: with ``ties="relevant_last"``,
            a request for it computes the metric registered as ``pattern + ":relevant_last"`` instead.
        aliases: other patterns accepted for the same metric (same placeholders); results carry ``pattern``.

    Returns:
        The decorator; it returns the function unchanged.

    Raises:
        ValueError: an unknown placeholder or need, an alias with other placeholders, "stable_ap" without
            ``{k}``, or "curves" with another need.
        TypeError: the function does not accept the placeholders as keyword arguments.

    Example:
        >>> @register_metric("mean_hist_rel_0", convention="Mean number of relevant items at distance 0.")
        ... def mean_hist_rel_0(stats):
        ...     return stats.hist_rel[:, 0]
    """
    needs = tuple(needs)
    aliases = tuple(aliases)
    matchers = [(_compile(p), p) for p in (pattern, *aliases)]
    fields = _fields(pattern)
    for alias in aliases:
        if sorted(_fields(alias)) != sorted(fields):
            raise ValueError(f"Metric alias {alias!r} must have the placeholders of {pattern!r}.")
    bad = [n for n in needs if n not in NEEDS]
    if bad or not needs:
        raise ValueError(f"Metric {pattern!r}: needs={needs!r}; each need must be one of {', '.join(NEEDS)}.")
    if "stable_ap" in needs and "k" not in fields:
        raise ValueError(
            f"Metric {pattern!r} needs 'stable_ap', which is computed at a cut-off: put {{k}} in the "
            "pattern (e.g. 'my_map@{k}')."
        )
    if "curves" in needs and len(needs) > 1:
        raise ValueError(
            f"Metric {pattern!r}: a metric of the mean curves is computed once at the end; pass "
            "needs=('curves',) alone."
        )

    def add(fn: Callable) -> Callable:
        _ensure_builtins()  # the built-in metrics come first, whatever registers first
        try:
            inspect.signature(fn).bind(None, **{f: None for f in fields})
        except TypeError as exc:
            raise TypeError(
                f"Metric function {fn.__qualname__} registered as {pattern!r} must accept "
                f"({'curves' if 'curves' in needs else 'stats'}"
                f"{''.join(', ' + f for f in fields)}): {exc}."
            ) from None
        metric = Metric(pattern, fn, needs, bool(higher_is_better), convention, follows_ties, aliases)
        if pattern in _METRICS:
            warnings.warn(
                f"metric {pattern!r} is registered twice ({_METRICS[pattern].fn.__module__} and "
                f"{fn.__module__}); the later registration wins.",
                stacklevel=2,
            )
            _drop(pattern)
        _METRICS[pattern] = metric
        _MATCHERS.extend((rx, metric, p != pattern) for rx, p in matchers)
        return fn

    return add


def _drop(pattern: str) -> None:
    _MATCHERS[:] = [m for m in _MATCHERS if m[1].pattern != pattern]
    _METRICS.pop(pattern, None)


def unregister_metric(pattern: str) -> None:
    """Remove the metric registered under ``pattern`` (its aliases too).

    Raises:
        UnknownNameError: nothing is registered under ``pattern``.
    """
    _ensure_builtins()
    if pattern not in _METRICS:
        raise UnknownNameError(f"No metric is registered under {pattern!r}; registered: {', '.join(_METRICS)}.")
    _drop(pattern)


def _ensure_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module(_BUILTINS)


def list_metrics(pattern: str | None = None) -> list[str]:
    """The registered name patterns in registration order, optionally filtered by an fnmatch ``pattern``.

    Example:
        >>> list_metrics("map@*")
        ['map@{k}', 'map@{k}:relevant_first', 'map@{k}:relevant_last']
    """
    _ensure_builtins()
    return [p for p in _METRICS if pattern is None or fnmatch.fnmatchcase(p, pattern)]


def known_names(first: Iterable[str] = ()) -> list[str]:
    """Generic names of the registered metrics, for messages: ``first``, then every pattern in each spelling
    of its placeholders (aliases in the first spelling only), without repeats."""
    _ensure_builtins()
    names = list(first)
    for m in _METRICS.values():
        for pat, alias in ((m.pattern, False), *((a, True) for a in m.aliases)):
            fields = _fields(pat)
            choices = [PLACEHOLDERS[f].spellings[:1] if alias else PLACEHOLDERS[f].spellings for f in fields]
            names += [pat.format(**dict(zip(fields, combo))) for combo in itertools.product(*choices)]
    return list(dict.fromkeys(names))


def unknown_metric(name: Any, first: Iterable[str] = ()) -> UnknownNameError:
    """The error for an unknown metric name: every known generic name and the closest one."""
    known = known_names(first)
    used = dict.fromkeys(f for m in _METRICS.values() for f in m.placeholders)
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    where = f" ({', '.join(PLACEHOLDERS[f].hint for f in used)})" if used else ""
    return UnknownNameError(f"Unknown metric {name!r}. Known metrics: {', '.join(known)}{where}.{hint}")


def _match(name: str) -> tuple[re.Match, Metric, bool] | None:
    _ensure_builtins()
    for rx, metric, alias in _MATCHERS:
        m = rx.fullmatch(name)
        if m:
            return m, metric, alias
    return None


def get_metric(name: str) -> Metric:
    """The registered `Metric` of a concrete or generic name (``"map@5000"``, ``"map@k:relevant_last"``).

    Raises:
        UnknownNameError: no registered pattern matches (with a did-you-mean).
    """
    found = _match(name.strip()) if isinstance(name, str) else None
    if found is None:
        raise unknown_metric(name)
    return found[1]


def resolve_metric(name: str, k: int, ties: str, n_bits: int, first: Iterable[str] = ()) -> MetricSpec:
    """Resolve one requested name (generic ``map@k`` or concrete ``map@5000``) for an evaluation.

    Args:
        name: the requested name.
        k: the ``k=`` cut-off of the evaluation.
        ties: the ``ties=`` order of the evaluation (applies to metrics registered with ``follows_ties``).
        n_bits: the code length.
        first: names listed first among the known ones if ``name`` is unknown (the default metrics).

    Raises:
        UnknownNameError: no registered pattern matches (with a did-you-mean).
        UserError: a placeholder value does not fit (a cut-off other than ``k``, a radius above ``n_bits``).
    """
    found = _match(name) if isinstance(name, str) else None
    if found is None:
        raise unknown_metric(name, first)
    m, metric, alias = found
    texts = m.groupdict()
    params = {f: PLACEHOLDERS[f].value(t, name, metric.generic_name(), k, n_bits) for f, t in texts.items()}
    if metric.follows_ties and not alias and ties != "stable":
        variant = f"{metric.pattern}:{ties}"
        if variant not in _METRICS:
            raise unknown_metric(variant, first)
        metric = _METRICS[variant]
    label = metric.pattern.format(**{f: PLACEHOLDERS[f].label(t, params[f], k) for f, t in texts.items()})
    return MetricSpec(label, metric, params)
