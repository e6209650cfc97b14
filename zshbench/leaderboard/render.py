"""Text renderings of leaderboard tables: rich (terminal), Markdown, CSV, JSON; deterministic (the same tables give
byte-identical text)."""

from __future__ import annotations

import csv
import io
import json

from zshbench.leaderboard.tables import Table

__all__ = ["render_rich", "render_markdown", "render_csv", "render_json", "render_cost_summary", "format_cell"]


def render_cost_summary(summaries: list[dict], heading: str = "###") -> str:
    out = []
    for t in summaries:
        out.append(f"{heading} {t['dataset']} / {t['protocol']} — cost at {t['bits']} bits\n")
        out.append("| method | " + " | ".join(t["columns"]) + " |")
        out.append("|---|" + "---:|" * len(t["columns"]))
        for label, cells in t["rows"]:
            out.append(
                f"| {label} | " + " | ".join(format_cell(cells[c][0], fmt=cells[c][1]) for c in t["columns"]) + " |"
            )
        out.append("")
    return "\n".join(out)


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.2f} {prefix}"
    return f"{x:.0f}"


def format_cell(c: tuple[float, float, int] | None, digits: int = 4, fmt: str = "float") -> str:
    if c is None:
        return "-"
    m, s, n = c
    if fmt == "count":
        return f"{m:,.0f}" + (f" ± {s:,.0f}" if s else "") + f" (n={n})"
    if fmt == "si":
        return _si(m) + (f" ± {_si(s)}" if s else "") + f" (n={n})"
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
                txt = format_cell(cells.get(b), fmt=t.fmt)
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
                txt = format_cell(cells.get(b), fmt=t.fmt)
                if t.best(b) == label and txt != "-":
                    txt = f"**{txt}**"
                elif t.is_tied(b, label):
                    txt += " ≈"
                vals.append(txt)
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
        {
            "dataset": t.dataset,
            "protocol": t.protocol,
            "metric": t.metric,
            "bits": t.bits,
            "rows": [
                {"method": label, "cells": {str(b): {"mean": c[0], "std": c[1], "n": c[2]} for b, c in cells.items()}}
                for label, cells in t.rows
            ],
        }
        for t in tables
    ]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
