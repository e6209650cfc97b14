"""A static HTML leaderboard: one page (``index.html``) with sortable tables, the figures, the published numbers
next to zshbench's measurements, and the provenance of every number, generated from records alone.

`html_report` is pure: the same records (in any order) give the same bytes, so ``zshbench leaderboard --check``
can compare the committed page like the README. Nothing is fetched when the page loads: its CSS and JavaScript
are inline (a Content-Security-Policy allows only them, by hash, and images from the page's own folder or
``data:``), and a figure is either embedded (`html_report` is given its bytes: a ``data:`` URI, one
self-contained file) or referenced by a relative path (``figures/pr_....png``, the file the report writes beside
the page; `figure_links`). The committed leaderboard references the files: the page then does not depend on
matplotlib's PNG bytes (which change with matplotlib and FreeType versions and which ``--check`` does not
compare), ``--check`` rebuilds it without plotting, and it stays small (187 KB for the committed leaderboard,
1.0 MB with its ten figures embedded, and every redrawn figure would rewrite the page).

Tables hold the same cells as the Markdown report (`zshbench.leaderboard.render.format_cell`); only records of
the ``standard`` evaluation variant enter them (`split_variants`). Sorting: every column header is a button;
clicking it sorts the rows (numbers by value, '-' last in either direction, ties in the original order) and sets
``aria-sort`` on that header.

This module is longer than 450 lines because the page's stylesheet and script are inline constants (the page
must carry them) and each section of the one page (retrieval, settings, cost, figures, published numbers,
provenance) is a short builder over the same table helper; split apart, one page's markup would be scattered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path, PurePosixPath

from zshbench.evaluate import HEADLINE_METRIC
from zshbench.leaderboard.render import format_cell
from zshbench.leaderboard.reported import (
    _bits_sorted,
    _fmt,
    _groups,
    _metric_key,
    _notes,
    _printed,
    _unit,
    comparisons,
    row_label,
)
from zshbench.leaderboard.tables import (
    DEFAULT_METRICS,
    SUMMARY_BITS,
    aggregate,
    cost_summary,
    cost_tables,
    long_table,
    mean_std,
    row_labels,
    table_keys,
)
from zshbench.paths import slug
from zshbench.records import Record

__all__ = ["HTML_NAME", "html_report", "figure_links", "split_variants", "SETTING_COLUMNS"]

HTML_NAME = "index.html"
SETTING_COLUMNS = ("U->A", "S->A", "U->U", "S->S", "H")  # U->A is the record's own metrics (the headline setting)
_FIGURES = (  # file-name prefix, caption; in display order (a prefix not listed is shown after, captioned by name)
    ("pr", "Precision-recall by Hamming radius"),
    ("pn", "Precision@N"),
    ("rn", "Recall@N"),
    ("map_vs_bits", f"{HEADLINE_METRIC} against code length"),
    ("hamming", "Mean Hamming distance between unseen query classes (rows) and seen classes (columns)"),
)
_MIME = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
_DEFAULT_CMD = "zshbench report --results leaderboard/results --out leaderboard --html"

_CSS = """
:root{color-scheme:light;--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--head:#f2f2f2;--accent:#0b57d0}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;
max-width:1200px;padding:0 1rem 3rem}
h1{margin:1.2rem 0 .4rem}h2{margin-top:2.4rem;border-bottom:2px solid var(--line)}h3{margin-top:1.6rem}
code{font-size:.9em;overflow-wrap:anywhere}.note{color:var(--muted)}
nav ul{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;padding:0;list-style:none}
.scroll{overflow-x:auto;margin:.4rem 0 1rem}.scroll:focus{outline:2px solid var(--accent)}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border:1px solid var(--line);padding:.25rem .55rem;white-space:nowrap}
thead th{background:var(--head);vertical-align:bottom;white-space:normal;min-width:4.5em}
thead th:first-child{white-space:nowrap}
td{text-align:right}td.t{text-align:left}tbody th{text-align:left;font-weight:400}
thead th button{all:unset;cursor:pointer;font-weight:600}
thead th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
thead th button::after{content:" \\2195";content:" \\2195"/"";color:#999}
th[aria-sort=ascending] button::after{content:" \\25B2";content:" \\25B2"/"";color:var(--fg)}
th[aria-sort=descending] button::after{content:" \\25BC";content:" \\25BC"/"";color:var(--fg)}
td strong{font-weight:700}
figure{display:inline-block;margin:.5rem 1rem 1rem 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid var(--line)}figcaption{font-size:.9em;color:var(--muted)}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600}
/* the arrows are decoration (empty alternative text): screen readers read aria-sort */
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
"""

_JS = """
(function () {
  "use strict";
  var status = document.getElementById("sort-status");
  function key(row, col, numeric) {
    var v = row.cells[col] ? row.cells[col].getAttribute("data-sort") : null;
    if (v === null || v === "") return null;
    return numeric ? parseFloat(v) : v;
  }
  function sortTable(table, col, dir) {
    var heads = table.tHead.rows[0].cells, numeric = heads[col].getAttribute("data-type") === "number";
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, col, numeric), y = key(b, col, numeric), d = 0;
      if (x === null || y === null) { d = (x === null) - (y === null); }
      else { d = x < y ? -1 : (x > y ? 1 : 0); if (dir === "descending") d = -d; }
      return d || (+a.getAttribute("data-index") - +b.getAttribute("data-index"));
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var i = 0; i < heads.length; i++) {
      if (i === col) heads[i].setAttribute("aria-sort", dir); else heads[i].removeAttribute("aria-sort");
    }
    if (status) status.textContent = (table.caption ? table.caption.textContent + ": " : "") + "sorted by " +
      heads[col].textContent + ", " + dir;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th button"), function (btn) {
    btn.addEventListener("click", function () {
      var th = btn.parentNode, table = th.closest("table"), now = th.getAttribute("aria-sort");
      var dir = now === "ascending" ? "descending" : (now === "descending" ? "ascending"
        : th.getAttribute("data-first") || "ascending");
      sortTable(table, th.cellIndex, dir);
    });
  });
})();
"""


def split_variants(records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    """(the leaderboard's records, the others): only the first enter the tables; ``leaky`` records (the published
    COMAE/PIXEL code's query/database overlap) and records of resampled class splits (``<protocol>-rsNN``, the
    split-variance analysis) are shown apart (`zshbench.leaderboard.tables.split_records`)."""
    from zshbench.leaderboard.tables import split_records

    main, leaky, resampled = split_records(list(records))
    return main, leaky + resampled


def figure_links(records: Sequence[Record], bits: int | None = None) -> dict[str, str]:
    """File name -> relative path (``figures/<name>``) of every figure `zshbench.leaderboard.figures.write_figures`
    draws for ``records``, without drawing them (so ``--check`` can rebuild the page without plotting): per
    table, the three curve figures and mAP against code length, the settings figure when a record carries
    ``settings``, AP against attribute distance when one carries ``per_class``, and the Hamming matrix when one
    carries ``class_distances`` (the conditions of `zshbench.leaderboard.figures.iter_figures`).
    ``tests/test_html.py`` compares it with the files write_figures writes."""
    names = [name for _, figs in figure_groups(records) for _, name in figs]
    return {n: f"figures/{n}" for n in sorted(names)}


#: what each figure shows, by file-name prefix (the report's README lists them under "Figures")
FIGURE_TITLES = {
    "pr": "precision-recall by Hamming radius",
    "pn": "precision@N",
    "rn": "recall@N",
    "map_vs_bits": f"{HEADLINE_METRIC} by code length",
    "settings": "the four retrieval settings",
    "ap_vs_distance": "AP of each unseen class against its attribute distance to the seen classes",
    "hamming": "mean Hamming distance between classes",
}


def figure_groups(records: Sequence[Record]) -> list[tuple[tuple[str, str], list[tuple[str, str]]]]:
    """Per (dataset, protocol) table, sorted: the (prefix, PNG file name) of each figure drawn for it (see
    `figure_links`)."""
    from zshbench.leaderboard.figures import standard_records

    records = standard_records(split_variants(records)[0])
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for key, r in zip(table_keys(records), records):
        groups[key].append(r)
    out = []
    for (ds, proto), recs in sorted(groups.items()):
        prefixes = ["pr", "pn", "rn", "map_vs_bits"]
        if any(r.settings for r in recs):
            prefixes.append("settings")
        if any(getattr(r, "per_class", None) for r in recs):
            prefixes.append("ap_vs_distance")
        if any(r.class_distances for r in recs):
            prefixes.append("hamming")
        out.append(((ds, proto), [(p, f"{p}_{slug(ds)}_{slug(proto)}.png") for p in prefixes]))
    return out


# -- small HTML builders --------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _num(x: float | None) -> str | None:
    return repr(float(x)) if x is not None and math.isfinite(float(x)) else None


def _anchor(*parts: str) -> str:
    return "--".join(slug(p.replace("@", "at").replace(":", "-").replace(">", "")) for p in parts)


def _link(url: str) -> str:
    """A link the reader may follow (nothing is fetched when the page loads); other schemes stay plain text."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{_e(url)}" rel="noreferrer">{_e(url)}</a>'
    return f"<code>{_e(url)}</code>"


