"""Text renderings of leaderboard tables: rich (terminal), Markdown, CSV, JSON; deterministic (the same tables give
byte-identical text)."""

from __future__ import annotations

import csv
import io
import json

from zshbench.leaderboard.tables import Table

__all__ = [
    "render_rich",
    "render_markdown",
    "render_csv",
    "render_tidy_csv",
    "render_latex",
    "render_json",
    "render_cost_summary",
    "format_cell",
]


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
    if n == 1:  # one seed: no spread to show (a "± 0.0000" would claim one)
        return f"{m:.{digits}f} (n=1)"
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
                vals.append(f"[bold green]{txt}[/]" if t.is_best(b, label) else txt)
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
                if t.is_best(b, label) and txt != "-":
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


TIDY_COLUMNS = [
    "dataset",
    "protocol",
    "protocol_version",
    "setting",
    "metric",
    "method",
    "method_version",
    "config_hash",
    "features",
    "k",
    "bits",
    "mean",
    "std",
    "n",
    "seeds",
]


def render_tidy_csv(entries, quantities, setting: str | None = None) -> str:
    """One tidy CSV (one header, one row per method, config, dataset, protocol, setting, metric and code length:
    mean, std and n over seeds) of the long table's ``entries`` whose quantity is in ``quantities``; all
    settings unless ``setting`` is given. The method column is the bare method name: the config is its own
    column (``config_hash``), never folded into a label, so a notebook can group by either."""
    from collections import defaultdict

    from zshbench.leaderboard.tables import features_label, mean_std

    wanted = set(quantities)
    groups: dict[tuple, list] = defaultdict(list)
    for e in entries:
        if e.quantity not in wanted or (setting is not None and e.setting != setting):
            continue
        r = e.record
        key = (
            e.dataset,
            e.protocol,
            str(r.protocol.get("version", "")),
            e.setting,
            e.quantity,
            r.method,
            str(r.method_version),
            r.config_hash,
            features_label(r),
            int(r.k),
            int(e.n_bits),
        )
        groups[key].append((int(e.seed), float(e.value)))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TIDY_COLUMNS)
    for key in sorted(groups):
        vals = sorted(groups[key])
        m, sd = mean_std([v for _, v in vals])
        w.writerow([*key, f"{m:.6f}", f"{sd:.6f}", len(vals), " ".join(str(s) for s, _ in vals)])
    return buf.getvalue()


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",  # in LaTeX's default (OT1) font encoding a bare < or > prints as a Spanish question mark
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_ESCAPES.get(c, c) for c in str(text))


def render_latex(tables: list[Table], protocols: dict[str, str] | None = None, digits: int = 3) -> str:
    """One booktabs ``table`` per leaderboard table: mean ± std over seeds (n in the caption when it is the same
    for every cell, else per cell), the best of each column in bold and the rows not significantly worse than it
    (`Table.tied`) underlined; the caption names the dataset, the protocol (and its version, from
    ``protocols``: label -> "name v2") and the metric. Needs ``\\usepackage{booktabs}``."""
    from zshbench.paths import slug

    out = []
    for t in tables:
        ns = {c[2] for _, cells in t.rows for c in cells.values()}
        same_n = len(ns) == 1
        proto = (protocols or {}).get(t.protocol, t.protocol)
        marks = "bold: best of the column"
        if t.tied:
            marks += "; underlined: not significantly worse than the best (one-sided sign-flip test, Holm, alpha 0.05)"
        n_txt = f"n = {next(iter(ns))} seed{'' if ns == {1} else 's'}" if same_n else "n seeds per cell in parentheses"
        caption = (
            f"{latex_escape(t.metric)} on {latex_escape(t.dataset)} (protocol {latex_escape(proto)}): mean $\\pm$ "
            f"std over seeds ({n_txt}); {marks}. Generated by zshbench."
        )
        out += [
            "\\begin{table}[t]",
            "\\centering",
            "\\small",
            f"\\caption{{{caption}}}",
            f"\\label{{tab:zshbench-{slug(t.slug)}}}",
            "\\begin{tabular}{l" + "r" * len(t.bits) + "}",
            "\\toprule",
            "Method & " + " & ".join(f"{b} bits" for b in t.bits) + " \\\\",
            "\\midrule",
        ]
        for label, cells in t.rows:
            vals = []
            for b in t.bits:
                c = cells.get(b)
                if c is None:
                    vals.append("--")
                    continue
                m, sd, n = c
                txt = f"{m:.{digits}f}" + ("" if n == 1 else f" $\\pm$ {sd:.{digits}f}") + ("" if same_n else f" ({n})")
                if t.is_best(b, label):
                    txt = f"\\textbf{{{txt}}}"
                elif t.is_tied(b, label):
                    txt = f"\\underline{{{txt}}}"
                vals.append(txt)
            out.append(f"{latex_escape(label)} & " + " & ".join(vals) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)


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
