"""Leaderboard tables, CSVs and figures derived from result records — never hand-edited.

* `aggregate`: one `Table` per (dataset, protocol): rows = method (with its config hash when a method has
  several configs), columns = code lengths, cells = mean ± std over seeds with the number of seeds.
* `cost_tables`: fit time, encode time per 1,000 images, parameter count and FLOPs per encoded item (from the
  records' ``complexity``, see `zshbench.complexity`) per method and dataset (RAZH's Table III).
* `reported_markdown`, `reported_csvs`: the published numbers (``source: "paper"`` records of
  ``leaderboard/reported/``), in their own section, never mixed into the measured tables; where zshbench
  measured the same method on the same dataset, `comparisons` puts the two side by side and spells out the
  protocol differences.
* `render_rich`, `render_markdown`, `render_csv`, `render_json`: deterministic text renderings (same records,
  byte-identical output).
* `write_report`: ``README.md``, one CSV per table and the figures (``zshbench.leaderboard.figures``).
* `check`: regenerate and compare with a written report; list invalid, stale and conflicting records.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from zshbench.leaderboard.common import mean_std as _mean_std
from zshbench.leaderboard.common import row_labels as _labels
from zshbench.leaderboard.common import table_keys
from zshbench.leaderboard.reported import comparisons, protocol_differences, reported_csvs, reported_markdown

__all__ = ["Table", "aggregate", "cost_tables", "cost_summary", "render_cost_summary", "render_rich",
           "render_markdown", "render_csv", "render_json", "conflicts", "stale", "write_report", "check",
           "DEFAULT_METRICS", "reported_markdown", "reported_csvs", "comparisons", "protocol_differences", "config_notes",
           "headline_markdown", "sync_headline"]

DEFAULT_METRICS = ("map@5000", "tie_aware_map@5000", "map@all")


@dataclass
class Table:
    dataset: str
    protocol: str
    metric: str
    bits: list[int]
    rows: list[tuple[str, dict[int, tuple[float, float, int]]]] = field(default_factory=list)
    higher_is_better: bool = True
    fmt: str = "float"  # "float" (4 decimals), "count" (integer with separators) or "si" (k, M, G prefixes)

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

        return "__".join(slug(x.replace("@", "at").replace(":", "-")) for x in (self.dataset, self.protocol,
                                                                               self.metric))


def aggregate(records: list[dict], metric: str = "map@5000") -> list[Table]:
    """One `Table` per (dataset, protocol) for ``metric``."""
    labels = _labels(records)
    groups: dict[tuple[str, str], dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for i, (key, r) in enumerate(zip(table_keys(records), records)):
        if metric in r["metrics"]:
            groups[key][labels[i]][r["n_bits"]].append(float(r["metrics"][metric]))
    tables = []
    for (ds, proto), rows in sorted(groups.items()):
        bits = sorted({b for cells in rows.values() for b in cells})
        t = Table(ds, proto, metric, bits)
        for label in sorted(rows):
            t.rows.append((label, {b: (*_mean_std(v), len(v)) for b, v in sorted(rows[label].items())}))
        tables.append(t)
    return tables


COST_COLUMNS = (
    ("timings", "fit_s", "fit seconds", "float"),
    ("timings", "encode_per_1000_s", "encode seconds per 1,000 images", "float"),
    ("complexity", "params", "parameters", "count"),
    ("complexity", "flops_per_image", "FLOPs per image", "si"),
)


def cost_tables(records: list[dict]) -> list[Table]:
    """Per dataset/protocol and cost column (`COST_COLUMNS`: fit seconds, encode seconds per 1,000 images,
    parameter count, FLOPs per encoded item), mean over seeds by method (columns = bits); lower is better.
    Records without a value (e.g. converted from schema 1: complexity not measured) show "-"."""
    out = []
    labels = _labels(records)
    keys = table_keys(records)
    for block, key, name, fmt in COST_COLUMNS:
        groups: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
        for i, r in enumerate(records):
            v = (r.get(block) or {}).get(key)
            if v is not None:
                groups[keys[i]][labels[i]][r["n_bits"]].append(float(v))
        for (ds, proto), rows in sorted(groups.items()):
            t = Table(ds, proto, name, sorted({b for cells in rows.values() for b in cells}), higher_is_better=False,
                      fmt=fmt)
            for label in sorted(rows):
                t.rows.append((label, {b: (*_mean_std(v), len(v)) for b, v in sorted(rows[label].items())}))
            out.append(t)
    order = {name: i for i, (_, _, name, _) in enumerate(COST_COLUMNS)}
    return sorted(out, key=lambda t: (t.dataset, t.protocol, order[t.metric]))


SUMMARY_BITS = 64


def cost_summary(records: list[dict], bits: int = SUMMARY_BITS) -> list[dict]:
    """One cost table per (dataset, protocol) at ``bits`` (or the nearest code length present), like RAZH's
    Table III: per method, mean over seeds of each `COST_COLUMNS` quantity plus ``params_encode``.

    Returns:
        [{"dataset", "protocol", "bits", "rows": [(label, {column: (mean, std, n) or None})]}]
    """
    cols = [(blk, key, name, fmt) for blk, key, name, fmt in COST_COLUMNS]
    cols.insert(3, ("complexity", "params_encode", "parameters on the encode path", "count"))
    labels = _labels(records)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, key in enumerate(table_keys(records)):
        groups[key].append(i)
    out = []
    for (ds, proto), idx in sorted(groups.items()):
        avail = sorted({records[i]["n_bits"] for i in idx})
        b = min(avail, key=lambda v: (abs(v - bits), v))
        rows = []
        for label in sorted({labels[i] for i in idx}):
            recs = [records[i] for i in idx if labels[i] == label and records[i]["n_bits"] == b]
            cells = {}
            for blk, key, name, fmt in cols:
                vals = [float(r[blk][key]) for r in recs if isinstance(r.get(blk), dict) and r[blk].get(key) is not None]
                cells[name] = ((*_mean_std(vals), len(vals)), fmt) if vals else (None, fmt)
            rows.append((label, cells))
        out.append({"dataset": ds, "protocol": proto, "bits": b, "columns": [c[2] for c in cols], "rows": rows})
    return out


def render_cost_summary(summaries: list[dict], heading: str = "###") -> str:
    out = []
    for t in summaries:
        out.append(f"{heading} {t['dataset']} / {t['protocol']} — cost at {t['bits']} bits\n")
        out.append("| method | " + " | ".join(t["columns"]) + " |")
        out.append("|---|" + "---:|" * len(t["columns"]))
        for label, cells in t["rows"]:
            out.append(f"| {label} | " + " | ".join(_cell(cells[c][0], fmt=cells[c][1]) for c in t["columns"]) + " |")
        out.append("")
    return "\n".join(out)


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.2f} {prefix}"
    return f"{x:.0f}"


def _cell(c: tuple[float, float, int] | None, digits: int = 4, fmt: str = "float") -> str:
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
                txt = _cell(cells.get(b), fmt=t.fmt)
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
                txt = _cell(cells.get(b), fmt=t.fmt)
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


def record_key(r) -> tuple:
    """The cell a record fills: its table, row (method, config, features), code length, seed and k."""
    from zshbench.leaderboard.common import features_label

    return (r["dataset"], r["protocol"]["name"], r["protocol"]["version"], r["protocol"].get("sha256"), r["method"],
            r["config_hash"], features_label(r), r["n_bits"], r["seed"], (r.get("evaluation") or {}).get("k"))


def conflicts(records: list[dict]) -> list[str]:
    """Messages for records that share one key (method, config hash, dataset, protocol, bits, seed)."""
    seen: dict[tuple, str] = {}
    out = []
    for r in records:
        k = record_key(r)
        if k in seen:
            out.append(f"conflict: {r.get('_path')} and {seen[k]} are two runs of one cell ({r['method']}, "
                       f"{r['dataset']}/{r['protocol']['name']}, {r['n_bits']} bits, seed {r['seed']}) with different "
                       "identities (e.g. another method version, or a record converted from an older schema beside "
                       "its rerun): keep one")
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


def protocol_problems(records: list) -> list[str]:
    """Records whose protocol does not match its pin (an edited copy filed under a pinned name), and records of
    one protocol version on one dataset whose splits differ (which a fixed protocol cannot produce)."""
    from zshbench.leaderboard.common import _dataset_fp
    from zshbench.protocols import check_pin

    out = []
    splits: dict[tuple, dict[str, str]] = defaultdict(dict)
    for r in records:
        p = r["protocol"]
        msg = check_pin(p["name"], p["version"], p["sha256"])
        if msg:
            out.append(f"unpinned: {r.get('_path')}: {msg}; records of a pinned protocol must come from its pinned "
                       "file (rerun with the built-in protocol, or rename the edited protocol)")
        key = (r["dataset"], _dataset_fp(r), p["name"], p["version"], p["sha256"])
        splits[key].setdefault(r["split_fingerprint"], r.get("_path") or "?")
    for (ds, _, name, version, _), fps in sorted(splits.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if len(fps) > 1:
            shown = "; ".join(f"{fp[:12]} ({path})" for fp, path in sorted(fps.items())[:3])
            out.append(f"split: records of protocol {name} v{version} on {ds} have {len(fps)} different split "
                       f"fingerprints ({shown}): one protocol version on one dataset must give one split")
    return out


def config_notes(records: list[dict]) -> list[tuple[str, str]]:
    """(row label, the settings that differ from the method's defaults) per method configuration, sorted.

    A reader must know that a row ran with, e.g., ``max_steps=20``; the config hash alone does not say it.
    Methods that are not registered (plugins absent here) list no defaults."""
    from zshbench.registry import METHODS, get_method

    labels = _labels(records)
    seen: dict[str, str] = {}
    for i, r in enumerate(records):
        label = labels[i]
        if label in seen:
            continue
        defaults: dict = {}
        if r["method"] in METHODS:
            cls = get_method(r["method"])
            defaults = cls(n_bits=int(r["n_bits"])).get_params()
        diff = [f"{k}={r['params'][k]}" for k in sorted(r.get("params", {}))
                if k not in ("n_bits", "seed") and (k not in defaults or defaults[k] != r["params"][k])]
        seen[label] = ", ".join(diff) if diff else "defaults"
    return sorted(seen.items())


HEADLINE_START = "<!-- zshbench:leaderboard-headline:start -->"
HEADLINE_END = "<!-- zshbench:leaderboard-headline:end -->"


def headline_markdown(records: list[dict], metric: str = "map@5000") -> str:
    """The block a project README shows between `HEADLINE_START` and `HEADLINE_END`: ``metric`` per dataset."""
    return render_markdown(aggregate(records, metric), heading="####").rstrip() + "\n"


def sync_headline(readme: str | Path, records: list[dict], *, write: bool) -> str | None:
    """Compare (``write=False``) or rewrite (``write=True``) the headline block of ``readme``.

    Returns a problem message, or None when the block matches (or was rewritten)."""
    p = Path(readme)
    text = p.read_text() if p.exists() else ""
    if HEADLINE_START not in text or HEADLINE_END not in text.split(HEADLINE_START, 1)[1]:
        return (f"headline: {p} has no block between {HEADLINE_START} and {HEADLINE_END} (both markers, in that "
                "order); add them where the headline table belongs and run zshbench report --readme " + str(p))
    head, rest = text.split(HEADLINE_START, 1)
    block, tail = rest.split(HEADLINE_END, 1)
    new = "\n" + headline_markdown(records)
    if block == new:
        return None
    if write:
        from zshbench.cache import atomic_write_bytes

        atomic_write_bytes(p, (head + HEADLINE_START + new + HEADLINE_END + tail).encode())
        return None
    return f"differs: the headline table in {p} does not match the records (regenerate with zshbench report --readme {p})"


def report_files(records: list[dict], metrics=DEFAULT_METRICS, regenerate_cmd: str = "",
                 reported: list[dict] | None = None) -> dict[str, str]:
    """Every text file of a report (relative path -> content); deterministic for the same records.

    Args:
        records: measured records (``source: "measured"``).
        metrics: the retrieval metrics to tabulate.
        regenerate_cmd: the command printed in the header.
        reported: published numbers (``source: "paper"`` records), shown in their own section.
    """
    import zshbench

    reported = list(reported or [])
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
        f"- records: {len(records)}" + (f" measured; {len(reported)} published (source: paper)" if reported else ""),
        "- protocols: " + ", ".join(f"{n} v{v}" for n, v in protos),
        "- hardware: " + ", ".join(sorted({str(r['environment'].get('device_name', '?')) for r in records})),
        "- cells: mean ± std over seeds (n = number of seeds); best per column in bold. Metric definitions: "
        "docs/metrics.md.",
        "",
        "## Configurations",
        "",
        "Settings that differ from each method's defaults (`zshbench list methods` shows the keys):",
        "",
        *[f"- {label}: {notes}" for label, notes in config_notes(records)],
        "",
        "## Retrieval",
        "",
        render_markdown(tables),
        "## Cost",
        "",
        "Parameters: every learned number of the fitted hasher; FLOPs: encoding one item (deep methods: "
        "torch.utils.flop_counter.FlopCounterMode on one image; shallow methods: their projection, counted "
        "analytically, without the feature extractor); one multiply-add = 2 FLOPs (zshbench.complexity). "
        "Parameters on the encode path exclude training-only parts (e.g. decoders).",
        "",
        render_cost_summary(cost_summary(records)),
        "### Cost by code length",
        "",
        render_markdown(costs, heading="####"),
    ]
    if reported:
        lines += [reported_markdown(reported, records)]
    files["README.md"] = "\n".join(lines).rstrip() + "\n"
    for t in tables + costs:
        files[f"csv/{t.slug}.csv"] = render_csv(t)
    files.update(reported_csvs(reported))
    return files


def write_report(records: list[dict], out: str | Path, metrics=DEFAULT_METRICS, figures: bool = True,
                 reported: list[dict] | None = None) -> list[Path]:
    """Write README.md, CSVs (and figures) under ``out``; return the written paths."""
    from zshbench.cache import atomic_write_bytes

    from zshbench.paths import check_writable_dir, inside

    out = check_writable_dir(out, "--out")
    written = []
    for rel, text in report_files(records, metrics, reported=reported).items():
        p = inside(out, rel)
        atomic_write_bytes(p, text.encode())
        written.append(p)
    if figures:
        from zshbench.leaderboard.figures import write_figures

        written += write_figures(records, out / "figures")
    return written


def check(records: list[dict], errors: list, out: str | Path, metrics=DEFAULT_METRICS,
          reported: list[dict] | None = None, reported_errors: list | None = None,
          readme: str | Path | None = None) -> list[str]:
    """Problems that make ``zshbench leaderboard --check`` fail (empty list = all good); ``readme``: also
    compare that file's headline block (`sync_headline`)."""
    problems = [f"invalid record: {e}" for e in errors]
    problems += [f"invalid reported record: {e}" for e in (reported_errors or [])]
    problems += conflicts(records) + stale(records) + protocol_problems(records)
    from zshbench.paths import inside

    out = Path(out)
    for rel, text in report_files(records, metrics, reported=reported).items():
        p = inside(out, rel)
        if not p.exists():
            problems.append(f"missing: {p} (regenerate with zshbench report)")
        elif p.read_text() != text:
            old, new = p.read_text().splitlines(), text.splitlines()
            diff = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
            problems.append(f"differs: {p} line {diff + 1} does not match the records (edited by hand or stale)")
    if readme is not None:
        msg = sync_headline(readme, records, write=False)
        if msg:
            problems.append(msg)
    return problems