def _td(kind: str, text: str, key: str | None, bold: bool) -> str:
    attr = (' class="t"' if kind == "text" else "") + ("" if key is None else f' data-sort="{_e(key)}"')
    return f"<td{attr}>" + (f"<strong>{_e(text)}</strong>" if bold else _e(text)) + "</td>"


def _table(
    tid: str,
    caption: str,
    columns: list[tuple[str, str, str]],
    rows: list[tuple[str, list]],
    *,
    by_label: bool = True,
) -> str:
    """A sortable table. ``columns``: (header, "text" or "number", first sort direction), the first one being
    the row labels; ``rows``: (label, [(text, sort value or None, bold)]) in their initial order, which is the
    labels' (``aria-sort`` on the first header) unless ``by_label`` is False (e.g. a paper's printed order)."""
    head = []
    for i, (name, kind, first) in enumerate(columns):
        sort = ' aria-sort="ascending"' if i == 0 and by_label else ""
        head.append(
            f'<th scope="col" data-type="{kind}" data-first="{first}"{sort}><button type="button">{_e(name)}'
            "</button></th>"
        )
    body = [
        f'<tr data-index="{i}"><th scope="row" data-sort="{_e(label)}">{_e(label)}</th>'
        + "".join(_td(col[1], *c) for col, c in zip(columns[1:], cells))
        + "</tr>"
        for i, (label, cells) in enumerate(rows)
    ]
    return (
        f'<div class="scroll" role="region" tabindex="0" aria-labelledby="{tid}-caption">'
        f'<table class="sortable" id="{tid}"><caption id="{tid}-caption">{_e(caption)}</caption>'
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table></div>"
    )


