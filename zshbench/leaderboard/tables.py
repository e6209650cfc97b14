"""The leaderboard's data: one long table of (run, quantity, value) built from typed records (`long_table`), and
the tables that pivot it (`aggregate` for retrieval metrics, `cost_tables` and `cost_summary` for cost).

A record belongs to one *table* (`table_keys`: the dataset and protocol it ran on, by content) and one *row*
(`row_labels`: the method, plus the config hash and the feature stage when a method has several in the table).
A cell is the mean ± std over the seeds of one (table, row, code length). Nothing here reads anything but the
records: the same records always give the same tables.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from zshbench.evaluate import HEADLINE_K, HEADLINE_METRIC
from zshbench.records import Record

__all__ = [
    "split_records",
    "is_resample",
    "Table",
    "Entry",
    "DEFAULT_METRICS",
    "COST_COLUMNS",
    "SUMMARY_BITS",
    "long_table",
    "pivot",
    "aggregate",
    "cost_tables",
    "cost_summary",
    "table_keys",
    "row_labels",
    "features_label",
    "mean_std",
]

# the retrieval metrics the report tabulates
DEFAULT_METRICS = (HEADLINE_METRIC, f"tie_aware_map@{HEADLINE_K}", "map@all")
# cost quantities: (block of the record, key, name in tables, number format); lower is better
COST_COLUMNS = (
    ("timings", "fit_s", "fit seconds", "float"),
    ("timings", "encode_per_1000_s", "encode seconds per 1,000 images", "float"),
    ("complexity", "params", "parameters", "count"),
    ("complexity", "params_encode", "parameters on the encode path", "count"),
    ("complexity", "flops_per_image", "FLOPs per image", "si"),
)
# the cost columns that get a table per code length (the encode-path count only appears in the summary)
_COST_BY_BITS = ("fit seconds", "encode seconds per 1,000 images", "parameters", "FLOPs per image")
SUMMARY_BITS = 64


@dataclasses.dataclass
class Table:
    """One pivot: rows = labels, columns = code lengths, cells = (mean, std, n) over seeds."""

    dataset: str
    protocol: str
    metric: str
    bits: list[int]
    rows: list[tuple[str, dict[int, tuple[float, float, int]]]] = dataclasses.field(default_factory=list)
    higher_is_better: bool = True
    fmt: str = "float"  # "float" (4 decimals), "count" (integer with separators) or "si" (k, M, G prefixes)
    # bits -> the row labels not significantly worse than the column's best (`mark_ties`; empty: not tested)
    tied: dict[int, frozenset[str]] = dataclasses.field(default_factory=dict)

    def is_tied(self, b: int, label: str) -> bool:
        """Statistically tied with the best of column ``b`` (and not the best itself)."""
        return label in self.tied.get(b, ()) and not self.is_best(b, label)

    def is_best(self, b: int, label: str) -> bool:
        """Row ``label`` has the best value of column ``b``; several rows do on an exact tie (e.g. equal FLOPs)."""
        best = self.best(b)
        if best is None:
            return False
        values = {lab: cells[b][0] for lab, cells in self.rows if b in cells}
        return label in values and values[label] == values[best]

    def best(self, b: int) -> str | None:
        cand = [(cells[b][0], label) for label, cells in self.rows if b in cells]
        if not cand:
            return None
        return (max if self.higher_is_better else min)(cand, key=lambda t: (t[0], t[1]))[1]

    @property
    def title(self) -> str:
        return f"{self.dataset} / {self.protocol} — {self.metric}"

    @property
    def slug(self) -> str:
        from zshbench.paths import slug

        return "__".join(
            slug(x.replace("@", "at").replace(":", "-")) for x in (self.dataset, self.protocol, self.metric)
        )


@dataclasses.dataclass(frozen=True)
class Entry:
    """One value of one run: the long table's row."""

    dataset: str  # table label (see `table_keys`)
    protocol: str
    label: str  # row label (see `row_labels`)
    method: str
    n_bits: int
    seed: int
    quantity: str  # a metric name ("map@5000") or a cost column name ("fit seconds")
    value: float
    record: Record = dataclasses.field(compare=False, repr=False)
    setting: str = "U->A"  # the retrieval setting of a metric (zshbench.evaluate.settings); costs: "U->A"


