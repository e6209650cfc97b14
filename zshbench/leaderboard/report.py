"""A leaderboard report: ``README.md`` (configurations, retrieval tables, cost, published numbers), one CSV per
table and the figures, all generated from records (`report_files`, `write_report`), and the headline block that
a project README shows between two markers (`sync_headline`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from zshbench.evaluate import HEADLINE_METRIC
from zshbench.leaderboard.ablations import ablation_tables, ablations_csv, render_ablations, split_ablations
from zshbench.leaderboard.render import render_cost_summary, render_csv, render_markdown
from zshbench.leaderboard.reported import reported_csvs, reported_markdown
from zshbench.leaderboard.tables import (
    DEFAULT_METRICS,
    aggregate,
    cost_summary,
    cost_tables,
    long_table,
    mark_ties,
    row_labels,
    split_records,
    table_keys,
)
from zshbench.records import Record

__all__ = [
    "config_notes",
    "HEADLINE_START",
    "HEADLINE_END",
    "headline_markdown",
    "sync_headline",
    "report_files",
    "write_report",
    "DEFAULT_METRICS",
]


def config_notes(records: Sequence[Record]) -> list[tuple[str, str]]:
    """(row label, the settings that differ from the method's defaults) per method configuration, sorted.

    A reader must know that a row ran with, e.g., ``max_steps=20``; the config hash alone does not say it. The
    settings come from each record (``non_default_params``, stored at run time), never from today's code;
    records converted from an older schema say "not recorded"."""
    seen: dict[str, str] = {}
    for label, r in zip(row_labels(records), records):
        if label in seen:
            continue
        nd = r.non_default_params
        if nd is None:
            note = "not recorded (record converted from an older schema)"
        else:
            note = ", ".join(f"{k}={nd[k]}" for k in sorted(nd)) if nd else "defaults"
        pt = r.pretraining
        if pt:
            note += f"; pretrained weights: {pt['label_set']}"
            if pt.get("overlap"):
                note += (
                    f" (WARNING: contains {len(pt['overlap'])} of the protocol's unseen classes: "
                    f"{', '.join(pt['overlap'])})"
                )
        seen[label] = note
    return sorted(seen.items())


HEADLINE_START = "<!-- zshbench:leaderboard-headline:start -->"
HEADLINE_END = "<!-- zshbench:leaderboard-headline:end -->"


HEADLINE_DATASETS = ("fashion", "shapes")


def headline_markdown(
    records: Sequence[Record], metric: str = HEADLINE_METRIC, variant_of: dict[str, str | None] | None = None
) -> str:
    """The block a project README shows between `HEADLINE_START` and `HEADLINE_END`: ``metric`` on the
    leaderboard's records (leaky, resampled and ablation ones left out) of `HEADLINE_DATASETS` (every dataset when
    none of them has records), with the report's best and ≈ marks."""
    records = split_records(list(records))[0]
    records = split_ablations(records, variant_of or {})[0]
    entries = long_table(records)
    tables = aggregate(entries, metric) if entries else []
    lead = [t for t in tables if t.dataset.split("@", 1)[0] in HEADLINE_DATASETS]
    tables = mark_ties(lead or tables, entries)
    return render_markdown(tables, heading="####").rstrip() + "\n"


def sync_headline(
    readme: str | Path, records: Sequence[Record], *, write: bool, variant_of: dict[str, str | None] | None = None
) -> str | None:
    """Compare (``write=False``) or rewrite (``write=True``) the headline block of ``readme``.

    Returns a problem message, or None when the block matches (or was rewritten)."""
    p = Path(readme)
    text = p.read_text() if p.exists() else ""
    if HEADLINE_START not in text or HEADLINE_END not in text.split(HEADLINE_START, 1)[1]:
        return (
            f"headline: {p} has no block between {HEADLINE_START} and {HEADLINE_END} (both markers, in that "
            "order); add them where the headline table belongs and run zshbench report --readme " + str(p)
        )
    head, rest = text.split(HEADLINE_START, 1)
    block, tail = rest.split(HEADLINE_END, 1)
    new = "\n" + headline_markdown(records, variant_of=variant_of)
    if block == new:
        return None
    if write:
        from zshbench.fileio import atomic_write_bytes

        atomic_write_bytes(p, (head + HEADLINE_START + new + HEADLINE_END + tail).encode())
        return None
    return (
        f"differs: the headline table in {p} does not match the records (regenerate with zshbench report --readme {p})"
    )


