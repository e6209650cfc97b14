"""``zshbench leaderboard`` and ``zshbench report``."""

from __future__ import annotations

import argparse
import sys

from zshbench.cli.common import console
from zshbench.errors import UserError
from zshbench.evaluate import HEADLINE_METRIC

__all__ = ["add_parsers", "cmd_leaderboard", "cmd_report"]


def add_parsers(sub) -> None:
    lb = sub.add_parser("leaderboard", help="tables of mean ± std over seeds from result records")
    lb.add_argument("--results", default="results", help="the records' folder (default: ./results)")
    lb.add_argument(
        "--metric",
        default=None,
        help=f"the metric tabulated (default: {HEADLINE_METRIC}, or map@K when every record was evaluated with "
        "--k K), e.g. map@all, tie_aware@5000, p@h2, pr_auc; a wrong name lists the records' metrics",
    )
    lb.add_argument(
        "--format",
        choices=["rich", "md", "csv", "latex", "json"],
        default="rich",
        help="rich (terminal), md, csv (tidy: one row per method, config, dataset, protocol, setting, metric and "
        "code length), latex (booktabs tables for a paper) or json",
    )
    lb.add_argument(
        "--setting",
        default="U->A",
        help="retrieval setting: U->A (default: unseen queries vs the whole database, the papers' setting), S->A, "
        "U->U or S->S (also ua, sa, uu, ss; quote 'U->A' in a shell)",
    )
    lb.add_argument(
        "--check",
        action="store_true",
        help="regenerate from the records and fail when --out differs, or a record is invalid, stale or in conflict",
    )
    lb.add_argument("--out", default="leaderboard", help="the report directory --check compares with")
    lb.add_argument(
        "--readme",
        default=None,
        metavar="PATH",
        help="with --check: also compare the headline table in this file (e.g. README.md)",
    )
    lb.add_argument(
        "--reproduce",
        action="store_true",
        help="with --check: re-run every shallow-method record and the deep reference records "
        "(<out>/reference) and fail when a number changed without a new method version",
    )
    lb.add_argument(
        "--reported",
        default=None,
        help="published numbers (source: paper records); default: leaderboard/reported when it exists",
    )

    rp = sub.add_parser("report", help="write README.md, CSVs, LaTeX, figures and index.html of the leaderboard")
    rp.add_argument("--results", default="results", help="the records' folder (default: ./results)")
    rp.add_argument(
        "--out",
        default="report",
        help="output folder (default: ./report; the committed leaderboard is made with --out leaderboard)",
    )
    rp.add_argument("--no-figures", action="store_true")
    rp.add_argument(
        "--html",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the static, self-contained HTML page index.html (default: on; --no-html leaves it out)",
    )
    rp.add_argument(
        "--readme",
        default=None,
        metavar="PATH",
        help="also rewrite the headline table between the zshbench markers in this file (e.g. README.md)",
    )
    rp.add_argument(
        "--reported",
        default=None,
        help="published numbers (source: paper records); default: leaderboard/reported when it exists",
    )


def _load_results(path: str):
    from pathlib import Path

    from zshbench.records import load_records

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(
            f"--results {path} is a file, not a results folder; name the folder that 'zshbench run "
            "--results DIR' wrote into."
        )
    if not p.is_dir():
        raise UserError(f"Results directory '{path}' does not exist; run 'zshbench run ... --results {path}' first.")
    return load_records(path, source="measured")


def _load_reported(path: str | None):
    """Published numbers: (records, errors); none when ``path`` is None and leaderboard/reported is absent."""
    from pathlib import Path

    from zshbench.records import load_records

    if path is None:
        path = "leaderboard/reported"
        if not Path(path).is_dir():
            return [], []
    elif not Path(path).is_dir():
        raise UserError(
            f"Reported-numbers directory '{path}' does not exist (expected source: paper records, "
            "e.g. leaderboard/reported/)."
        )
    return load_records(path, source="paper")


