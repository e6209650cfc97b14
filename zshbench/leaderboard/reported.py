"""Published numbers (``source: "paper"`` records of ``leaderboard/reported/``) in the report: the tables as
printed, one CSV per table, dataset and metric, and the side-by-side comparison with zshbench's measurement of
the same method, dataset and code length (`comparisons`), with the protocol differences spelled out
(`protocol_differences`).

Paper records are plain dicts (the JSON of a record file, version 2 or 3 of `zshbench.reported`); measured
records are typed `zshbench.records.Record` s. The output is deterministic: the same records give the same
text, byte for byte.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

from zshbench.evaluate import HEADLINE_METRIC
from zshbench.leaderboard.tables import mean_std as _mean_std
from zshbench.leaderboard.tables import row_labels as _labels
from zshbench.records import Record

__all__ = ["reported_csvs", "comparisons", "protocol_differences", "reported_markdown", "row_label", "measured_value"]

# column order of a table that prints several metrics (the order the papers print them); others follow by name
_METRIC_ORDER = {
    HEADLINE_METRIC: 0,
    "map_paper": 1,
    "auc_paper": 2,
    "params": 3,
    "flops": 4,
    "train_time_per_epoch": 5,
    "inference_time_per_epoch": 6,
}
_LAST = 10**9


def row_label(rec: dict) -> str:
    """A table row's label: the method as printed, with the ablation setting (``variant``) in parentheses."""
    return rec["method"] + (f" ({rec['variant']})" if rec.get("variant") else "")


def _row_key(rec: dict) -> tuple:
    return (rec.get("row", _LAST), row_label(rec))


def _metric_key(metric: str) -> tuple:
    return (_METRIC_ORDER.get(metric, len(_METRIC_ORDER)), metric)


def _bits_sorted(keys) -> list[str]:
    return sorted(set(keys), key=int)


def _unit(rec: dict) -> str:
    return rec.get("unit", "fraction")


