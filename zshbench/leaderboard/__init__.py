"""Leaderboard tables derived from result records (never hand-edited).

`aggregate` groups records by (dataset, protocol, method, config hash) and code length and reports
mean +- std over seeds with the number of seeds; `render_rich` / `render_markdown` print the tables.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["Table", "aggregate", "render_rich", "render_markdown"]


@dataclass
class Table:
    dataset: str
    protocol: str
    metric: str
    bits: list[int]
    rows: list[tuple[str, dict[int, tuple[float, float, int]]]] = field(default_factory=list)

    def best(self, b: int) -> str | None:
        cand = [(cells[b][0], label) for label, cells in self.rows if b in cells]
        return max(cand)[1] if cand else None


def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def row_label(rec: dict, multiple_configs: bool) -> str:
    label = rec["method"]
    return f"{label} [{rec['config_hash'][:6]}]" if multiple_configs else label


def aggregate(records: list[dict], metric: str = "map@5000") -> list[Table]:
    """One `Table` per (dataset, protocol): rows = method (+ config when a method has several), cols = bits."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        if metric in r.get("metrics", {}):
            groups[(r["dataset"], r["protocol"]["name"])].append(r)
    tables = []
    for (ds, proto), recs in sorted(groups.items()):
        configs: dict[str, set[str]] = defaultdict(set)
        for r in recs:
            configs[r["method"]].add(r["config_hash"])
        cells: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in recs:
            cells[row_label(r, len(configs[r["method"]]) > 1)][r["n_bits"]].append(float(r["metrics"][metric]))
        bits = sorted({r["n_bits"] for r in recs})
        t = Table(ds, proto, metric, bits)
        for label in sorted(cells):
            t.rows.append((label, {b: (*_mean_std(v), len(v)) for b, v in cells[label].items()}))
        tables.append(t)
    return tables


def _cell(c: tuple[float, float, int] | None) -> str:
    if c is None:
        return "-"
    m, s, n = c
    return f"{m:.4f} ± {s:.4f} (n={n})"


def render_rich(tables: list[Table], console=None) -> None:
    from rich.console import Console
    from rich.table import Table as RTable

    console = console or Console()
    for t in tables:
        rt = RTable(title=f"{t.dataset} / {t.protocol} — {t.metric} (mean ± std over seeds)")
        rt.add_column("method")
        for b in t.bits:
            rt.add_column(f"{b} bits", justify="right")
        for label, cells in t.rows:
            vals = []
            for b in t.bits:
                txt = _cell(cells.get(b))
                vals.append(f"[bold]{txt}[/]" if t.best(b) == label else txt)
            rt.add_row(label, *vals)
        console.print(rt)


def render_markdown(tables: list[Table]) -> str:
    out = []
    for t in tables:
        out.append(f"### {t.dataset} / {t.protocol} — {t.metric}\n")
        out.append("| method | " + " | ".join(f"{b} bits" for b in t.bits) + " |")
        out.append("|---|" + "---:|" * len(t.bits))
        for label, cells in t.rows:
            vals = []
            for b in t.bits:
                txt = _cell(cells.get(b))
                vals.append(f"**{txt}**" if t.best(b) == label else txt)
            out.append(f"| {label} | " + " | ".join(vals) + " |")
        out.append("")
    return "\n".join(out)