def _warn_mixed(records) -> None:
    """Warn (stderr) about records that `leaderboard --check` rejects but a table would still show: two
    experiments in one cell (`conflicts`), an edited pinned protocol, or one protocol version with two splits
    (`protocol_problems`)."""
    from zshbench.leaderboard.check import conflicts, protocol_problems

    found = conflicts(records) + protocol_problems(records)
    for c in found:
        sys.stderr.write(f"warning: {c}\n")
    if found:
        sys.stderr.write(
            f"warning: {len(found)} problem(s) above: the tables below may average different experiments; "
            "'zshbench leaderboard --check' fails on them.\n"
        )


def _warn_excluded(errors: list, what: str = "record") -> None:
    for e in errors:
        sys.stderr.write(f"warning: excluded {what}: {e}\n")
    if errors:
        sys.stderr.write(
            f"warning: {len(errors)} {what}(s) excluded as invalid; 'zshbench leaderboard --check' fails on them.\n"
        )


def cmd_report(args) -> int:
    from zshbench.leaderboard import write_report
    from zshbench.paths import check_writable_dir

    check_writable_dir(args.out, "--out")
    records, errors = _load_results(args.results)
    if not records:
        raise UserError(
            f"Results directory '{args.results}' holds no valid records"
            + (f" ({len(errors)} invalid: {errors[0]})" if errors else "")
            + "; nothing to report."
        )
    reported, rep_errors = _load_reported(args.reported)
    _warn_excluded(errors)
    _warn_excluded(rep_errors, "reported record")
    _warn_mixed(records)
    from zshbench.leaderboard.check import method_variants
    from zshbench.leaderboard.report import regenerate_command

    variant_of = method_variants(records)
    paths = write_report(
        records,
        args.out,
        figures=not args.no_figures,
        reported=reported,
        html=args.html,
        variant_of=variant_of,
        regenerate_cmd=regenerate_command(args.results, args.out),
    )
    print(f"wrote {len(paths)} file(s) under {args.out} from {len(records)} record(s)")
    if args.readme:
        from zshbench.leaderboard import sync_headline

        msg = sync_headline(args.readme, records, write=True, variant_of=variant_of)
        if msg:
            raise UserError(msg)
        print(f"updated the headline table in {args.readme}")
    return 0