def _pivot_html(t, tid: str, caption: str) -> str:
    """A `zshbench.leaderboard.tables.Table` with the Markdown report's cells (best per column in bold)."""
    first = "descending" if t.higher_is_better else "ascending"
    cols = [("method", "text", "ascending")] + [(f"{b} bits", "number", first) for b in t.bits]
    rows = []
    for label, cells in t.rows:
        out = []
        for b in t.bits:
            txt = format_cell(cells.get(b), fmt=t.fmt)
            out.append((txt, _num(cells[b][0]) if b in cells else None, t.is_best(b, label) and txt != "-"))
        rows.append((label, out))
    return _table(tid, caption, cols, rows)


def _figure_src(name: str, value: bytes | str | os.PathLike) -> str:
    if isinstance(value, bytes | bytearray):
        mime = _MIME.get(PurePosixPath(name).suffix.lower())
        if mime is None:
            raise ValueError(
                f"figure {name!r}: cannot embed a '{PurePosixPath(name).suffix}' file; use one of "
                f"{', '.join(sorted(_MIME))}, or pass a relative path instead of bytes."
            )
        return f"data:{mime};base64," + base64.b64encode(bytes(value)).decode("ascii")
    ref = Path(value).as_posix() if isinstance(value, os.PathLike) else str(value)
    if ref.startswith(("/", "\\")) or ":" in ref.split("/", 1)[0]:
        raise ValueError(
            f"figure {name!r}: {ref!r} is not a relative path; the page must work offline and when moved with its "
            "folder: give the path relative to the page (e.g. 'figures/pr_digits_digits-zsh.png') or the bytes."
        )
    return escape(ref, quote=True)


