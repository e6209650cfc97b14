"""The ``zshbench`` command line.

Errors in what the user asked for (`UserError`) are printed as one paragraph without a traceback, with exit
code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import Sequence

from zshbench.errors import UserError
from zshbench.evaluate import HEADLINE_K, HEADLINE_METRIC

EPILOG = """\
examples:
  zshbench list methods
  zshbench run --method lsh --dataset shapes --bits 24,48,64,128 --seeds 0,1,2
  zshbench run --method lsh --dataset digits --device auto --set center=false
  zshbench protocol show shapes-zsh
  zshbench validate --method lsh
"""

SWEEP_EPILOG = """\
examples:
  zshbench sweep --methods itq,lsh --datasets digits --bits 24,48 --seeds 0,1 --results results/sweep
  zshbench sweep --grid leaderboard/grid.toml --results leaderboard/results --workers 2
  zshbench sweep --methods 'razh*' --datasets awa2 --bits 24,48,64,128 --seeds 0,1,2 --set profile=paper \\
      --set word_vectors=glove:/data/glove.6B.300d.txt \\
      --launcher submitit --slurm-partition gpu --gpus-per-job 1 --timeout-min 720 --per-run
runs whose record exists are skipped: rerunning the same command resumes an interrupted sweep.
"""


def _int_list(text: str) -> list[int]:
    try:
        vals = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return vals


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage errors: exit code 2 with a hint
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nSee '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="zshbench", description="A comparative benchmark suite for zero-shot image hashing.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ls = sub.add_parser("list", help="list registered methods, datasets or protocols")
    ls.add_argument("what", choices=["methods", "datasets", "protocols"])
    ls.add_argument("pattern", nargs="?", default=None, help="fnmatch filter, e.g. 'razh*'")
    ls.add_argument("--names", action="store_true", help="print bare names, one per line (for scripts)")
    ls.add_argument("--inputs", choices=["images", "features"], default=None,
                    help="methods: only those that train on images (deep) or on feature vectors (shallow)")
    ls.add_argument("--no-variants", action="store_true",
                    help="methods: leave out variants and ablations (razh-t, comae-v1, ...)")

    r = sub.add_parser("run", help="train, encode, evaluate and record", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--method", required=True)
    r.add_argument("--dataset", required=True)
    r.add_argument("--protocol", default=None, help="default: the dataset's default protocol")
    r.add_argument("--bits", type=_int_list, default=[64], help="comma-separated code lengths (8..256)")
    r.add_argument("--seeds", type=_int_list, default=[0], help="comma-separated seeds")
    r.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a method config field (repeatable); see 'zshbench list methods'")
    r.add_argument("--features", default="auto", help="auto | pixels | native | timm:<model> (feature-based methods)")
    r.add_argument("--weights", default=None, help="backbone weights: a .safetensors/.pth path, or 'none' for random init")
    r.add_argument("--data-root", default=None, help="dataset root (else $ZSHBENCH_DATA, else ./data)")
    r.add_argument("--image-size", type=int, default=None,
                   help="side of the square images decoded from real image datasets (default: the dataset's)")
    r.add_argument("--unseen", default=None, help="folder:PATH datasets: comma-separated unseen class names")
    r.add_argument("--train-per-class", type=int, default=None, help="folder:PATH datasets: train items per seen class")
    r.add_argument("--query-per-class", type=int, default=None, help="folder:PATH datasets: query items per unseen class")
    r.add_argument("--results", default="results", help="results directory (default: ./results)")
    r.add_argument("--k", type=int, default=HEADLINE_K, help=f"cut-off of map@k (default {HEADLINE_K})")
    r.add_argument("--force", action="store_true", help="rerun even where a record exists")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="deep methods: save a training checkpoint next to the record every N optimizer steps and "
                        "when training ends (default 0: none); deleted once the record is written")
    r.add_argument("--resume", action="store_true",
                   help="deep methods: continue training from the run's checkpoint (refused if it was written "
                        "with another configuration)")
    r.add_argument("--memmap-threshold", type=int, default=None, metavar="N",
                   help="encode databases of >= N items to a memory-mapped codes file in $ZSHBENCH_CODES_DIR "
                        "(default: $ZSHBENCH_MEMMAP_THRESHOLD, else 2000000; 0 = always); see docs/scaling.md")

    sw = sub.add_parser("sweep", help="run a grid of methods x datasets x bits x seeds, skipping existing records",
                        epilog=SWEEP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sw.add_argument("--grid", default=None, help="a grid .toml file (e.g. leaderboard/grid.toml); flags below override it")
    sw.add_argument("--methods", default=None, help="comma-separated names or fnmatch patterns, or 'all'")
    sw.add_argument("--datasets", default=None, help="comma-separated dataset names")
    sw.add_argument("--bits", type=_int_list, default=None, help="comma-separated code lengths")
    sw.add_argument("--seeds", type=_int_list, default=None, help="comma-separated seeds")
    sw.add_argument("--set", dest="overrides", action="append", default=[], metavar="[PATTERN:]KEY=VALUE",
                    help="config override for every method, or for methods matching PATTERN (repeatable)")
    sw.add_argument("--results", default="results", help="results directory (default: ./results)")
    sw.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (passed to every run)")
    sw.add_argument("--data-root", default=None)
    sw.add_argument("--launcher", default="local", help="local (process pool here) | submitit (Slurm)")
    sw.add_argument("--workers", type=int, default=None, help="local: parallel jobs (default: CPUs / threads)")
    sw.add_argument("--threads-per-job", type=int, default=1, help="local: OpenMP threads of each job (default 1)")
    sw.add_argument("--per-run", action="store_true",
                    help="one job per (method, dataset, bits, seed) instead of one per (method, dataset)")
    sw.add_argument("--dry-run", action="store_true", help="print the jobs that would run, run nothing")
    sw.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                    help="deep methods: training checkpoint every N steps (a submitit requeue resumes from it)")
    sw.add_argument("--resume", action="store_true",
                    help="deep methods: runs continue from their checkpoint when they have one (zshbench run --resume)")
    sw.add_argument("--submitit-executor", default="slurm", choices=["slurm", "local"],
                    help="submitit: a Slurm cluster, or submitit's local executor (no Slurm; for trying it out)")
    sw.add_argument("--slurm-partition", default=None, help="submitit: Slurm partition")
    sw.add_argument("--gpus-per-job", type=int, default=0, help="submitit: GPUs per job")
    sw.add_argument("--cpus-per-task", type=int, default=None, help="submitit: CPUs per task")
    sw.add_argument("--timeout-min", type=int, default=240, help="submitit: time limit of a job in minutes")

    pr = sub.add_parser("protocol", help="inspect protocols")
    prs = pr.add_subparsers(dest="action", parser_class=_Parser)
    show = prs.add_parser("show", help="seen/unseen classes, counts and split fingerprint")
    show.add_argument("name", help="a protocol name or a path to a protocol .toml file")
    show.add_argument("--dataset", default=None, help="resolve on this dataset (default: the protocol's dataset)")
    show.add_argument("--data-root", default=None)
    prs.add_parser("list", help="every protocol with its counts")

    lb = sub.add_parser("leaderboard", help="tables of mean ± std over seeds from result records")
    lb.add_argument("--results", default="results")
    lb.add_argument("--metric", default=HEADLINE_METRIC)
    lb.add_argument("--format", choices=["rich", "md", "csv", "json"], default="rich")
    lb.add_argument("--check", action="store_true",
                    help="regenerate from the records and fail when --out differs, or a record is invalid, stale or in conflict")
    lb.add_argument("--out", default="leaderboard", help="the report directory --check compares with")
    lb.add_argument("--readme", default=None, metavar="PATH",
                    help="with --check: also compare the headline table in this file (e.g. README.md)")
    lb.add_argument("--reproduce", action="store_true",
                    help="with --check: re-run every shallow-method record and the deep reference records "
                         "(<out>/reference) and fail when a number changed without a new method version")
    lb.add_argument("--reported", default=None,
                    help="published numbers (source: paper records); default: leaderboard/reported when it exists")

    rp = sub.add_parser("report", help="write README.md, CSVs and figures of the leaderboard")
    rp.add_argument("--results", default="leaderboard/results")
    rp.add_argument("--out", default="leaderboard")
    rp.add_argument("--no-figures", action="store_true")
    rp.add_argument("--readme", default=None, metavar="PATH",
                    help="also rewrite the headline table between the zshbench markers in this file (e.g. README.md)")
    rp.add_argument("--reported", default=None,
                    help="published numbers (source: paper records); default: leaderboard/reported when it exists")

    v = sub.add_parser("validate", help="run the conformance kit on a method")
    v.add_argument("--method", required=True)

    try:
        from zshbench.evaluate import cli as eval_cli

        eval_cli.add_parser(sub)
    except ImportError:  # pragma: no cover - the evaluator ships with zshbench
        pass
    return p


def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 140)


def cmd_list(args) -> int:
    from rich.table import Table

    from zshbench.registry import DATASETS, METHODS, get_dataset, get_method

    con = _console()
    if args.names:
        from zshbench.protocols import list_protocols

        names = {"methods": METHODS.names, "datasets": DATASETS.names}.get(args.what)
        found = names(args.pattern) if names else [n for n in list_protocols() if not args.pattern or __import__("fnmatch").fnmatch(n, args.pattern)]
        if args.what == "methods" and args.no_variants:
            found = [n for n in found if not get_method(n).variant_of]
        if args.what == "methods" and args.inputs:
            found = [n for n in found if get_method(n).requires.inputs == args.inputs]
        print("\n".join(found))
        return 0
    if args.what == "methods":
        t = Table(title="methods")
        for col in ("name", "variant of", "inputs", "attributes", "gpu", "version", "config keys", "source"):
            t.add_column(col)
        for name in METHODS.names(args.pattern):
            cls = get_method(name)
            import dataclasses

            keys = ", ".join(f.name for f in dataclasses.fields(cls.Config) if f.name not in ("n_bits", "seed"))
            req = cls.requires
            if args.no_variants and cls.variant_of:
                continue
            t.add_row(name, cls.variant_of or "-", req.inputs, "yes" if req.attributes else "no", "yes" if req.gpu_capable else "no",
                      str(cls.version), keys or "-", METHODS.source(name))
        con.print(t)
    elif args.what == "datasets":
        t = Table(title="datasets")
        for col in ("name", "description", "source"):
            t.add_column(col)
        for name in DATASETS.names(args.pattern):
            doc = (getattr(get_dataset(name), "__doc__", "") or "").strip().splitlines()
            t.add_row(name, doc[0] if doc else "", DATASETS.source(name))
        con.print(t)
    else:
        return cmd_protocol_list(args)
    return 0


def cmd_protocol_list(args) -> int:
    import fnmatch

    from rich.table import Table

    from zshbench.protocols import list_protocols, load_protocol

    t = Table(title="protocols")
    for col in ("name", "version", "dataset", "seen", "unseen", "train/class", "query/class", "database"):
        t.add_column(col)
    for name in list_protocols():
        if getattr(args, "pattern", None) and not fnmatch.fnmatch(name, args.pattern):
            continue
        p = load_protocol(name)
        t.add_row(p.name, p.version, p.dataset, str(len(p.seen)), str(len(p.unseen)), str(p.train_per_class),
                  str(p.query_per_class), str(p.database))
    _console().print(t)
    return 0


def cmd_protocol_show(args) -> int:
    from zshbench.protocols import load_protocol, resolve
    from zshbench.runner import load_dataset

    p = load_protocol(args.name)
    con = _console()
    con.print(f"[bold]{p.name}[/] version {p.version} (dataset {p.dataset}, content sha256 {p.sha256[:16]})")
    if p.provenance:
        con.print(textwrap.fill(" ".join(p.provenance.split()), 100))
    con.print(f"seen ({len(p.seen)}): {', '.join(p.seen)}")
    con.print(f"unseen ({len(p.unseen)}): {', '.join(p.unseen)}")
    ds = load_dataset(args.dataset or p.dataset, data_root=args.data_root)
    split = resolve(p, ds)
    c = split.counts()
    con.print(f"counts: train {c['train']}, query {c['query']}, database {c['database']}")
    con.print(f"split fingerprint: {split.fingerprint}")
    return 0


def _summary_table(records: list, statuses: dict[str, str]):
    from rich.table import Table

    ks = sorted({r.k for r in records}) or [HEADLINE_K]
    key = f"map@{ks[0]}" if len(ks) == 1 else "map@k"
    t = Table(title="zshbench run")
    for col in ("method", "dataset", "protocol", "bits", "seed", key, "tie-aware " + key, "map@all", "fit s",
                "status"):
        t.add_column(col, justify="right" if col not in ("method", "dataset", "protocol", "status") else "left")

    def fmt(x):
        return "-" if x is None else f"{x:.4f}"

    for r in records:
        m = r.metrics
        kk = f"map@{r.k}"
        t.add_row(r.method, r.dataset, r.protocol["name"], str(r.n_bits), str(r.seed), fmt(m.get(kk)),
                  fmt(m.get("tie_aware_" + kk)), fmt(m.get("map@all")), f"{r.timings.get('fit_s', 0):.2f}",
                  statuses.get(r.path or "", ""))
    return t


def cmd_run(args) -> int:
    from zshbench.runner import run

    con = _console()
    statuses: dict[str, str] = {}

    def on_record(rec, status):
        statuses[rec.path] = status

    dataset_kwargs = {}
    if args.image_size is not None:
        dataset_kwargs["image_size"] = args.image_size
    folder_flags = {"unseen": args.unseen, "train_per_class": args.train_per_class,
                    "query_per_class": args.query_per_class}
    if any(v is not None for v in folder_flags.values()):
        if args.protocol is not None:
            raise UserError("--protocol and --unseen/--train-per-class/--query-per-class both define the protocol; "
                            "give one of them: a protocol file or name, or the three ad-hoc flags.")
        if not args.dataset.startswith("folder:"):
            raise UserError("--unseen, --train-per-class and --query-per-class define a protocol for folder:PATH "
                            f"datasets only; for '{args.dataset}' choose a protocol with --protocol.")
        missing = [k for k, v in folder_flags.items() if v is None]
        if missing:
            raise UserError("An ad-hoc folder protocol needs all of --unseen, --train-per-class and "
                            f"--query-per-class; missing: {', '.join('--' + m.replace('_', '-') for m in missing)}.")
        dataset_kwargs.update(folder_flags)
    records = run(args.method, args.dataset, protocol=args.protocol, bits=args.bits, seeds=args.seeds,
                  device=args.device, overrides=args.overrides, results_dir=args.results, force=args.force,
                  features=args.features, weights=args.weights, data_root=args.data_root, k=args.k,
                  progress=not args.no_progress and sys.stderr.isatty(), console=_console(stderr=True),
                  on_record=on_record, dataset_kwargs=dataset_kwargs, memmap_threshold=args.memmap_threshold,
                  checkpoint_every=args.checkpoint_every, resume=args.resume)
    from zshbench.train.distributed import is_main

    if not is_main():  # torchrun: rank 0 reports
        return 0
    con.print(_summary_table(records, statuses))
    n_new = sum(1 for s in statuses.values() if s == "new")
    n_skip = sum(1 for s in statuses.values() if s == "skipped")
    con.print(f"{n_new} new record(s), {n_skip} skipped (a record with the same run identity is already in "
              f"{args.results}; use --force to rerun).")
    return 0


def cmd_sweep(args) -> int:
    from zshbench.sweep import Grid, LaunchOptions, load_grid, sweep

    grid = load_grid(args.grid) if args.grid else Grid([], [], [], [])
    for key, value in (("methods", args.methods), ("datasets", args.datasets)):
        if value is not None:
            setattr(grid, key, [v.strip() for v in value.split(",") if v.strip()])
    for key, value in (("bits", args.bits), ("seeds", args.seeds)):
        if value is not None:
            setattr(grid, key, list(value))
    missing = [f"--{k}" for k in ("methods", "datasets", "bits", "seeds") if not getattr(grid, k)]
    if missing:
        raise UserError(f"The sweep has no {', '.join(missing)}: give them on the command line (e.g. --methods "
                        "itq,lsh --datasets digits --bits 24,48 --seeds 0,1) or in a grid file with --grid FILE.")
    con = _console()

    def on_plan(jobs, skipped):
        runs = sum(j.n_runs for j in jobs)
        con.print(f"sweep: {runs} run(s) to do in {len(jobs)} job(s), {skipped} skipped (records exist in "
                  f"{args.results}); launcher: {args.launcher}" + (" (dry run)" if args.dry_run else ""))
        for j in jobs:
            for problem in j.replace:
                con.print(f"  not done (the record cannot be used; it will be rerun and replaced): {problem}",
                          soft_wrap=True, highlight=False)
        if args.dry_run:
            for j in jobs:
                con.print("  zshbench " + " ".join(j.argv()), soft_wrap=True, highlight=False)

    def on_done(res, i, n):
        state = "done" if res.ok else "FAILED"
        con.print(f"[{i}/{n}] {state}: {res.job.method} on {res.job.dataset} ({res.job.n_runs} run(s), "
                  f"{res.seconds:.0f} s)", highlight=False)

    opts = LaunchOptions(results=args.results, workers=args.workers, threads=args.threads_per_job,
                         slurm_partition=args.slurm_partition, gpus_per_job=args.gpus_per_job,
                         cpus_per_task=args.cpus_per_task, timeout_min=args.timeout_min,
                         executor=args.submitit_executor, on_done=on_done)
    results = sweep(grid, args.launcher, opts, extra_overrides=args.overrides, device=args.device,
                    data_root=args.data_root, per_run=args.per_run, dry_run=args.dry_run,
                    checkpoint_every=args.checkpoint_every, resume=args.resume, on_plan=on_plan)
    failed = [r for r in results if not r.ok]
    for r in failed:
        con.print(f"failed: zshbench {' '.join(r.job.argv())}\n{r.message}", highlight=False, soft_wrap=True)
    if failed:
        con.print(f"{len(failed)} of {len(results)} job(s) failed; records of the others are complete. Fix the "
                  "cause and rerun the same command: finished runs are skipped.")
        return 1
    return 0


def cmd_validate(args) -> int:
    from zshbench.registry import get_method
    from zshbench.testing import expected_failures, iter_checks

    con = _console()
    expected = expected_failures(get_method(args.method))
    failed = 0
    for name, check in iter_checks(args.method):
        try:
            check()
        except (AssertionError, UserError) as exc:
            if name in expected:
                con.print(f"[yellow]XFAIL[/] {name}: {expected[name]}")
                continue
            failed += 1
            con.print(f"[red]FAIL[/] {name}: {exc}")
            continue
        if name in expected:
            failed += 1
            con.print(f"[red]XPASS[/] {name}: declared an expected failure ({expected[name]}) but passes")
        else:
            con.print(f"[green]PASS[/] {name}")
    con.print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0


def _load_results(path: str):
    from pathlib import Path

    from zshbench.records import load_records

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"--results {path} is a file, not a results folder; name the folder that 'zshbench run "
                        "--results DIR' wrote into.")
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
        raise UserError(f"Reported-numbers directory '{path}' does not exist (expected source: paper records, "
                        "e.g. leaderboard/reported/).")
    return load_records(path, source="paper")


def _warn_excluded(errors: list, what: str = "record") -> None:
    for e in errors:
        sys.stderr.write(f"warning: excluded {what}: {e}\n")
    if errors:
        sys.stderr.write(f"warning: {len(errors)} {what}(s) excluded as invalid; "
                         "'zshbench leaderboard --check' fails on them.\n")


def cmd_report(args) -> int:
    from zshbench.leaderboard import conflicts, write_report
    from zshbench.paths import check_writable_dir

    check_writable_dir(args.out, "--out")
    records, errors = _load_results(args.results)
    if not records:
        raise UserError(f"Results directory '{args.results}' holds no valid records"
                        + (f" ({len(errors)} invalid: {errors[0]})" if errors else "") + "; nothing to report.")
    reported, rep_errors = _load_reported(args.reported)
    _warn_excluded(errors)
    _warn_excluded(rep_errors, "reported record")
    for c in conflicts(records):
        sys.stderr.write(f"warning: {c}\n")
    paths = write_report(records, args.out, figures=not args.no_figures, reported=reported)
    print(f"wrote {len(paths)} file(s) under {args.out} from {len(records)} record(s)")
    if args.readme:
        from zshbench.leaderboard import sync_headline

        msg = sync_headline(args.readme, records, write=True)
        if msg:
            raise UserError(msg)
        print(f"updated the headline table in {args.readme}")
    return 0


def cmd_leaderboard(args) -> int:
    from zshbench.leaderboard import aggregate, check, cost_tables, render_csv, render_json, render_markdown, render_rich
    from zshbench.records import iter_metric_names

    records, errors = _load_results(args.results)
    reported, rep_errors = _load_reported(args.reported)
    if not records and not errors and not args.check:
        raise UserError(f"Results directory '{args.results}' holds no records (*.json); run 'zshbench run ... "
                        f"--results {args.results}' first, or point --results at the folder your runs wrote into.")
    if args.check:
        problems = check(records, errors, args.out, reported=reported, reported_errors=rep_errors,
                         readme=args.readme)
        if args.reproduce:
            problems += _reproduce(records, args.out)
        for p in problems:
            print(p)
        print(f"leaderboard check: {len(problems)} problem(s) in {len(records)} record(s)"
              + (f" and {len(reported)} reported record(s)" if reported or rep_errors else ""))
        return 1 if problems else 0
    _warn_excluded(errors)
    _warn_excluded(rep_errors, "reported record")
    known = iter_metric_names(records)
    if records and args.metric not in known:
        from zshbench.registry import did_you_mean

        raise UserError(did_you_mean(args.metric, known, "metric"))
    tables = aggregate(records, args.metric)
    if args.format == "md":
        from zshbench.leaderboard import reported_markdown

        print(render_markdown(tables + cost_tables(records)))
        if reported:
            print(reported_markdown(reported, records))
    elif args.format == "csv":
        print("".join(render_csv(t) for t in tables), end="")
    elif args.format == "json":
        print(render_json(tables), end="")
    else:
        render_rich(tables + cost_tables(records), _console())
        if reported:
            _console().print(f"{len(reported)} published record(s) (source: paper) not shown here: use --format md "
                             "or 'zshbench report' (section 'Reported in the papers').")
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
    outcomes = reproduce(records)
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
    print(f"reproduce: {summarize(outcomes)} of {len(outcomes)} record(s); reference sample {summarize(ref_outcomes)}; "
          f"{time.perf_counter() - t0:.0f} s")
    return problems


def _print_error(exc: BaseException) -> None:
    msg = " ".join(str(exc).split())
    sys.stderr.write("error: " + textwrap.fill(msg, width=100, subsequent_indent="  ", break_on_hyphens=False,
                                               break_long_words=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import zshbench

        print(zshbench.__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    handlers = {"list": cmd_list, "run": cmd_run, "validate": cmd_validate, "leaderboard": cmd_leaderboard,
                "report": cmd_report, "sweep": cmd_sweep}
    if args.command == "protocol":
        handlers["protocol"] = {"show": cmd_protocol_show, "list": cmd_protocol_list}.get(args.action)
        if handlers["protocol"] is None:
            sys.stderr.write("zshbench protocol needs an action: show NAME or list.\n")
            try:
                parser.parse_args(["protocol", "--help"])
            except SystemExit:
                pass
            return 2
    if args.command == "evaluate":
        from zshbench.evaluate import cli as eval_cli

        handlers["evaluate"] = eval_cli.run
    import warnings

    def _format(message, category, filename, lineno, line=None):  # one paragraph, no source line
        msg = " ".join(str(message).split())
        return "warning: " + textwrap.fill(msg, width=100, subsequent_indent="  ", break_on_hyphens=False,
                                           break_long_words=False) + "\n"

    old_format = warnings.formatwarning
    warnings.formatwarning = _format
    try:
        return int(handlers[args.command](args) or 0)
    except UserError as exc:
        if args.debug or os.environ.get("ZSHBENCH_DEBUG"):
            raise
        _print_error(exc)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; records written so far are complete, rerun to resume.\n")
        return 130
    finally:
        warnings.formatwarning = old_format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
