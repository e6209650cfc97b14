"""Published numbers (``source: "paper"`` records of ``leaderboard/reported/``) in the report: the tables as
printed, one CSV per table, and the side-by-side comparison with zshbench's measurement of the same method and
dataset (`comparisons`), with the protocol differences spelled out (`protocol_differences`)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from zshbench.leaderboard.common import mean_std as _mean_std
from zshbench.leaderboard.common import row_labels as _labels

__all__ = ["reported_csvs", "comparisons", "protocol_differences", "reported_markdown"]


def _reported_groups(reported: list[dict]) -> dict[tuple[str, str, str, str], list[dict]]:
    groups: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
    for r in reported:
        groups[(r["paper"], r["table"], r["dataset"], r["metric"])].append(r)
    return dict(sorted(groups.items()))


def _bits_sorted(keys) -> list[str]:
    return sorted(set(keys), key=int)


def reported_csvs(reported: list[dict]) -> dict[str, str]:
    """One CSV per (paper, table, dataset, metric) of published numbers: the printed text and the fraction."""
    files = {}
    for (paper, table, ds, metric), recs in _reported_groups(reported).items():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["paper", "table", "dataset", "metric", "method", "bits", "printed", "printed_unit", "value"])
        for r in sorted(recs, key=lambda r: r["method"]):
            for b in _bits_sorted(r["values"]):
                c = r["values"][b]
                w.writerow([paper, table, ds, metric, r["method"], b, c["printed"], r["printed_unit"], repr(float(c["value"]))])
        slug = f"reported__{paper}__{table}__{ds}__{metric}".replace(" ", "_").replace("@", "at").replace("/", "-")
        files[f"csv/{slug}.csv"] = buf.getvalue()
    return files


def comparisons(reported: list[dict], records: list[dict]) -> list[dict]:
    """Published numbers next to zshbench's measurement of the same method, dataset and metric.

    A paper record takes part when it names ``zshbench_method`` and ``zshbench_dataset`` and measured records of
    that method on that dataset hold its ``metric``. One entry per (paper record, measured protocol, config):
    ``{"reported": rec, "protocol": name, "label": row label, "cells": {bits: (printed, value, mean, std, n)},
    "differences": [sentences]}``.
    """
    labels = _labels(records)
    out = []
    for rep in sorted(reported, key=lambda r: (r["paper"], r["table"], r["dataset"], r["method"])):
        m, ds, metric = rep.get("zshbench_method"), rep.get("zshbench_dataset"), rep["metric"]
        if not m or not ds:
            continue
        by: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for i, r in enumerate(records):
            if r.get("source", "measured") == "measured" and r["method"] == m and r["dataset"] == ds \
                    and metric in r.get("metrics", {}):
                by[(r["protocol"]["name"], labels[i])].append(r)
        for (proto, label), recs in sorted(by.items()):
            cells = {}
            for b in _bits_sorted(rep["values"]):
                vals = [float(r["metrics"][metric]) for r in recs if r["n_bits"] == int(b)]
                if vals:
                    mean, std = _mean_std(vals)
                    cells[int(b)] = (rep["values"][b]["printed"], float(rep["values"][b]["value"]), mean, std, len(vals))
            if cells:
                out.append({"reported": rep, "protocol": proto, "label": label, "cells": cells,
                            "differences": protocol_differences(rep, recs)})
    return out


def protocol_differences(rep: dict, recs: list[dict]) -> list[str]:
    """Sentences naming how the paper's setting and zshbench's measured runs differ (generic, from the records)."""
    r0 = recs[0]
    proto = r0["protocol"]
    seeds = sorted({r["seed"] for r in recs})
    counts = r0.get("split_counts") or {}
    diffs = [
        f"Split: the paper: {rep['protocol_description']} zshbench: protocol {proto['name']} v{proto['version']} "
        f"(sha256 {str(proto.get('sha256', ''))[:12]}), seen/unseen classes pinned in the protocol file"
        + (f", {counts.get('train', '?')} train / {counts.get('query', '?')} query / {counts.get('database', '?')} "
           "database items" if counts else "") + ".",
        f"Runs: the paper prints one number per cell (no seeds or spread reported); zshbench shows mean ± std over "
        f"seeds {', '.join(map(str, seeds))}.",
    ]
    feats = r0.get("features")
    if isinstance(feats, dict) and feats.get("spec"):
        diffs.append(f"Inputs: zshbench ran on features '{feats['spec']}'; the paper's inputs are described above.")
    profile = r0.get("params", {}).get("profile")
    if profile:
        diffs.append(f"Model: zshbench ran profile '{profile}' of {r0['method']} (see the method's README).")
    conv = (r0.get("metric_conventions") or {}).get(rep["metric"])
    if conv:
        diffs.append(f"Metric: zshbench's {rep['metric']}: {conv}")
    info = r0.get("dataset_info") or {}
    if info.get("version"):
        diffs.append(f"Data: zshbench dataset '{r0['dataset']}' v{info['version']}"
                     + (f", attributes: {info['attribute_source']}" if info.get("attribute_source") else "") + ".")
    return diffs


def reported_markdown(reported: list[dict], records: list[dict], heading: str = "##") -> str:
    """The "Reported in the papers" section: published tables as printed, then the side-by-side comparisons."""
    if not reported:
        return ""
    out = [f"{heading} Reported in the papers", "",
           "Numbers as published, copied from the cited tables (leaderboard/reported/); NOT measured by zshbench "
           "and not comparable cell by cell with the tables above (different data, splits, backbones and "
           "training budgets). Each cell is the number exactly as printed; the unit is given per table.", ""]
    for (paper, table, ds, metric), recs in _reported_groups(reported).items():
        bits = _bits_sorted(k for r in recs for k in r["values"])
        units = sorted({r["printed_unit"] for r in recs})
        out.append(f"{heading}# {paper}, {table}: {ds} — {metric} (printed in {', '.join(units)})")
        out.append("")
        out.append(f"Source: {recs[0]['citation']} {recs[0]['url']}")
        out.append("")
        out.append(f"Protocol (as described by the paper): {recs[0]['protocol_description']}")
        out.append("")
        out.append("| method | " + " | ".join(f"{b} bits" for b in bits) + " |")
        out.append("|---|" + "---:|" * len(bits))
        for r in sorted(recs, key=lambda r: r["method"]):
            out.append(f"| {r['method']} | " + " | ".join(r["values"][b]["printed"] if b in r["values"] else "-"
                                                       for b in bits) + " |")
        out.append("")
    comps = comparisons(reported, records)
    if comps:
        out += [f"{heading}# Reported and measured side by side", "",
                "Same method and dataset name, different protocols: read the differences before comparing.", ""]
        for c in comps:
            rep = c["reported"]
            out.append(f"**{rep['method']} on {rep['dataset']}** — {rep['paper']} {rep['table']} vs zshbench "
                       f"{c['label']} on {rep['zshbench_dataset']} / {c['protocol']} ({rep['metric']}, as fractions)")
            out.append("")
            out.append("| bits | reported (printed) | reported | measured (mean ± std, n) |")
            out.append("|---:|---:|---:|---:|")
            for b, (printed, value, mean, std, n) in sorted(c["cells"].items()):
                out.append(f"| {b} | {printed} {rep['printed_unit']} | {value:.4f} | {mean:.4f} ± {std:.4f} (n={n}) |")
            out.append("")
            out += [f"- {d}" for d in c["differences"]]
            out.append("")
    return "\n".join(out)