def mean_std(xs: Sequence[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def _dataset_fp(r: Record) -> str | None:
    ds = r.identity.get("dataset") or {}
    return str(ds.get("content") or ds.get("fingerprint") or "") or None


def image_size(r: Record) -> int | None:
    """The ``--image-size`` an image-file dataset was decoded at (None: the dataset's own size)."""
    size = (r.identity.get("dataset") or {}).get("image_size")
    return int(size) if isinstance(size, int) else None


def table_keys(records: Sequence[Record]) -> list[tuple[str, str]]:
    """(dataset label, protocol label) of the table each record belongs to.

    Records share a table only when they ran on the same dataset content and the same protocol content: a
    dataset name that occurs with several content fingerprints (two folders both named ``pets``) gets the
    fingerprint's first 8 hex digits in its label, one decoded at several ``--image-size`` the size; a protocol
    gets its version when several versions occur, and an unpinned protocol (a user's folder protocol, an edited
    copy) is labelled with its content hash, so it is never averaged with a pinned one of the same name.
    """
    ds_fps: dict[str, set] = defaultdict(set)
    sizes: dict[str, set] = defaultdict(set)
    versions: dict[str, set] = defaultdict(set)
    for r in records:
        ds_fps[r.dataset].add(_dataset_fp(r))
        sizes[r.dataset].add(image_size(r))
        versions[r.protocol["name"]].add(r.protocol["version"])
    out = []
    for r in records:
        ds = r.dataset
        if len(ds_fps[ds]) > 1:
            fp = _dataset_fp(r)
            ds = f"{ds}@{fp[:8] if fp else 'unknown'}"
        if len(sizes[r.dataset]) > 1:  # the same images decoded at two --image-size: two tables, never one cell
            size = image_size(r)
            ds += f"@{size}px" if size else "@native-size"
        p = r.protocol
        label = p["name"]
        if len(versions[p["name"]]) > 1:
            label += f"-v{p['version']}"
        if p.get("pinned") is False:
            label += f"@unpinned-{str(p.get('sha256', ''))[:8]}"
        out.append((ds, label))
    return out


def features_label(r: Record) -> str:
    """The feature stage of a record in a few characters: "pixels", "timm:resnet18 sha256:1a2b3c4d", "-"."""
    f = r.identity.get("features")
    if not isinstance(f, dict):
        return "-"
    w = f.get("weights")
    return str(f.get("spec")) + (f" {str(w)[:15]}" if w else "")


def row_labels(records: Sequence[Record]) -> list[str]:
    """Row label of each record: the method, plus the config hash when the method has several configs in its
    table, plus the feature stage when it has several, plus k when several cut-offs occur."""
    keys = table_keys(records)
    seen: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for key, r in zip(keys, records):
        s = seen[(key, r.method)]
        s["config"].add(r.config_hash)
        s["features"].add(features_label(r))
        s["k"].add(r.k)
    out = []
    for key, r in zip(keys, records):
        s = seen[(key, r.method)]
        label = r.method
        if len(s["config"]) > 1:
            label += f" [{r.config_hash[:6]}]"
        if len(s["features"]) > 1:
            label += f" ({features_label(r)})"
        if len(s["k"]) > 1:
            label += f" (k={r.k})"
        out.append(label)
    return out


def long_table(records: Sequence[Record]) -> list[Entry]:
    """Every value of every record as one `Entry`: its retrieval metrics and its cost quantities
    (`COST_COLUMNS`; values a record does not hold are left out)."""
    records = list(records)
    out = []
    for (ds, proto), label, r in zip(table_keys(records), row_labels(records), records):
        base = dict(dataset=ds, protocol=proto, label=label, method=r.method, n_bits=r.n_bits, seed=r.seed, record=r)
        for name, value in sorted(r.metrics.items()):
            out.append(Entry(quantity=name, value=float(value), **base))
        for setting, metrics in sorted((r.settings or {}).items()):
            for name, value in sorted(metrics.items()):
                out.append(Entry(quantity=name, value=float(value), setting=setting, **base))
        for block, key, name, _ in COST_COLUMNS:
            value = (getattr(r, block) or {}).get(key)
            if value is not None:
                out.append(Entry(quantity=name, value=float(value), **base))
    return out


# The order in which datasets lead the tables: real image benchmarks first (fashion is the committed leaderboard's
# real-image dataset), then the built-in synthetic and toy data; any other dataset after these, alphabetically.
DATASET_ORDER = ("fashion", "cifar10", "awa2", "cub", "sun", "shapes", "digits")


def dataset_rank(name: str) -> tuple[int, str]:
    """Sort key of a table's dataset label (`DATASET_ORDER`, then alphabetical)."""
    base = name.split("@", 1)[0]
    return (DATASET_ORDER.index(base) if base in DATASET_ORDER else len(DATASET_ORDER), name)


def pivot(
    entries: Iterable[Entry],
    quantity: str,
    *,
    higher_is_better: bool = True,
    fmt: str = "float",
    setting: str = "U->A",
) -> list[Table]:
    """One `Table` per (dataset, protocol) of ``quantity`` in ``setting``: rows = labels, columns = bits, cells
    over seeds."""
    groups: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for e in entries:
        if e.quantity == quantity and e.setting == setting:
            groups[(e.dataset, e.protocol)][e.label][e.n_bits].append(e.value)
    tables = []
    for (ds, proto), rows in sorted(groups.items(), key=lambda kv: (dataset_rank(kv[0][0]), kv[0][1])):
        t = Table(
            ds,
            proto,
            quantity if setting == "U->A" else f"{quantity} ({setting})",
            sorted({b for cells in rows.values() for b in cells}),
            higher_is_better=higher_is_better,
            fmt=fmt,
        )
        for label in sorted(rows):
            t.rows.append((label, {b: (*mean_std(v), len(v)) for b, v in sorted(rows[label].items())}))
        tables.append(t)
    return tables


def aggregate(
    records: Sequence[Record] | list[Entry], metric: str = HEADLINE_METRIC, setting: str = "U->A"
) -> list[Table]:
    """One `Table` per (dataset, protocol) for the retrieval ``metric`` in ``setting`` (U->A: the headline)."""
    entries = records if records and isinstance(records[0], Entry) else long_table(records)  # type: ignore[index]
    return pivot(entries, metric, setting=setting)


def mark_ties(tables: Sequence[Table], entries: Sequence[Entry]) -> list[Table]:
    """``tables`` with `Table.tied` filled: per column (code length), the rows not significantly worse than the
    best by `zshbench.stats.tied_with_best` on the records' per-query results (one-sided sign-flip tests of the
    best against each row, Holm-adjusted, alpha 0.05). A column is left unmarked when a row has one seed of
    records without per-query results (older records) or the metric is not kept per query."""
    from zshbench.errors import RecordError, UserError
    from zshbench.stats import PerQuery, tied_with_best

    by: dict[tuple, dict[str, list[Record]]] = {}
    for e in entries:
        by.setdefault((e.dataset, e.protocol, e.quantity, e.setting, e.n_bits), {}).setdefault(e.label, []).append(
            e.record
        )
    out = []
    for t in tables:
        tied = {}
        for b in t.bits:
            rows = by.get((t.dataset, t.protocol, t.metric, "U->A", b)) or {}
            if len(rows) < 2:
                continue
            try:
                column = {
                    label: PerQuery.from_records(recs, metric=t.metric, label=label) for label, recs in rows.items()
                }
                ties = tied_with_best(column, higher_is_better=t.higher_is_better)
            except (RecordError, UserError):
                continue
            tied[b] = frozenset(ties.tied)
        out.append(dataclasses.replace(t, tied=tied))
    return out


RESAMPLE_MARK = "-rs"  # resampled protocols (zshbench protocol resample) are named <protocol>-rs<NN>


def is_resample(r: Record) -> bool:
    """A record on a resampled split (``<protocol>-rsNN``, unpinned): for the split-variance analysis only."""
    name = r.protocol["name"]
    head, sep, tail = name.rpartition(RESAMPLE_MARK)
    return bool(sep) and tail.isdigit() and r.protocol.get("pinned") is not True


def split_records(records: Sequence[Record]) -> tuple[list[Record], list[Record], list[Record]]:
    """(leaderboard records, leaky-variant records, resampled-split records): the tables and figures show the
    first; the "protocol effects" section uses the other two."""
    main, leaky, resampled = [], [], []
    for r in records:
        if r.evaluation.get("variant", "standard") != "standard":
            leaky.append(r)
        elif is_resample(r):
            resampled.append(r)
        else:
            main.append(r)
    return main, leaky, resampled


def cost_tables(records: Sequence[Record] | list[Entry]) -> list[Table]:
    """Per dataset/protocol and cost column (fit seconds, encode seconds per 1,000 images, parameter count,
    FLOPs per encoded item), mean over seeds by method (columns = bits); lower is better. Records without a
    value (e.g. converted from schema 1: complexity not measured) show "-"."""
    entries = records if records and isinstance(records[0], Entry) else long_table(records)  # type: ignore[index]
    fmts = {name: fmt for _, _, name, fmt in COST_COLUMNS}
    out = [t for name in _COST_BY_BITS for t in pivot(entries, name, higher_is_better=False, fmt=fmts[name])]
    order = {name: i for i, name in enumerate(_COST_BY_BITS)}
    return sorted(out, key=lambda t: (dataset_rank(t.dataset), t.protocol, order[t.metric]))


def cost_summary(records: Sequence[Record] | list[Entry], bits: int = SUMMARY_BITS) -> list[dict]:
    """One cost table per (dataset, protocol) at ``bits`` (or the nearest code length present), like RAZH's
    Table III: per row label, mean over seeds of each `COST_COLUMNS` quantity.

    Returns:
        [{"dataset", "protocol", "bits", "columns": [names], "rows": [(label, {column: ((mean, std, n) or None,
        fmt)})]}]
    """
    entries = records if records and isinstance(records[0], Entry) else long_table(records)  # type: ignore[index]
    by_table: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        by_table[(e.dataset, e.protocol)].append(e)
    cols = [(name, fmt) for _, _, name, fmt in COST_COLUMNS]
    out = []
    for (ds, proto), es in sorted(by_table.items(), key=lambda kv: (dataset_rank(kv[0][0]), kv[0][1])):
        avail = sorted({e.n_bits for e in es})
        b = min(avail, key=lambda v: (abs(v - bits), v))
        rows = []
        for label in sorted({e.label for e in es}):
            cells = {}
            for name, fmt in cols:
                vals = [e.value for e in es if e.label == label and e.n_bits == b and e.quantity == name]
                cells[name] = ((*mean_std(vals), len(vals)), fmt) if vals else (None, fmt)
            rows.append((label, cells))
        out.append({"dataset": ds, "protocol": proto, "bits": b, "columns": [c[0] for c in cols], "rows": rows})
    return out
