"""Leaderboard tables, CSVs and figures derived from result records — never hand-edited.

* `aggregate`: one `Table` per (dataset, protocol): rows = method (with its config hash when a method has
  several configs), columns = code lengths, cells = mean ± std over seeds with the number of seeds.
* `cost_tables`: fit time, encode time per 1,000 images (mean over records) per method and dataset.
* `render_rich`, `render_markdown`, `render_csv`, `render_json`: deterministic text renderings (same records,
  byte-identical output).
* `write_report`: ``README.md``, one CSV per table and the figures (``zshbench.leaderboard.figures``).
* `check`: regenerate and compare with a written report; list invalid, stale and conflicting records.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Table", "aggregate", "cost_tables", "render_rich", "render_markdown", "render_csv", "render_json",
           "conflicts", "stale", "write_report", "check", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("map@5000", "tie_aware_map@5000", "map@all")


@dataclass
class Table:
    dataset: str
    protocol: str
    metric: str
    bits: list[int]
    rows: list[tuple[str, dict[int, tuple[float, float, int]]]] = field(default_factory=list)
    higher_is_better: bool = True

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
        return f"{self.dataset}__{self.protocol}__{self.metric}".replace("@", "at").replace(":", "-")


def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def _labels(records: list[dict]) -> dict[int, str]:
    """Row label of each record: the method, plus the config hash when the method has several configs."""
    configs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in records:
        configs[(r["dataset"], r["protocol"]["name"], r["method"])].add(r["config_hash"])
    out = {}
    for i, r in enumerate(records):
        many = len(configs[(r["dataset"], r["protocol"]["name"], r["method"])]) > 1
        out[i] = f"{r['method']} [{r['config_hash'][:6]}]" if many else r["method"]
    return out


def aggregate(records: list[dict], metric: str = "map@5000") -> list[Table]:
    """One `Table` per (dataset, protocol) for ``metric``."""
    labels = _labels(records)
    groups: dict[tuple[str, str], dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for i, r in enumerate(records):
        if metric in r.get("metrics", {}):
            groups[(r["dataset"], r["protocol"]["name"])][labels[i]][r["n_bits"]].append(float(r["metrics"][metric]))
    tables = []
    for (ds, proto), rows in sorted(groups.items()):
        bits = sorted({b for cells in rows.values() for b in cells})
        t = Table(ds, proto, metric, bits)
        for label in sorted(rows):
            t.rows.append((label, {b: (*_mean_std(v), len(v)) for b, v in sorted(rows[label].items())}))
        tables.append(t)
    return tables


def cost_tables(records: list[dict]) -> list[Table]:
    """Per dataset/protocol: mean fit seconds and encode seconds per 1,000 images, by method (columns = bits)."""
    out = []
    for key, name in (("fit_s", "fit seconds"), ("encode_per_1000_s", "encode seconds per 1,000 images")):
        recs = [dict(r, metrics={name: r["timings"][key]}) for r in records if key in r.get("timings", {})]
        for t in aggregate(recs, name):
            t.higher_is_better = False
            out.append(t)
    return sorted(out, key=lambda t: (t.dataset, t.protocol, t.metric))


def _cell(c: tuple[float, float, int] | None, digits: int = 4) -> str:
    if c is None:
        return "-"
    m, s, n = c
    return f"{m:.{digits}f} ± {s:.{digits}f} (n={n})"


def render_rich(tables: list[Table], console=None) -> None:
    from rich.console import Console
    from rich.table import Table as RTable

    console = console or Console()
    for t in tables:
        rt = RTable(title=f"{t.title} (mean ± std over seeds)")
        rt.add_column("method")
        for b in t.bits:
            rt.add_column(f"{b} bits", justify="right")
        for label, cells in t.rows:
            vals = []
            for b in t.bits:
                txt = _cell(cells.get(b))
                vals.append(f"[bold green]{txt}[/]" if t.best(b) == label else txt)
            rt.add_row(label, *vals)
        console.print(rt)


def render_markdown(tables: list[Table], heading: str = "###") -> str:
    out = []
    for t in tables:
        out.append(f"{heading} {t.title}\n")
        out.append("| method | " + " | ".join(f"{b} bits" for b in t.bits) + " |")
        out.append("|---|" + "---:|" * len(t.bits))
        for label, cells in t.rows:
            vals = []
            for b in t.bits:
                txt = _cell(cells.get(b))
                vals.append(f"**{txt}**" if t.best(b) == label and txt != "-" else txt)
            out.append(f"| {label} | " + " | ".join(vals) + " |")
        out.append("")
    return "\n".join(out)


def render_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "protocol", "metric", "method", "bits", "mean", "std", "n_seeds"])
    for label, cells in table.rows:
        for b in table.bits:
            if b in cells:
                m, s, n = cells[b]
                w.writerow([table.dataset, table.protocol, table.metric, label, b, f"{m:.6f}", f"{s:.6f}", n])
    return buf.getvalue()


def render_json(tables: list[Table]) -> str:
    data = [
        {"dataset": t.dataset, "protocol": t.protocol, "metric": t.metric, "bits": t.bits,
         "rows": [{"method": label, "cells": {str(b): {"mean": c[0], "std": c[1], "n": c[2]} for b, c in cells.items()}}
                  for label, cells in t.rows]}
        for t in tables
    ]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def record_key(r: dict) -> tuple:
    return (r["method"], r["config_hash"], r["dataset"], r["protocol"]["name"], r["n_bits"], r["seed"])


def conflicts(records: list[dict]) -> list[str]:
    """Messages for records that share one key (method, config hash, dataset, protocol, bits, seed)."""
    seen: dict[tuple, str] = {}
    out = []
    for r in records:
        k = record_key(r)
        if k in seen:
            out.append(f"conflict: {r.get('_path')} and {seen[k]} are both {k}")
        else:
            seen[k] = r.get("_path", "?")
    return out


def stale(records: list[dict]) -> list[str]:
    """Messages for records made by an older method version or evaluator metric version than the code's."""
    from zshbench.evaluate import METRIC_VERSION
    from zshbench.registry import METHODS, get_method

    out = []
    for r in records:
        if r.get("source") != "measured":
            continue
        where = r.get("_path", r["method"])
        if r["method"] in METHODS:
            v = str(get_method(r["method"]).version)
            if str(r["method_version"]) != v:
                out.append(f"stale: {where} was made by {r['method']} version {r['method_version']}, the code is version {v}")
        else:
            out.append(f"stale: {where} is from method '{r['method']}', which is not registered")
        if str(r["metric_version"]) != str(METRIC_VERSION):
            out.append(f"stale: {where} has metric_version {r['metric_version']}, the evaluator is {METRIC_VERSION}")
    return out


