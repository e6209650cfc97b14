"""The report's "Ablations and variants" section: runs of a method at non-default settings (``--set``, a grid
file's ``[[ablation]]`` entries) and runs of registered variants (``razh-t``, ``comae-v1``, ...), each beside its
base method's default run at the SAME seeds and code lengths, with the difference. They never enter the ranking
tables, the headline or the figures (`split_ablations`): a leaderboard ranks each method at its defaults.

Which methods are variants of which comes from the registry (``Hasher.variant_of``), passed in as ``variant_of``
(`zshbench.leaderboard.check.method_variants` reads it; the report modules never import the registry);
everything else comes from the records. Records converted from an older schema (``non_default_params`` not
recorded) are treated as default runs.

Cells are means over the seeds the ablation has at that code length; the base cell is the mean of the base
method's default records of exactly those seeds (a cell whose base lacks one of them shows no difference).
No significance test is made here: the committed ablations have one seed (``zshbench compare`` tests any pair
with per-query AP when there are records to pair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from zshbench.leaderboard.tables import dataset_rank, mean_std, table_keys
from zshbench.records import Record

__all__ = ["is_ablation", "split_ablations", "ablation_tables", "render_ablations", "ablations_csv"]

SETTINGS = ("U->A", "S->A")  # unseen queries (the ranking's setting) and held-out seen queries


def is_ablation(r: Record, variant_of: Mapping[str, str | None]) -> bool:
    """A run of a registered variant, or a run with settings that differ from its method's defaults."""
    return bool(variant_of.get(r.method)) or bool(r.non_default_params)


def split_ablations(
    records: Sequence[Record], variant_of: Mapping[str, str | None]
) -> tuple[list[Record], list[Record]]:
    """(records of the ranking tables, ablation records), each in the given order."""
    main, abl = [], []
    for r in records:
        (abl if is_ablation(r, variant_of) else main).append(r)
    return main, abl


def _label(r: Record) -> str:
    nd = r.non_default_params or {}
    settings = ", ".join(f"{k}={nd[k]}" for k in sorted(nd))
    return r.method + (f": {settings}" if settings else "")


def _value(r: Record, setting: str, metric: str) -> float | None:
    if setting == "U->A":
        v = r.metrics.get(metric)
    else:
        v = ((r.settings or {}).get(setting) or {}).get(metric)
    return None if v is None else float(v)