def cmd_leaderboard(args) -> int:
    from zshbench.leaderboard import (
        aggregate,
        check,
        cost_tables,
        render_json,
        render_markdown,
        render_rich,
    )
    from zshbench.records import iter_metric_names

    records, errors = _load_results(args.results)
    reported, rep_errors = _load_reported(args.reported)
    if not records and not errors and not args.check:
        raise UserError(
            f"Results directory '{args.results}' holds no records (*.json); run 'zshbench run ... "
            f"--results {args.results}' first, or point --results at the folder your runs wrote into."
        )
    if args.check:
        from zshbench.leaderboard.report import regenerate_command

        problems = check(
            records,
            errors,
            args.out,
            reported=reported,
            reported_errors=rep_errors,
            readme=args.readme,
            regenerate_cmd=regenerate_command(args.results, args.out),
        )
        if args.reproduce:
            problems += _reproduce(records, args.out)
        for p in problems:
            print(p)
        print(
            f"leaderboard check: {len(problems)} problem(s) in {len(records)} record(s)"
            + (f" and {len(reported)} reported record(s)" if reported or rep_errors else "")
        )
        return 1 if problems else 0
    from zshbench.leaderboard.tables import long_table, mark_ties, split_records, table_keys
    from zshbench.stats import _setting_name, setting_tag

    setting = _setting_name(setting_tag(args.setting))
    _warn_excluded(errors)
    _warn_excluded(rep_errors, "reported record")
    known = iter_metric_names(records)
    if args.metric is None:  # the headline metric, or map@K of records that all used another --k
        ks = {r.k for r in records}
        args.metric = f"map@{ks.pop()}" if len(ks) == 1 and HEADLINE_METRIC not in known else HEADLINE_METRIC
    if records and args.metric not in known:
        from zshbench.registry import did_you_mean

        raise UserError(did_you_mean(args.metric, known, "metric"))
    _warn_mixed(records)
    records, leaky, resampled = split_records(records)
    if leaky or resampled:
        sys.stderr.write(
            f"note: {len(leaky) + len(resampled)} record(s) of the leaky evaluation variant or of resampled class "
            "splits are left out of the tables ('zshbench report' analyses them under 'Protocol effects').\n"
        )
    from zshbench.leaderboard.ablations import split_ablations
    from zshbench.leaderboard.check import method_variants

    n_ablations = len(split_ablations(records, method_variants(records))[1])
    if n_ablations:
        sys.stderr.write(
            f"note: {n_ablations} record(s) of registered variants or of non-default settings are shown as rows "
            "of their own; 'zshbench report' puts them beside their base method under 'Ablations and variants', "
            "outside the ranking tables.\n"
        )
    entries = long_table(records)
    if setting != "U->A" and records and not any(e.setting == setting for e in entries):
        raise UserError(
            f"No record in {args.results} holds the {setting} setting (S->A and S->S need a protocol with held-out "
            "seen queries; U->U needs records made with zshbench 0.3 or later). Use --setting U->A."
        )
    tables = aggregate(entries, args.metric, setting=setting) if entries else []
    if setting == "U->A" and args.format in ("md", "latex", "rich"):
        tables = mark_ties(tables, entries)
    if args.format == "latex":
        from zshbench.leaderboard import render_latex

        protos = {}
        for (_, label), r in zip(table_keys(records), records):
            protos[label] = f"{r.protocol['name']} v{r.protocol['version']}"
        print(render_latex(tables, protos), end="")
    elif args.format == "md":
        from zshbench.leaderboard import reported_markdown

        print(render_markdown(tables + cost_tables(records)))
        if reported:
            print(reported_markdown(reported, records))
    elif args.format == "csv":
        from zshbench.leaderboard import render_tidy_csv

        print(render_tidy_csv(entries, [args.metric], setting=setting), end="")
    elif args.format == "json":
        print(render_json(tables), end="")
    else:
        render_rich(tables + cost_tables(records), console())
        if reported:
            console().print(
                f"{len(reported)} published record(s) (source: paper) not shown here: use --format md "
                "or 'zshbench report' (section 'Reported in the papers')."
            )
    return 0


def _reproduce(records: list, out: str) -> list[str]:
    """``leaderboard --check --reproduce``: re-run the shallow records and the deep reference sample."""
    import time
    from pathlib import Path

    from zshbench.leaderboard import stale
    from zshbench.records import load_records
    from zshbench.reproduce import reference_dir, reproduce, summarize

    t0 = time.perf_counter()
    problems = []
    outcomes = reproduce(records, protocol_dirs=[Path(out) / "protocols"])
    ref_dir = reference_dir(out)
    refs, ref_errors = load_records(ref_dir) if ref_dir.is_dir() else ([], [])
    problems += [f"invalid reference record: {e}" for e in ref_errors]
    problems += [p.replace("stale:", "stale reference:", 1) for p in stale(refs)]
    if not refs:
        problems.append(f"reproduce: no deep reference records under {ref_dir} (make leaderboard-reference)")
    ref_outcomes = reproduce(refs, deep=True)
    for o in outcomes + ref_outcomes:
        if not o.ok:
            problems.append(f"reproduce {o.status}: {o.path}: {o.message}")
        elif o.status == "within-tolerance":
            print(f"note: {Path(o.path).name}: {o.message}")
    print(
        f"reproduce: {summarize(outcomes)} of {len(outcomes)} record(s); reference sample {summarize(ref_outcomes)}; "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return problems