def report_files(
    records: Sequence[Record],
    metrics=DEFAULT_METRICS,
    regenerate_cmd: str = "",
    reported: list[dict] | None = None,
    html: bool = True,
    variant_of: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """Every text file of a report (relative path -> content); deterministic for the same records, and a
    function of the records alone (the zshbench versions shown are the records').

    Args:
        records: measured records.
        metrics: the retrieval metrics to tabulate.
        regenerate_cmd: the command printed in the header.
        reported: published numbers (``source: "paper"`` records), shown in their own section.
        html: also the static HTML page ``index.html`` (`zshbench.leaderboard.html`), which references the
            figures ``write_report`` draws by relative path.
        variant_of: method -> the method it is a registered variant of (`zshbench.leaderboard.check.method_variants`
            reads it from the registry; this module never does): those methods' runs, and runs at non-default
            settings, go to the "Ablations and variants" section. Default: no method is a variant.
    """
    from zshbench.leaderboard.effects import render_effects, render_settings, settings_table

    cmd = regenerate_cmd or "zshbench report --results leaderboard/results --out leaderboard"
    all_records = list(records)
    variant_of = variant_of or {}
    records, leaky, resampled = split_records(all_records)
    records, ablation_records = split_ablations(records, variant_of)
    ablations = ablation_tables(records, ablation_records, variant_of)
    reported = list(reported or [])
    files: dict[str, str] = {}
    entries = long_table(records)
    tables = mark_ties([t for m in metrics for t in aggregate(entries, m)], entries) if entries else []
    costs = cost_tables(entries) if entries else []
    protos = sorted({(r.protocol["name"], r.protocol["version"]) for r in records})
    versions = sorted({r.zshbench_version for r in all_records})
    generalized = settings_table(records)
    effects = render_effects(records, leaky, resampled)
    lines = [
        "# zshbench leaderboard",
        "",
        "Generated from the result records by zshbench; do not edit by hand.",
        f"Regenerate with: `{cmd}`.",
        "",
        f"- zshbench version(s) of the records: {', '.join(versions)}",
        f"- records: {len(all_records)} measured"
        + (
            f" ({len(leaky) + len(resampled)} of them for the protocol-effects analyses only)"
            if leaky or resampled
            else ""
        )
        + (f"; {len(ablation_records)} of ablations and variants (their own section)" if ablation_records else "")
        + (f"; {len(reported)} published (source: paper)" if reported else ""),
        "- protocols: " + ", ".join(f"{n} v{v}" for n, v in protos),
        "- hardware: " + ", ".join(sorted({str(r.environment.get("device_name", "?")) for r in records})),
        "- cells: mean ± std over seeds (n = number of seeds); best per column in bold; ≈ marks a row not "
        "significantly worse than the best (one-sided sign-flip tests on the per-query AP, seeds as strata, "
        "Holm-adjusted over the column, alpha 0.05; zshbench.stats, `zshbench compare` for any pair). Metric "
        "definitions: docs/metrics.md.",
        "",
        "## Configurations",
        "",
        "Settings that differ from each method's defaults (`zshbench list methods` shows the keys):",
        "",
        *[f"- {label}: {notes}" for label, notes in config_notes(records)],
        "",
        "## Retrieval",
        "",
        "Unseen-class queries against the whole database (U->A), the papers' setting.",
        "",
        render_markdown(tables),
        *(
            [
                "## Generalized zero-shot retrieval",
                "",
                "The same codes in four settings (docs/metrics.md): unseen queries against the whole database (U->A), "
                "held-out seen queries against the whole database (S->A), unseen against the unseen part (U->U), "
                "seen against the seen part (S->S), and the harmonic mean H of U->A and S->A.",
                "",
                render_settings(generalized),
            ]
            if generalized
            else []
        ),
        "## Cost",
        "",
        "Parameters: every learned number of the fitted hasher; FLOPs: encoding one item (deep methods: "
        "torch.utils.flop_counter.FlopCounterMode on one image; shallow methods: their projection, counted "
        "analytically, without the feature extractor); one multiply-add = 2 FLOPs (zshbench.complexity). "
        "Parameters on the encode path exclude training-only parts (e.g. decoders).",
        "",
        render_cost_summary(cost_summary(entries)) if entries else "",
        "### Cost by code length",
        "",
        render_markdown(costs, heading="####"),
    ]
    lines += figures_markdown(records)
    if ablations:
        lines += [render_ablations(ablations)]
    if effects:
        lines += [effects]
    if reported:
        lines += [reported_markdown(reported, records)]
    files["README.md"] = "\n".join(lines).rstrip() + "\n"
    for t in tables + costs:
        files[f"csv/{t.slug}.csv"] = render_csv(t)
    if entries:
        from zshbench.leaderboard.render import render_latex, render_tidy_csv

        quantities = sorted({name for r in records for name in r.metrics})
        files["csv/tidy.csv"] = render_tidy_csv(entries, quantities)
        keys = table_keys(records)
        protos = {label: f"{r.protocol['name']} v{r.protocol['version']}" for (_, label), r in zip(keys, records)}
        files["latex/retrieval.tex"] = render_latex(tables, protos)
    if ablations:
        files["csv/ablations.csv"] = ablations_csv(ablations)
    files.update(reported_csvs(reported))
    if html:
        from zshbench.leaderboard.html import figure_links, html_report

        ablation_ids = {id(r) for r in ablation_records}
        ranked = [r for r in all_records if id(r) not in ablation_ids]
        files["index.html"] = html_report(
            ranked, reported, figure_links(records), metrics=metrics, regenerate_cmd=cmd, ablations=ablations
        )
    return files


def figures_markdown(records: Sequence[Record]) -> list[str]:
    """The README's "Figures" section: a link to each figure `write_report` draws (PNG; PDF and SVG beside it)."""
    from zshbench.leaderboard.html import FIGURE_TITLES, figure_groups

    groups = figure_groups(records)
    if not groups:
        return []
    out = [
        "## Figures",
        "",
        "Drawn into `figures/` by `zshbench report` (not with `--no-figures`), each as PNG, PDF and SVG:",
        "",
    ]
    for (ds, proto), figs in groups:
        links = ", ".join(f"[{FIGURE_TITLES.get(p, p)}](figures/{name})" for p, name in figs)
        out.append(f"- {ds} / {proto}: {links}")
    return [*out, ""]


def regenerate_command(results: str | Path, out: str | Path) -> str:
    """The command a report prints as the way to regenerate it: ``zshbench report --results R --out O``, run from
    the folder that holds the report folder: both paths are written relative to it (``--out`` is the report
    folder's name), so the text does not depend on the current folder or on how the paths were spelled, and
    `zshbench report` and `zshbench leaderboard --check` given the same folders agree on it. The committed
    leaderboard's is ``zshbench report --results leaderboard/results --out leaderboard``."""
    import os
    import shlex

    out_abs = Path(os.path.abspath(out))
    base = out_abs.parent
    res = os.path.relpath(os.path.abspath(results), base)
    return f"zshbench report --results {shlex.quote(res)} --out {shlex.quote(out_abs.name or '.')}"


GENERATED = {"csv": (".csv",), "latex": (".tex",), "figures": (".png", ".pdf", ".svg")}
"""The generated folders of a report and the kinds of file zshbench writes there (and removes when stale)."""


def figure_files(records: Sequence[Record], variant_of: dict[str, str | None] | None = None) -> set[str]:
    """Relative paths (``figures/NAME.png|pdf|svg``) of every figure `write_report` draws for ``records``, without
    drawing them (`zshbench.leaderboard.html.figure_links` names them)."""
    from zshbench.leaderboard.html import figure_links

    drawn = split_ablations(split_records(list(records))[0], variant_of or {})[0]
    return {f"figures/{Path(n).stem}{ext}" for n in figure_links(drawn) for ext in GENERATED["figures"]}


def stale_files(
    out: str | Path,
    records: Sequence[Record],
    expected: set[str],
    variant_of: dict[str, str | None] | None = None,
    drawn: Sequence[Path] | None = None,
) -> list[Path]:
    """Files in ``out``'s generated folders (`GENERATED`) that a report of ``records`` would not write: leftovers
    of an earlier report (a dataset or method no longer in the records) or files added by hand. ``expected``:
    the relative paths of the report's text files (`report_files`); ``drawn``: the figure files just drawn,
    else the figures a report would draw (`figure_files`, named without drawing)."""
    out = Path(out)
    if drawn is not None:
        figs = {Path(os.path.abspath(p)).relative_to(Path(os.path.abspath(out))).as_posix() for p in drawn}
    else:
        figs = figure_files(records, variant_of)
    keep = set(expected) | figs
    found = []
    for folder, suffixes in GENERATED.items():
        d = out / folder
        for f in sorted(d.rglob("*")) if d.is_dir() else ():
            if f.is_file() and f.suffix in suffixes and f.relative_to(out).as_posix() not in keep:
                found.append(f)
    return found


def write_report(
    records: Sequence[Record],
    out: str | Path,
    metrics=DEFAULT_METRICS,
    figures: bool = True,
    reported: list[dict] | None = None,
    html: bool = True,
    variant_of: dict[str, str | None] | None = None,
    regenerate_cmd: str = "",
) -> list[Path]:
    """Write README.md, index.html (unless ``html`` is false), CSVs, LaTeX (and figures) under ``out``; return
    the written paths.

    Files a previous report left in the generated folders (``csv/``, ``latex/``, ``figures/``) that this report
    would not write, e.g. the figures of a dataset no longer in the records, are removed (only ``.csv``, ``.tex``,
    ``.png``, ``.pdf`` and ``.svg`` files there; `stale_files`), so the folder never shows stale results; with
    ``figures=False`` the figures this report would draw are left as they are (not redrawn). Nothing else under
    ``out`` is touched. ``regenerate_cmd``: the command the report prints (`regenerate_command`; default: the
    committed leaderboard's)."""
    from zshbench.fileio import atomic_write_bytes
    from zshbench.paths import check_writable_dir, inside

    out = check_writable_dir(out, "--out")
    written = []
    variant_of = variant_of or {}
    texts = report_files(
        records, metrics, regenerate_cmd=regenerate_cmd, reported=reported, html=html, variant_of=variant_of
    )
    for rel, text in texts.items():
        p = inside(out, rel)
        atomic_write_bytes(p, text.encode())
        written.append(p)
    drawn = None
    if figures:
        from zshbench.leaderboard.figures import write_figures

        drawn = write_figures(split_ablations(split_records(list(records))[0], variant_of)[0], out / "figures")
        written += drawn
    page = out / "index.html"
    if (
        not html
        and page.is_file()
        and '<meta name="generator" content="zshbench">' in page.read_text("utf-8", "replace")
    ):
        page.unlink()  # a page of an earlier report would show stale results
    for f in stale_files(out, records, set(texts), variant_of, drawn=drawn):
        f.unlink()
    return written