def ablation_tables(
    main: Sequence[Record],
    ablations: Sequence[Record],
    variant_of: Mapping[str, str | None],
    metric: str = "map@5000",
) -> list[dict]:
    """One table per (dataset, protocol, base method) that has ablation records.

    Returns:
        [{"dataset", "protocol", "base", "metric", "bits": [..], "settings": [..], "rows": [(label, {(setting,
        bits): {"mean", "std", "n", "seeds", "base", "delta"}})]}]; the first row is the base method's defaults
        (its cells over the union of the seeds its ablations have), then one row per ablation, sorted by label.
    """
    if not ablations:
        return []
    everything = list(main) + list(ablations)
    keys = dict(zip(map(id, everything), table_keys(everything)))
    base_runs: dict[tuple, Record] = {}
    for r in main:
        base_runs[(keys[id(r)], r.method, r.n_bits, r.seed)] = r
    groups: dict[tuple, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in ablations:
        base = variant_of.get(r.method) or r.method
        groups[(*keys[id(r)], base)][_label(r)].append(r)
    out = []
    for (ds, proto, base), by_label in sorted(groups.items(), key=lambda kv: (dataset_rank(kv[0][0]), kv[0][1:])):
        bits = sorted({r.n_bits for rs in by_label.values() for r in rs})
        settings = [
            s for s in SETTINGS if any(_value(r, s, metric) is not None for rs in by_label.values() for r in rs)
        ]
        rows = []
        base_seeds: dict[int, set[int]] = defaultdict(set)
        for label in sorted(by_label):
            cells = {}
            for b in bits:
                rs = [r for r in by_label[label] if r.n_bits == b]
                seeds = sorted({r.seed for r in rs})
                base_seeds[b].update(seeds)
                for s in settings:
                    vals = [v for v in (_value(r, s, metric) for r in rs) if v is not None]
                    if not vals:
                        continue
                    m, sd = mean_std(vals)
                    base_vals = [
                        _value(base_runs[((ds, proto), base, b, seed)], s, metric)
                        for seed in seeds
                        if ((ds, proto), base, b, seed) in base_runs
                    ]
                    base_vals = [v for v in base_vals if v is not None]
                    bm = mean_std(base_vals)[0] if len(base_vals) == len(seeds) else None
                    cells[(s, b)] = {
                        "mean": m,
                        "std": sd,
                        "n": len(vals),
                        "seeds": seeds,
                        "base": bm,
                        "delta": None if bm is None else m - bm,
                    }
            rows.append((label, cells))
        base_cells = {}
        for b in bits:
            runs = [base_runs.get(((ds, proto), base, b, seed)) for seed in sorted(base_seeds[b])]
            runs = [r for r in runs if r is not None]
            for s in settings:
                vals = [v for v in (_value(r, s, metric) for r in runs) if v is not None]
                if vals:
                    m, sd = mean_std(vals)
                    base_cells[(s, b)] = {
                        "mean": m,
                        "std": sd,
                        "n": len(vals),
                        "seeds": sorted(r.seed for r in runs),
                        "base": m,
                        "delta": None,
                    }
        rows.insert(0, (f"{base} (defaults)", base_cells))
        out.append(
            {
                "dataset": ds,
                "protocol": proto,
                "base": base,
                "metric": metric,
                "bits": bits,
                "settings": settings,
                "rows": rows,
            }
        )
    return out


def _cell(c: dict | None, first: bool) -> str:
    if c is None:
        return "-"
    text = f"{c['mean']:.3f}"
    if c["n"] > 1:
        text += f" ± {c['std']:.3f}"
    if not first:
        text += " (base -)" if c["delta"] is None else f" ({c['delta']:+.3f})"
    return text


def render_ablations(tables: Sequence[dict]) -> str:
    """The markdown section (empty string when there is no ablation record)."""
    if not tables:
        return ""
    lines = [
        "## Ablations and variants",
        "",
        "Runs of registered variants and runs at non-default settings (e.g. a grid file's `[[ablation]]` entries), "
        "each beside its base method's DEFAULT run on the same seeds and code lengths; in parentheses the "
        "difference from that base cell. U->A: unseen queries against the whole database (the ranking's "
        "setting); S->A: held-out queries of the seen classes. These rows are not in the ranking tables above. "
        "No significance test (one seed per cell in the committed grid): read differences below the seed "
        "spread of the main tables as noise.",
        "",
    ]
    for t in tables:
        seeds = sorted({s for _, cells in t["rows"][1:] for c in cells.values() for s in c["seeds"]})
        lines += [
            f"### {t['dataset']} ({t['protocol']}): {t['base']}, {t['metric']}, seed(s) {', '.join(map(str, seeds))}",
            "",
        ]
        cols = [(s, b) for s in t["settings"] for b in t["bits"]]
        lines.append("| configuration | " + " | ".join(f"{s} {b} bits" for s, b in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        for i, (label, cells) in enumerate(t["rows"]):
            lines.append(f"| {label} | " + " | ".join(_cell(cells.get(c), i == 0) for c in cols) + " |")
        lines.append("")
    return "\n".join(lines)


def ablations_csv(tables: Sequence[dict]) -> str:
    """Tidy CSV: one line per ablation cell (dataset, protocol, base, configuration, setting, bits, seeds, n,
    mean, std, base_mean, delta)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "dataset",
            "protocol",
            "base",
            "configuration",
            "metric",
            "setting",
            "bits",
            "seeds",
            "n",
            "mean",
            "std",
            "base_mean",
            "delta",
        ]
    )
    for t in tables:
        for label, cells in t["rows"]:
            for (s, b), c in sorted(cells.items(), key=lambda kv: (SETTINGS.index(kv[0][0]), kv[0][1])):
                w.writerow(
                    [
                        t["dataset"],
                        t["protocol"],
                        t["base"],
                        label,
                        t["metric"],
                        s,
                        b,
                        " ".join(map(str, c["seeds"])),
                        c["n"],
                        f"{c['mean']:.6f}",
                        f"{c['std']:.6f}",
                        "" if c["base"] is None else f"{c['base']:.6f}",
                        "" if c["delta"] is None else f"{c['delta']:.6f}",
                    ]
                )
    return buf.getvalue()