def _groups(reported: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """(paper, table, dataset) -> records, sorted by printed row then label then metric."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in reported:
        groups[(r["paper"], r["table"], r["dataset"])].append(r)
    return {k: sorted(v, key=lambda r: (*_row_key(r), _metric_key(r["metric"]))) for k, v in sorted(groups.items())}


def reported_csvs(reported: list[dict]) -> dict[str, str]:
    """One CSV per (paper, table, dataset, metric) of published numbers: the printed text, its unit, the value
    and the unit of the value (``fraction``, ``parameters``, ``flops`` or ``seconds``)."""
    files = {}
    by_metric: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for (paper, table, ds), recs in _groups(reported).items():
        for r in recs:
            by_metric[(paper, table, ds, r["metric"])].append(r)
    for (paper, table, ds, metric), recs in sorted(by_metric.items()):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "paper",
                "table",
                "dataset",
                "metric",
                "method",
                "variant",
                "bits",
                "printed",
                "printed_unit",
                "value",
                "unit",
            ]
        )
        for r in recs:
            for b in _bits_sorted(r["values"]):
                c = r["values"][b]
                w.writerow(
                    [
                        paper,
                        table,
                        ds,
                        metric,
                        r["method"],
                        r.get("variant", ""),
                        b,
                        c["printed"],
                        r["printed_unit"],
                        repr(float(c["value"])),
                        _unit(r),
                    ]
                )
        slug = f"reported__{paper}__{table}__{ds}__{metric}".replace(" ", "_").replace("@", "at").replace("/", "-")
        files[f"csv/{slug}.csv"] = buf.getvalue()
    return files


# reported metric -> where a measured record holds the same quantity (besides ``metrics``): block, keys in order
# of preference. Table III's parameter count matches an encoder alone, hence the encode-path count first.
_MEASURED_FIELDS = {
    "params": ("complexity", ("params_encode", "params")),
    "flops": ("complexity", ("flops_per_image",)),
}


def measured_value(rec: Record, metric: str) -> float | None:
    """The measured record's value of a reported ``metric`` (a retrieval metric, or ``params`` / ``flops`` from
    its ``complexity``); None when the record does not hold it."""
    if metric in rec.metrics:
        return float(rec.metrics[metric])
    if metric in _MEASURED_FIELDS:
        block, keys = _MEASURED_FIELDS[metric]
        held = getattr(rec, block)
        if isinstance(held, dict):
            for k in keys:
                if held.get(k) is not None:
                    return float(held[k])
    return None


def _same_dataset(measured: str, reported: str) -> bool:
    """A measured dataset matches a paper record's ``zshbench_dataset`` when it is that dataset or one of its
    feature versions (``awa2-res101`` for ``awa2``)."""
    return measured == reported or measured.startswith(reported + "-")


def comparisons(reported: list[dict], records: list[Record]) -> list[dict]:
    """Published numbers next to zshbench's measurement of the same method, dataset, metric and code length.

    A paper record takes part when it names ``zshbench_method`` and ``zshbench_dataset`` and measured records
    of that method on that dataset (or a feature version of it, e.g. ``awa2-res101``) hold its ``metric``
    (`measured_value`) at one of its code lengths. One entry per (paper record, measured dataset, protocol,
    config): ``{"reported": rec, "dataset": measured dataset, "protocol": name, "label": row label,
    "cells": {bits: (printed, value, mean, std, n)}, "differences": [sentences], "caveats": [sentences]}``
    (``differences`` ends with the record's ``protocol_caveats``, repeated in ``caveats``).
    """
    labels = _labels(records)
    out = []
    key = lambda r: (r["paper"], r["table"], r["dataset"], r["method"], r.get("variant", ""), _metric_key(r["metric"]))  # noqa: E731
    for rep in sorted(reported, key=key):
        m, ds, metric = rep.get("zshbench_method"), rep.get("zshbench_dataset"), rep["metric"]
        if not m or not ds:
            continue
        by: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
        for i, r in enumerate(records):
            if r.method == m and _same_dataset(r.dataset, ds) and measured_value(r, metric) is not None:
                by[(r.dataset, r.protocol["name"], labels[i])].append(r)
        for (mds, proto, label), recs in sorted(by.items()):
            cells = {}
            for b in _bits_sorted(rep["values"]):
                vals = [measured_value(r, metric) for r in recs if r.n_bits == int(b)]
                if vals:
                    mean, std = _mean_std(vals)
                    cells[int(b)] = (
                        rep["values"][b]["printed"],
                        float(rep["values"][b]["value"]),
                        mean,
                        std,
                        len(vals),
                    )
            if cells:
                recs_b = [r for r in recs if r.n_bits in cells]
                out.append(
                    {
                        "reported": rep,
                        "dataset": mds,
                        "protocol": proto,
                        "label": label,
                        "cells": cells,
                        "differences": protocol_differences(rep, recs_b),
                        "caveats": list(rep.get("protocol_caveats", [])),
                    }
                )
    return out


def protocol_differences(rep: dict, recs: list[Record]) -> list[str]:
    """Sentences naming how the paper's setting and zshbench's measured runs differ: generic ones from the
    records (split, runs, inputs, model, metric convention, data, cost conventions), then the paper record's
    own ``protocol_caveats``."""
    r0 = recs[0]
    proto = r0.protocol
    seeds = sorted({r.seed for r in recs})
    counts = r0.split_counts
    diffs = [
        f"Split: the paper: {rep['protocol_description']} zshbench: protocol {proto['name']} v{proto['version']} "
        f"(sha256 {str(proto.get('sha256', ''))[:12]}), seen/unseen classes pinned in the protocol file"
        + (
            f", {counts.get('train', '?')} train / {counts.get('query', '?')} query / {counts.get('database', '?')} "
            "database items"
            if counts
            else ""
        )
        + ".",
        f"Runs: the paper prints one number per cell (no seeds or spread reported); zshbench shows mean ± std over "
        f"seeds {', '.join(map(str, seeds))}.",
    ]
    feats = r0.features
    if isinstance(feats, dict) and feats.get("spec"):
        diffs.append(f"Inputs: zshbench ran on features '{feats['spec']}'; the paper's inputs are described above.")
    profile = r0.params.get("profile")
    if profile:
        diffs.append(f"Model: zshbench ran profile '{profile}' of {r0.method} (see the method's README).")
    conv = r0.metric_conventions.get(rep["metric"])
    if conv:
        diffs.append(f"Metric: zshbench's {rep['metric']}: {conv}")
    info = r0.dataset_info
    if info.get("version"):
        diffs.append(
            f"Data: zshbench dataset '{r0.dataset}' v{info['version']}"
            + (f", attributes: {info['attribute_source']}" if info.get("attribute_source") else "")
            + "."
        )
    if rep.get("zshbench_dataset") and r0.dataset != rep["zshbench_dataset"]:
        diffs.append(
            f"Data: zshbench measured on '{r0.dataset}', a feature version of '{rep['zshbench_dataset']}' "
            "(zshbench list datasets)."
        )
    cx = r0.complexity
    if rep["metric"] == "params":
        total = [float(r.complexity["params"]) for r in recs if r.complexity.get("params") is not None]
        diffs.append(
            "Parameters: measured is zshbench's count on the encode path (complexity.params_encode, "
            "training-only parts such as decoders excluded)"
            + (
                f"; all learned numbers of the fitted hasher: {_fmt(_mean_std(total)[0], 'parameters')}"
                if total
                else ""
            )
            + "."
        )
    if rep["metric"] == "flops":
        diffs.append(
            "FLOPs: measured is zshbench's count for encoding one item: "
            + (cx.get("convention") or "one multiply-add = 2 FLOPs (zshbench.complexity)")
            + (f"; input {cx['input']}" if cx.get("input") else "")
            + "."
        )
    return diffs + list(rep.get("protocol_caveats", []))


def _fmt(x: float, unit: str) -> str:
    if unit == "fraction":
        return f"{x:.4f}"
    if unit == "seconds":
        return f"{x:.4g} s"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.2f} {prefix}"
    return f"{x:.0f}"


def _printed(rep: dict, printed: str) -> str:
    # percent and fraction cells name their unit; si and seconds cells carry it in the printed text
    return f"{printed} {rep['printed_unit']}" if rep["printed_unit"] in ("percent", "fraction") else printed


def _who(methods: list[str], everyone: list[str]) -> str:
    """'all rows', 'all rows except A, B' or 'A, B', whichever names fewer rows."""
    if methods == everyone:
        return "all rows"
    rest = [m for m in everyone if m not in methods]
    if len(rest) < len(methods):
        return "all rows except " + ", ".join(rest)
    return ", ".join(methods)


def _caveats_block(paper: str, recs: list[dict], heading: str) -> list[str]:
    """The caveats of one paper's records, each once, with the rows (methods) they apply to."""
    everyone: list[str] = []
    applies: dict[str, list[str]] = {}
    for r in sorted(recs, key=lambda r: (r["table"], *_row_key(r), r["dataset"], _metric_key(r["metric"]))):
        if r["method"] not in everyone:
            everyone.append(r["method"])
        for c in r.get("protocol_caveats", []):
            if r["method"] not in applies.setdefault(c, []):
                applies[c].append(r["method"])
    if not applies:
        return []
    out = [
        f"{heading}# {paper}: protocol caveats",
        "",
        "How the paper's numbers were produced, where it matters for a comparison with zshbench (repeated beside "
        "every side-by-side below):",
        "",
    ]
    out += [f"- {_who(methods, everyone)}: {c}" for c, methods in applies.items()]
    return out + [""]


def _notes(recs: list[dict], one_metric: bool) -> list[str]:
    """Each row's notes once; in a table of several metrics, a note that is not on every metric of its row
    names its metric."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    n_metrics: Counter = Counter()
    for r in recs:
        n_metrics[row_label(r)] += 1
        if r.get("notes"):
            by_label.setdefault(row_label(r), []).append((r["metric"], r["notes"]))
    out = []
    for label, notes in by_label.items():
        if one_metric or (len({n for _, n in notes}) == 1 and len(notes) == n_metrics[label]):
            out += [f"{label}: {n}" for n in dict.fromkeys(n for _, n in notes)]
        else:
            out += [f"{label}, {m}: {n}" for m, n in notes]
    return out


def reported_markdown(reported: list[dict], records: list[Record], heading: str = "##") -> str:
    """The "Reported in the papers" section: per paper its protocol caveats, the published tables as printed
    (one per table and dataset, several metrics side by side when the table prints several), their notes, then
    the side-by-side comparisons with zshbench's measurements."""
    if not reported:
        return ""
    out = [
        f"{heading} Reported in the papers",
        "",
        "Numbers as published, copied from the cited tables (leaderboard/reported/); NOT measured by zshbench "
        "and not comparable cell by cell with the tables above (different data, splits, backbones and "
        "training budgets). Each cell is the number exactly as printed; the unit is given per table.",
        "",
    ]
    by_paper: dict[str, list[dict]] = defaultdict(list)
    for r in reported:
        by_paper[r["paper"]].append(r)
    last_paper = None
    for (paper, table, ds), recs in _groups(reported).items():
        if paper != last_paper:
            out += _caveats_block(paper, by_paper[paper], heading)
            last_paper = paper
        metrics = sorted({r["metric"] for r in recs}, key=_metric_key)
        cols = [(m, b) for m in metrics for b in _bits_sorted(k for r in recs if r["metric"] == m for k in r["values"])]
        units = sorted({r["printed_unit"] for r in recs})
        out.append(f"{heading}# {paper}, {table}: {ds} — {', '.join(metrics)} (printed in {', '.join(units)})")
        out.append("")
        out.append(f"Source: {recs[0]['citation']} {recs[0]['url']}")
        out.append("")
        descriptions = list(dict.fromkeys(r["protocol_description"] for r in recs))
        out.append(f"Protocol (as described by the paper): {' '.join(descriptions)}")
        out.append("")
        one = len(metrics) == 1
        out.append("| method | " + " | ".join(f"{b} bits" if one else f"{m}, {b} bits" for m, b in cols) + " |")
        out.append("|---|" + "---:|" * len(cols))
        rows: dict[str, dict[str, dict]] = {}
        for r in recs:
            rows.setdefault(row_label(r), {})[r["metric"]] = r
        for label, per_metric in rows.items():
            cells = [
                per_metric[m]["values"][b]["printed"] if m in per_metric and b in per_metric[m]["values"] else "-"
                for m, b in cols
            ]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
        notes = _notes(recs, one)
        if notes:
            out += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    comps = comparisons(reported, records)
    if comps:
        out += [
            f"{heading}# Reported and measured side by side",
            "",
            "Same method and dataset name, different protocols: read the differences before comparing.",
            "",
        ]
        for c in comps:
            rep = c["reported"]
            unit = _unit(rep)
            out.append(
                f"**{row_label(rep)} on {rep['dataset']}** — {rep['paper']} {rep['table']} vs zshbench "
                f"{c['label']} on {c['dataset']} / {c['protocol']} ({rep['metric']}, "
                + ("as fractions)" if unit == "fraction" else f"in {unit})")
            )
            out.append("")
            out.append("| bits | reported (printed) | reported | measured (mean ± std, n) |")
            out.append("|---:|---:|---:|---:|")
            for b, (printed, value, mean, std, n) in sorted(c["cells"].items()):
                out.append(
                    f"| {b} | {_printed(rep, printed)} | {_fmt(value, unit)} | {_fmt(mean, unit)} ± "
                    f"{_fmt(std, unit)} (n={n}) |"
                )
            out.append("")
            generic = c["differences"][: len(c["differences"]) - len(c["caveats"])]
            out += [f"- {d}" for d in generic]
            if c["caveats"]:
                out.append("- From the paper and its published code (protocol_caveats of the record):")
                out += [f"  - {d}" for d in c["caveats"]]
            out.append("")
    return "\n".join(out)