def _figures_html(figs: list[tuple[str, str, bytes | str | os.PathLike]]) -> str:
    out = []
    for name, caption, value in figs:
        out.append(
            f'<figure><img src="{_figure_src(name, value)}" alt="{_e(caption)}">'
            f'<figcaption>{_e(caption)} <span class="note">({_e(name)})</span></figcaption></figure>'
        )
    return "\n".join(out)


def _assign_figures(keys: list[tuple[str, str]], figures: Mapping) -> tuple[dict, list]:
    """Figures per table (matched by the ``_<dataset>_<protocol>`` end of their file name), and the others."""
    per: dict[tuple[str, str], list] = defaultdict(list)
    other = []
    order = {p: i for i, (p, _) in enumerate(_FIGURES)}
    captions = dict(_FIGURES)
    for name in sorted(figures):
        stem = PurePosixPath(name).stem
        key = next((k for k in keys if stem.endswith(f"_{slug(k[0])}_{slug(k[1])}")), None)
        if key is None:
            other.append((name, name, figures[name]))
            continue
        prefix = stem[: -len(f"_{slug(key[0])}_{slug(key[1])}")]
        caption = f"{key[0]} / {key[1]}: " + captions.get(prefix, prefix)
        per[key].append((order.get(prefix, len(order)), name, caption, figures[name]))
    return {k: [(n, c, v) for _, n, c, v in sorted(v, key=lambda x: x[:2])] for k, v in per.items()}, other


# -- sections ---------------------------------------------------------------------------------------------------


def _settings_html(recs: list[Record], labels: dict[int, str], key: tuple[str, str], metrics) -> str:
    """Per metric, mean ± std over seeds of each retrieval setting at `SUMMARY_BITS` (or the nearest)."""
    if not any(r.settings for r in recs):
        return ""
    b = min(sorted({r.n_bits for r in recs}), key=lambda v: (abs(v - SUMMARY_BITS), v))
    at_b = [r for r in recs if r.n_bits == b]
    out = []
    for metric in metrics:
        vals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in at_b:
            per = {"U->A": r.metrics, **(r.settings or {})}
            for s in SETTING_COLUMNS:
                if metric in per.get(s, {}):
                    vals[labels[id(r)]][s].append(float(per[s][metric]))
        present = [s for s in SETTING_COLUMNS if any(s in v for v in vals.values())]
        if len(present) < 2:
            continue
        cols = [("method", "text", "ascending")] + [(s, "number", "descending") for s in present]
        rows = []
        for label in sorted(vals):
            cells = []
            for s in present:
                xs = vals[label].get(s)
                c = (*mean_std(xs), len(xs)) if xs else None
                cells.append((format_cell(c), _num(c[0]) if c else None, False))
            rows.append((label, cells))
        tid = _anchor(*key, "settings", metric)
        out.append(_table(tid, f"{metric} by retrieval setting, {b} bits", cols, rows))
    if not out:
        return ""
    return (
        f'<h3>Retrieval settings at {b} bits</h3>\n<p class="note">From the same codes: U-&gt;A unseen queries '
        "against the whole database (the tables above), S-&gt;A held-out seen queries against the whole database, "
        "U-&gt;U and S-&gt;S against the unseen or seen part only, H the harmonic mean of U-&gt;A and S-&gt;A "
        "(zshbench.evaluate.settings). Cells: mean ± std over seeds (n).</p>\n" + "\n".join(out)
    )