def report_files(records: list[dict], metrics=DEFAULT_METRICS, regenerate_cmd: str = "") -> dict[str, str]:
    """Every text file of a report (relative path -> content); deterministic for the same records."""
    import zshbench

    files: dict[str, str] = {}
    tables = [t for m in metrics for t in aggregate(records, m)]
    costs = cost_tables(records)
    protos = sorted({(r["protocol"]["name"], r["protocol"]["version"]) for r in records})
    lines = [
        "# zshbench leaderboard",
        "",
        "Generated from the result records by zshbench; do not edit by hand.",
        f"Regenerate with: `{regenerate_cmd or 'zshbench report --results leaderboard/results --out leaderboard'}`.",
        "",
        f"- zshbench version: {zshbench.__version__}",
        f"- records: {len(records)}",
        "- protocols: " + ", ".join(f"{n} v{v}" for n, v in protos),
        "- hardware: " + ", ".join(sorted({str(r['environment'].get('device_name', '?')) for r in records})),
        "- cells: mean ± std over seeds (n = number of seeds); best per column in bold. Metric definitions: "
        "docs/metrics.md.",
        "",
        "## Retrieval",
        "",
        render_markdown(tables),
        "## Cost",
        "",
        render_markdown(costs),
    ]
    files["README.md"] = "\n".join(lines).rstrip() + "\n"
    for t in tables + costs:
        files[f"csv/{t.slug.replace(' ', '_').replace(',', '')}.csv"] = render_csv(t)
    return files


def write_report(records: list[dict], out: str | Path, metrics=DEFAULT_METRICS, figures: bool = True) -> list[Path]:
    """Write README.md, CSVs (and figures) under ``out``; return the written paths."""
    from zshbench.cache import atomic_write_bytes

    out = Path(out)
    written = []
    for rel, text in report_files(records, metrics).items():
        p = out / rel
        atomic_write_bytes(p, text.encode())
        written.append(p)
    if figures:
        from zshbench.leaderboard.figures import write_figures

        written += write_figures(records, out / "figures")
    return written


def check(records: list[dict], errors: list, out: str | Path, metrics=DEFAULT_METRICS) -> list[str]:
    """Problems that make ``zshbench leaderboard --check`` fail (empty list = all good)."""
    problems = [f"invalid record: {e}" for e in errors]
    problems += conflicts(records) + stale(records)
    out = Path(out)
    for rel, text in report_files(records, metrics).items():
        p = out / rel
        if not p.exists():
            problems.append(f"missing: {p} (regenerate with zshbench report)")
        elif p.read_text() != text:
            old, new = p.read_text().splitlines(), text.splitlines()
            diff = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
            problems.append(f"differs: {p} line {diff + 1} does not match the records (edited by hand or stale)")
    return problems
