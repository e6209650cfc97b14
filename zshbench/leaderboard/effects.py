"""The report's analyses beyond the papers' one number, all computed from records:

* `settings_table`: the generalized zero-shot view at one code length: map@5000 in U->A (the papers' setting),
  S->A, U->U, S->S and their harmonic mean H (`zshbench.evaluate.settings`);
* `leak_inflation`: how much the published COMAE/PIXEL code's mistake (the queries also in the database: records
  of the ``leaky`` evaluation variant) inflates map@5000, paired by seed with the standard records;
* `split_variance`: the spread of map@5000 across resampled splits (``zshbench protocol resample``: same counts,
  other classes) next to the gaps between methods on the pinned split: how much of a published "improvement" an
  unseeded split can explain;
* `distance_correlation`: per method, the Spearman rank correlation between an unseen class's AP and its
  attribute-space distance to the nearest seen class (records' ``per_class``).

Each returns plain rows; `render_effects` writes the Markdown section. Deterministic for the same records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from zshbench.evaluate import HEADLINE_METRIC
from zshbench.leaderboard.tables import mean_std, row_labels, table_keys
from zshbench.records import Record

__all__ = [
    "settings_table",
    "leak_inflation",
    "split_variance",
    "distance_correlation",
    "render_settings",
    "render_effects",
    "EFFECT_BITS",
    "SETTING_COLUMNS",
]

EFFECT_BITS = 64
MIN_CLASSES_FOR_RHO = 3  # two classes always give a rank correlation of +-1: no information
SETTING_COLUMNS = ("U->A", "S->A", "U->U", "S->S", "H")


def _nearest_bits(records: Sequence[Record], bits: int) -> int | None:
    avail = sorted({r.n_bits for r in records})
    return min(avail, key=lambda v: (abs(v - bits), v)) if avail else None


def settings_table(records: Sequence[Record], bits: int = EFFECT_BITS, metric: str = HEADLINE_METRIC) -> list[dict]:
    """Per (dataset, protocol) whose records hold held-out seen queries: rows of (label, {setting: (mean, std,
    n)}) at ``bits`` (the nearest code length present)."""
    records = [r for r in records if r.settings and "S->A" in r.settings and metric in r.metrics]
    out = []
    groups: dict[tuple, list[tuple[str, Record]]] = defaultdict(list)
    for key, label, r in zip(table_keys(records), row_labels(records), records):
        groups[key].append((label, r))
    for (ds, proto), items in sorted(groups.items()):
        b = _nearest_bits([r for _, r in items], bits)
        cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for label, r in items:
            if r.n_bits != b:
                continue
            cells[label]["U->A"].append(float(r.metrics[metric]))
            for s in SETTING_COLUMNS[1:]:
                if metric in r.settings.get(s, {}):
                    cells[label][s].append(float(r.settings[s][metric]))
        rows = [(label, {s: (*mean_std(v), len(v)) for s, v in cols.items()}) for label, cols in sorted(cells.items())]
        out.append({"dataset": ds, "protocol": proto, "bits": b, "metric": metric, "rows": rows})
    return out


def leak_inflation(main: Sequence[Record], leaky: Sequence[Record], metric: str = HEADLINE_METRIC) -> list[dict]:
    """Rows (dataset, protocol, method, bits, standard mean, leaky mean, mean paired difference, n seeds) for every
    cell that has records of both evaluations (paired by seed)."""
    std = {(r.dataset, r.protocol["name"], r.method, r.config_hash, r.n_bits, r.seed): r for r in main}
    cells: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for r in leaky:
        s = std.get((r.dataset, r.protocol["name"], r.method, r.config_hash, r.n_bits, r.seed))
        if s is not None and metric in r.metrics and metric in s.metrics:
            cells[(r.dataset, r.protocol["name"], r.method, r.n_bits)].append(
                (float(s.metrics[metric]), float(r.metrics[metric]))
            )
    out = []
    for (ds, proto, method, b), pairs in sorted(cells.items()):
        a = [p[0] for p in pairs]
        z = [p[1] for p in pairs]
        out.append(
            {
                "dataset": ds,
                "protocol": proto,
                "method": method,
                "bits": b,
                "standard": mean_std(a)[0],
                "leaky": mean_std(z)[0],
                "inflation": mean_std([y - x for x, y in pairs])[0],
                "n": len(pairs),
            }
        )
    return out


def split_variance(main: Sequence[Record], resampled: Sequence[Record], metric: str = HEADLINE_METRIC) -> list[dict]:
    """Per (dataset, base protocol, bits): per method, the pinned split's mean, and the mean, std, min and max
    over the resampled splits (each split's value averaged over its seeds); plus the gap between the two best
    methods on the pinned split (every method with pinned records, resampled or not)."""
    by_split: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in resampled:
        base = r.protocol["name"].rpartition("-rs")[0]
        if metric in r.metrics:
            by_split[(r.dataset, base, r.n_bits, r.method)][r.protocol["name"]].append(float(r.metrics[metric]))
    pinned: dict[tuple, list[float]] = defaultdict(list)
    for r in main:
        if metric in r.metrics:
            pinned[(r.dataset, r.protocol["name"], r.n_bits, r.method)].append(float(r.metrics[metric]))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for (ds, base, b, method), splits in sorted(by_split.items()):
        per_split = [mean_std(v)[0] for _, v in sorted(splits.items())]
        m, s = mean_std(per_split)
        p = pinned.get((ds, base, b, method))
        groups[(ds, base, b)].append(
            {
                "method": method,
                "pinned": mean_std(p)[0] if p else None,
                "mean": m,
                "std": s,
                "min": min(per_split),
                "max": max(per_split),
                "n_splits": len(per_split),
            }
        )
    out = []
    for (ds, base, b), rows in sorted(groups.items()):
        ranked = sorted(
            (mean_std(v)[0] for (d2, p2, b2, _), v in pinned.items() if (d2, p2, b2) == (ds, base, b)), reverse=True
        )
        gap = ranked[0] - ranked[1] if len(ranked) > 1 else None
        out.append({"dataset": ds, "protocol": base, "bits": b, "rows": rows, "top_gap": gap})
    return out


def distance_correlation(
    records: Sequence[Record], bits: int = EFFECT_BITS, metric: str = HEADLINE_METRIC
) -> list[dict]:
    """Per (dataset, protocol, row label) at ``bits``: the per-class AP (mean over seeds), the attribute distance
    to the nearest seen class, and their Spearman rank correlation (None when undefined, e.g. all distances
    equal, as in labels-as-attributes mode)."""
    from scipy.stats import spearmanr

    records = [r for r in records if r.per_class and metric in r.per_class]
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for key, label, r in zip(table_keys(records), row_labels(records), records):
        groups[(*key, label)].append(r)
    out = []
    for (ds, proto, label), recs in sorted(groups.items()):
        b = _nearest_bits(recs, bits)
        recs = [r for r in recs if r.n_bits == b]
        aps: dict[str, list[float]] = defaultdict(list)
        dist: dict[str, float] = {}
        for r in recs:
            for c, ap, d in zip(r.per_class["unseen"], r.per_class[metric], r.per_class["attribute_distance"]):
                aps[c].append(float(ap))
                dist[c] = float(d)
        classes = sorted(aps)
        x = [dist[c] for c in classes]
        y = [mean_std(aps[c])[0] for c in classes]
        rho = None  # undefined with fewer than MIN_CLASSES_FOR_RHO classes (two classes always give +-1) or ties
        if len(classes) >= MIN_CLASSES_FOR_RHO and len(set(x)) > 1 and len(set(y)) > 1:
            rho = float(spearmanr(x, y).statistic)
        out.append(
            {
                "dataset": ds,
                "protocol": proto,
                "label": label,
                "bits": b,
                "classes": classes,
                "distance": x,
                "ap": y,
                "spearman": rho,
                "n_seeds": len(recs),
            }
        )
    return out


def _f(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _cell(mean: float, std: float, n: int) -> str:
    """Like the ranking tables' cells: no ± for a single seed (its spread is unknown, not zero)."""
    return f"{mean:.4f} (n=1)" if n == 1 else f"{mean:.4f} ± {std:.4f} (n={n})"


def render_settings(tables: list[dict], heading: str = "###") -> str:
    out = []
    for t in tables:
        out.append(f"{heading} {t['dataset']} / {t['protocol']} — {t['metric']} by setting, {t['bits']} bits\n")
        out.append("| method | " + " | ".join(SETTING_COLUMNS) + " |")
        out.append("|---|" + "---:|" * len(SETTING_COLUMNS))
        for label, cells in t["rows"]:
            vals = [_cell(*cells[s]) if s in cells else "-" for s in SETTING_COLUMNS]
            out.append(f"| {label} | " + " | ".join(vals) + " |")
        out.append("")
    return "\n".join(out)


def render_effects(
    main: Sequence[Record], leaky: Sequence[Record], resampled: Sequence[Record], heading: str = "##"
) -> str:
    """The "Protocol effects" section (empty when no record allows any of its analyses)."""
    parts = []
    leak = leak_inflation(main, leaky)
    if leak:
        parts += [
            f"{heading}# Query/database overlap (the published COMAE/PIXEL code's mistake)",
            "",
            "map@5000 of the same runs evaluated as the protocol prescribes and with the unseen queries also in "
            "the database (`zshbench run ... --eval-variant leaky`); each query then retrieves itself first. "
            "Paired by seed.",
            "",
            "| dataset / protocol | method | bits | standard | leaky | inflation (n) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        parts += [
            f"| {r['dataset']} / {r['protocol']} | {r['method']} | {r['bits']} | {_f(r['standard'])} | "
            f"{_f(r['leaky'])} | +{r['inflation']:.4f} ({r['n']}) |"
            for r in leak
        ]
        parts.append("")
    sv = split_variance(main, resampled)
    if sv:
        parts += [
            f"{heading}# Split variance (unseeded-style splits)",
            "",
            "map@5000 on splits resampled from the pinned protocol with the same counts and other classes "
            "(`zshbench protocol resample`), next to the pinned split. An unseeded split can move a method by "
            "the spread shown; compare it with the gap between the best two methods on the pinned split.",
            "",
        ]
        for t in sv:
            parts += [
                f"**{t['dataset']} / {t['protocol']}, {t['bits']} bits** (gap between the best two methods on "
                f"the pinned split: {_f(t['top_gap'])})",
                "",
                "| method | pinned split | resampled mean ± std (splits) | min – max |",
                "|---|---:|---:|---:|",
            ]
            parts += [
                f"| {r['method']} | {_f(r['pinned'])} | {r['mean']:.4f} ± {r['std']:.4f} ({r['n_splits']}) | "
                f"{r['min']:.4f} – {r['max']:.4f} |"
                for r in t["rows"]
            ]
            parts.append("")
    dc = [d for d in distance_correlation(main) if d["spearman"] is not None]
    if dc:
        parts += [
            f"{heading}# Distance from the seen classes",
            "",
            "Spearman rank correlation, per method, between an unseen class's map@5000 (mean over its queries "
            "and the seeds) and its attribute-space distance to the nearest seen class (Euclidean between "
            "L2-normalised class attribute vectors). Negative: classes far from everything seen are "
            "retrieved worse. Datasets whose attributes are the labels give no ranking and are left out; with "
            f"fewer than {MIN_CLASSES_FOR_RHO} unseen classes (fashion has 2) the correlation is undefined (-).",
            "",
            "| dataset / protocol | method | bits | unseen classes | Spearman rho |",
            "|---|---|---:|---:|---:|",
        ]
        parts += [
            f"| {d['dataset']} / {d['protocol']} | {d['label']} | {d['bits']} | {len(d['classes'])} | "
            f"{'-' if d['spearman'] is None else format(d['spearman'], '+.3f')} |"
            for d in dc
        ]
        parts.append("")
    if not parts:
        return ""
    return "\n".join([f"{heading} Protocol effects", "", *parts])