def _cost_html(summary: dict, costs: list, key: tuple[str, str]) -> str:
    cols = [("method", "text", "ascending")] + [(c, "number", "ascending") for c in summary["columns"]]
    rows = []
    for label, cells in summary["rows"]:
        rows.append(
            (
                label,
                [
                    (format_cell(cells[c][0], fmt=cells[c][1]), _num(cells[c][0][0]) if cells[c][0] else None, False)
                    for c in summary["columns"]
                ],
            )
        )
    out = [
        f"<h3>Cost at {summary['bits']} bits</h3>",
        '<p class="note">Parameters: every learned number of the fitted hasher (on the encode path: without '
        "training-only parts); FLOPs: encoding one item, one multiply-add = 2 FLOPs (zshbench.complexity). Times "
        "are wall-clock on the hardware listed under Provenance; compare them only within this report.</p>",
        _table(_anchor(*key, "cost"), f"cost at {summary['bits']} bits", cols, rows),
    ]
    if costs:
        out.append("<details><summary>Cost by code length</summary>")
        out += [_pivot_html(t, _anchor(*key, "cost", t.metric), t.metric) for t in costs]
        out.append("</details>")
    return "\n".join(out)


def _reported_html(reported: list[dict], records: list[Record]) -> str:
    if not reported:
        return ""
    out = [
        '<section id="reported"><h2>Reported in the papers</h2>',
        "<p>Numbers as published, copied from the cited tables (leaderboard/reported/); <strong>not measured by "
        "zshbench</strong> and not comparable cell by cell with the tables above (different data, splits, "
        "backbones and training budgets). Read each comparison's differences before comparing.</p>",
    ]
    comps = comparisons(reported, records)
    out.append("<h3>Reported and measured side by side</h3>")
    if not comps:
        out.append('<p class="note">No published number matches a measured method, dataset and code length.</p>')
    for i, c in enumerate(comps):
        rep, unit = c["reported"], _unit(c["reported"])
        title = (
            f"{row_label(rep)} on {rep['dataset']} — {rep['paper']} {rep['table']} vs zshbench {c['label']} on "
            f"{c['dataset']} / {c['protocol']} ({rep['metric']}, "
            + ("as fractions)" if unit == "fraction" else f"in {unit})")
        )
        cols = [("bits", "number", "ascending")] + [
            (h, "number", "descending") for h in ("reported (printed)", "reported", "measured (mean ± std, n)")
        ]
        rows = [
            (
                str(b),
                [
                    (_printed(rep, printed), _num(value), False),
                    (_fmt(value, unit), _num(value), False),
                    (f"{_fmt(mean, unit)} ± {_fmt(std, unit)} (n={n})", _num(mean), False),
                ],
            )
            for b, (printed, value, mean, std, n) in sorted(c["cells"].items())
        ]
        out.append(f"<h4>{_e(title)}</h4>")
        out.append(_table(f"comparison-{i + 1}", f"{rep['metric']}: reported and measured", cols, rows))
        generic = c["differences"][: len(c["differences"]) - len(c["caveats"])]
        items = [f"<li>{_e(d)}</li>" for d in generic]
        if c["caveats"]:
            sub = "".join(f"<li>{_e(d)}</li>" for d in c["caveats"])
            items.append(f"<li>From the paper and its published code (protocol_caveats):<ul>{sub}</ul></li>")
        out.append("<ul>" + "".join(items) + "</ul>")
    out.append("<h3>The published tables as printed</h3>")
    for (paper, table, ds), recs in _groups(reported).items():
        metrics = sorted({r["metric"] for r in recs}, key=_metric_key)
        cols_mb = [
            (m, b) for m in metrics for b in _bits_sorted(k for r in recs if r["metric"] == m for k in r["values"])
        ]
        one = len(metrics) == 1
        units = ", ".join(sorted({r["printed_unit"] for r in recs}))
        rows_by: dict[str, dict[str, dict]] = {}
        for r in recs:
            rows_by.setdefault(row_label(r), {})[r["metric"]] = r
        rows = []
        for label, per in rows_by.items():
            cells = []
            for m, b in cols_mb:
                v = per[m]["values"].get(b) if m in per else None
                cells.append((v["printed"], _num(v["value"]), False) if v else ("-", None, False))
            rows.append((label, cells))
        title = f"{paper}, {table}: {ds} — {', '.join(metrics)} (printed in {units})"
        cols = [("method", "text", "ascending")] + [
            (f"{b} bits" if one else f"{m}, {b} bits", "number", "descending") for m, b in cols_mb
        ]
        body = [
            f"<p>Source: {_e(recs[0]['citation'])} {_link(recs[0]['url'])}</p>",
            "<p>Protocol (as described by the paper): "
            + _e(" ".join(dict.fromkeys(r["protocol_description"] for r in recs)))
            + "</p>",
            _table(_anchor("reported", paper, table, ds), f"{paper}, {table}: {ds}", cols, rows, by_label=False),
        ]
        caveats = list(dict.fromkeys(c for r in recs for c in r.get("protocol_caveats", [])))
        notes = _notes(recs, one)
        if caveats:
            body.append("<p>Protocol caveats:</p><ul>" + "".join(f"<li>{_e(c)}</li>" for c in caveats) + "</ul>")
        if notes:
            body.append("<p>Notes:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
        out.append(f"<details><summary>{_e(title)}</summary>\n" + "\n".join(body) + "\n</details>")
    out.append("</section>")
    return "\n".join(out)


def _counts(values) -> str:
    return ", ".join(f"{v} ({n} record{'' if n == 1 else 's'})" for v, n in sorted(Counter(values).items()))


def _provenance_html(records: list[Record], others: list[Record], n_reported: int, cmd: str) -> str:
    from zshbench.leaderboard.report import config_notes  # report.py may import this module: no import cycle

    out = ['<section id="provenance"><h2>Provenance</h2>']
    out.append(f"<p>Regenerate with: <code>{_e(cmd)}</code> (never edit this page by hand).</p><ul>")
    out.append(
        f"<li>records in the tables: {len(records)} measured (evaluation variant <code>standard</code>)"
        + (f"; {n_reported} published (source: paper)" if n_reported else "")
        + "</li>"
    )
    if others:
        out.append(
            f"<li>left out of every table: {len(others)} record(s) of another evaluation variant: "
            + _e(_counts(r.evaluation.get("variant") for r in others))
            + "</li>"
        )
    out.append("<li>zshbench versions of the records: " + _e(_counts(r.zshbench_version for r in records)))
    out.append(
        "</li><li>git commits of the records: "
        + _e(_counts(str(r.environment.get("git_commit") or "unknown")[:12] for r in records))
        + "</li></ul>"
    )
    protos: dict[tuple, list[Record]] = defaultdict(list)
    for r in records:
        p = r.protocol
        protos[(p["name"], str(p["version"]), str(p.get("sha256", "")), p.get("pinned"))].append(r)
    cols = [("protocol", "text", "ascending")] + [
        (h, "text", "ascending") for h in ("version", "sha256", "pinned", "datasets", "train / query / database")
    ]
    cols.append(("records", "number", "descending"))
    rows = []
    for (name, version, sha, pinned), rs in sorted(protos.items(), key=lambda kv: tuple(map(str, kv[0]))):
        sc = rs[0].split_counts
        split = " / ".join(str(sc.get(k, "?")) for k in ("train", "query", "database")) if sc else "-"
        texts = [version, sha or "-", {True: "yes", False: "no"}.get(pinned, "unknown")]
        texts += [", ".join(sorted({r.dataset for r in rs})), split]
        rows.append((name, [(t, t, False) for t in texts] + [(str(len(rs)), str(len(rs)), False)]))
    out.append(_table("provenance-protocols", "Protocols", cols, rows))
    hw: Counter = Counter()
    fields = ("device", "cpu_count", "python", "numpy", "torch")
    for r in records:
        env = r.environment
        hw[(str(env.get("device_name", "?")), *(str(env.get(f, "-")) for f in fields))] += 1
    cols = [("hardware", "text", "ascending")] + [(f, "text", "ascending") for f in fields]
    cols.append(("records", "number", "descending"))
    rows = [(k[0], [(t, t, False) for t in k[1:]] + [(str(n), str(n), False)]) for k, n in sorted(hw.items())]
    out.append(_table("provenance-hardware", "Hardware and software of the runs", cols, rows))
    notes = config_notes(records)
    if notes:
        out.append(
            "<h3>Configurations</h3><p>Settings that differ from each method's defaults (from the records; "
            "<code>zshbench list methods</code> shows the keys):</p><ul>"
        )
        out += [f"<li><strong>{_e(label)}</strong>: {_e(note)}</li>" for label, note in notes]
        out.append("</ul>")
    conv: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for m, text in r.metric_conventions.items():
            conv[m].add(str(text))
    if conv:
        out.append("<h3>Metrics</h3><p>Conventions as stored in the records (docs/metrics.md):</p><dl>")
        for m in sorted(conv):
            out.append(f"<dt><code>{_e(m)}</code></dt>" + "".join(f"<dd>{_e(t)}</dd>" for t in sorted(conv[m])))
        out.append("</dl>")
    out.append("</section>")
    return "\n".join(out)


def _ablations_html(tables: Sequence[dict]) -> str:
    """The "Ablations and variants" section (`zshbench.leaderboard.ablations`); empty without ablations."""
    if not tables:
        return ""
    from zshbench.leaderboard.ablations import _cell

    out = [
        '<section id="ablations"><h2>Ablations and variants</h2>',
        '<p class="note">Registered variants and runs at non-default settings, each beside its base method\'s '
        "default run on the same seeds and code lengths; in parentheses the difference from that base cell. Not in "
        "the ranking tables; no significance test (one seed per cell in the committed grid).</p>",
    ]
    for t in tables:
        cols = [(st, b) for st in t["settings"] for b in t["bits"]]
        out.append(f"<h3>{_e(t['dataset'])} / {_e(t['protocol'])}: {_e(t['base'])}, {_e(t['metric'])}</h3>")
        out.append(
            '<div class="scroll"><table><thead><tr><th scope="col">configuration</th>'
            + "".join(f'<th scope="col">{_e(st)} {b} bits</th>' for st, b in cols)
            + "</tr></thead><tbody>"
        )
        for i, (label, cells) in enumerate(t["rows"]):
            out.append(
                f'<tr><th scope="row">{_e(label)}</th>'
                + "".join(f"<td>{_e(_cell(cells.get(c), i == 0))}</td>" for c in cols)
                + "</tr>"
            )
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "\n".join(out)


def _variants_html(others: list[Record]) -> str:
    if not others:
        return ""
    out = [
        '<section id="variants"><h2>Other evaluation variants (not in the tables)</h2>',
        "<p>The <code>leaky</code> variant reproduces the published COMAE/PIXEL code's mistake (the unseen queries "
        "are also in the database, so each finds itself at distance 0). It is measured to show the protocol's "
        "effect and is <strong>not comparable</strong> with the tables above.</p>",
    ]
    for variant in sorted({str(r.evaluation.get("variant")) for r in others}):
        recs = [r for r in others if str(r.evaluation.get("variant")) == variant]
        for t in aggregate(recs, HEADLINE_METRIC):
            out.append(_pivot_html(t, _anchor("variant", variant, t.dataset, t.protocol), f"{variant}: {t.title}"))
    out.append("</section>")
    return "\n".join(out)


def html_report(
    records: Sequence[Record],
    reported: Sequence[dict] | None = None,
    figures: Mapping[str, bytes | str | os.PathLike] | None = None,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    regenerate_cmd: str = "",
    ablations: Sequence[dict] = (),
) -> str:
    """The leaderboard as one HTML page; pure and deterministic (the same records, in any order, give the same
    text).

    Args:
        records: measured records; those of an evaluation variant other than ``standard`` are left out of the
            tables (`split_variants`) and shown in their own section.
        reported: published numbers (``source: "paper"`` records), their tables as printed and the side-by-side
            comparisons (`zshbench.leaderboard.reported.comparisons`).
        figures: figure file name (``"pr_digits_digits-zsh.png"``) -> its bytes (embedded as a ``data:`` URI) or
            its path relative to the page (``"figures/pr_digits_digits-zsh.png"``, see `figure_links`). A figure
            is shown with the table whose ``_<dataset>_<protocol>`` ends its name, otherwise under "Other figures".
        metrics: the retrieval metrics to tabulate.
        regenerate_cmd: the command shown under Provenance.
        ablations: the tables of `zshbench.leaderboard.ablations.ablation_tables` (their records are not in
            ``records``), shown in their own section.

    Returns:
        The page (UTF-8 text ending in a newline).

    Raises:
        ValueError: a figure given as an absolute path or URL, or as bytes of a type a browser cannot show.

    Example:
        >>> from zshbench.leaderboard.html import figure_links, html_report
        >>> page = html_report(records, reported, figure_links(records))  # doctest: +SKIP
    """
    records = sorted(records, key=lambda r: (r.identity_hash, r.content_sha256))
    std, others = split_variants(records)
    reported = sorted(
        reported or [], key=lambda r: json.dumps({k: v for k, v in r.items() if k != "_path"}, sort_keys=True)
    )
    figures = dict(figures or {})
    entries = long_table(std)
    from zshbench.leaderboard.tables import dataset_rank

    keys = sorted(set(table_keys(std)), key=lambda k: (dataset_rank(k[0]), k[1]))  # fashion leads, as in the README
    labels = dict(zip(map(id, std), row_labels(std)))
    by_key: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for k, r in zip(table_keys(std), std):
        by_key[k].append(r)
    tables = [t for m in metrics for t in aggregate(entries, m)] if entries else []
    costs = cost_tables(entries) if entries else []
    summaries = {(s["dataset"], s["protocol"]): s for s in (cost_summary(entries) if entries else [])}
    figs, other_figs = _assign_figures(keys, figures)

    sections = []
    for key in keys:
        sid = _anchor(*key)
        parts = [f'<section id="{sid}"><h2>{_e(key[0])} / {_e(key[1])}</h2>', "<h3>Retrieval</h3>"]
        parts.append(
            '<p class="note">Cells: mean ± sample std over seeds (n = number of seeds); best mean per column in '
            "bold. Click a column header to sort.</p>"
        )
        parts += [_pivot_html(t, _anchor(*key, t.metric), t.metric) for t in tables if (t.dataset, t.protocol) == key]
        parts.append(_settings_html(by_key[key], labels, key, metrics))
        if key in summaries:
            parts.append(_cost_html(summaries[key], [t for t in costs if (t.dataset, t.protocol) == key], key))
        if figs.get(key):
            parts += ["<h3>Figures</h3>", _figures_html(figs[key])]
        parts.append("</section>")
        sections.append("\n".join(p for p in parts if p))
    if other_figs:
        sections.append('<section id="other-figures"><h2>Other figures</h2>\n' + _figures_html(other_figs))
        sections[-1] += "\n</section>"
    sections.append(_reported_html(list(reported), std))
    sections.append(_ablations_html(ablations))
    sections.append(_variants_html(others))
    cmd = regenerate_cmd or _DEFAULT_CMD
    sections.append(_provenance_html(std, others, len(reported), cmd))

    nav = [(f"{k[0]} / {k[1]}", _anchor(*k)) for k in keys]
    nav += [("Other figures", "other-figures")] if other_figs else []
    nav += [("Reported in the papers", "reported")] if reported else []
    nav += [("Ablations and variants", "ablations")] if ablations else []
    nav += [("Other evaluation variants", "variants")] if others else []
    nav += [("Provenance", "provenance")]
    protos = ", ".join(sorted({f"{r.protocol['name']} v{r.protocol['version']}" for r in std})) or "none"
    css, js = _CSS.strip(), _JS.strip()
    csp = (
        "default-src 'none'; img-src 'self' data:; "
        f"style-src 'sha256-{_sha(css)}'; script-src 'sha256-{_sha(js)}'; base-uri 'none'; form-action 'none'"
    )
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="zshbench">',
        "<title>zshbench leaderboard</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        "<header><h1>zshbench leaderboard</h1>",
        "<p>Generated from the result records by zshbench; do not edit by hand. "
        f"{len(std)} measured record(s); protocols: {_e(protos)}. Metric definitions: docs/metrics.md; "
        "provenance at the end of the page.</p>",
        '<nav aria-label="Contents"><ul>' + "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for t, a in nav),
        "</ul></nav></header>",
        '<div id="sort-status" class="visually-hidden" role="status" aria-live="polite"></div>',
        "<main>",
    ]
    if not std:
        head.append('<p class="note">No measured record of the standard evaluation variant.</p>')
    tail = ["</main>", f"<script>{js}</script>", "</body>", "</html>"]
    return "\n".join(head + [s for s in sections if s] + tail) + "\n"


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode("ascii")
