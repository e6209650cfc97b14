"""Leaderboard tables, CSVs and figures derived from result records — never hand-edited.

The leaderboard is a pure function of typed records (`zshbench.records.Record`):

* `tables`: one long table of (run, quantity, value) (`long_table`) and its pivots: `aggregate` (one `Table`
  per dataset/protocol for a retrieval metric: rows = method (with its config hash when a method has several
  configs), columns = code lengths, cells = mean ± std over seeds with the number of seeds), `cost_tables` and
  `cost_summary` (RAZH's Table III);
* `render`: deterministic text renderings (rich, Markdown, CSV, JSON);
* `reported`: the published numbers (``source: "paper"`` records of ``leaderboard/reported/``), in their own
  section, and the side-by-side comparison with measured records;
* `report`: ``README.md``, CSVs and figures (`figures`), and the README headline block;
* `check`: what makes ``zshbench leaderboard --check`` fail (the only module that reads the code: method
  versions for staleness).
"""

from __future__ import annotations

from zshbench.leaderboard.check import check, conflicts, protocol_problems, record_key, stale
from zshbench.leaderboard.render import (
    format_cell,
    render_cost_summary,
    render_csv,
    render_json,
    render_latex,
    render_markdown,
    render_rich,
    render_tidy_csv,
)
from zshbench.leaderboard.report import (
    HEADLINE_END,
    HEADLINE_START,
    config_notes,
    headline_markdown,
    report_files,
    sync_headline,
    write_report,
)
from zshbench.leaderboard.reported import comparisons, protocol_differences, reported_csvs, reported_markdown
from zshbench.leaderboard.tables import (
    COST_COLUMNS,
    DEFAULT_METRICS,
    Entry,
    Table,
    aggregate,
    cost_summary,
    cost_tables,
    long_table,
    pivot,
    row_labels,
    table_keys,
)

__all__ = [
    "Table",
    "Entry",
    "long_table",
    "pivot",
    "aggregate",
    "cost_tables",
    "cost_summary",
    "row_labels",
    "table_keys",
    "render_cost_summary",
    "render_rich",
    "render_markdown",
    "render_csv",
    "render_latex",
    "render_tidy_csv",
    "render_json",
    "format_cell",
    "record_key",
    "conflicts",
    "stale",
    "protocol_problems",
    "write_report",
    "report_files",
    "check",
    "DEFAULT_METRICS",
    "COST_COLUMNS",
    "reported_markdown",
    "reported_csvs",
    "comparisons",
    "protocol_differences",
    "config_notes",
    "headline_markdown",
    "sync_headline",
    "HEADLINE_START",
    "HEADLINE_END",
]
