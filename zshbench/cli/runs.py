"""``zshbench run`` and ``zshbench sweep``."""

from __future__ import annotations

import argparse
import sys

from zshbench.cli.common import console, int_list
from zshbench.cli.run_config import _mark_defaults, config_provenance, resolve_run_args
from zshbench.cli.summary import summary_table
from zshbench.errors import UserError
from zshbench.evaluate import HEADLINE_K

__all__ = ["add_parsers", "cmd_run", "cmd_sweep"]

EPILOG = """\
examples:
  zshbench list methods
  zshbench run --method lsh --dataset shapes --bits 24,48,64,128 --seeds 0,1,2
  zshbench run --method lsh --dataset digits --device auto --set center=false
  zshbench run --config run.toml --seeds 3           # flags override the file's keys
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


def add_parsers(sub) -> None:
    cv = sub.add_parser(
        "curve",
        help="a deep method's learning curve on a seen-class validation split (how its budget is chosen)",
        epilog="example: zshbench curve --method razh --dataset shapes --bits 64 --epochs 1,2,4,8 --out docs/curves",
    )
    cv.add_argument("--method", required=True)
    cv.add_argument("--dataset", required=True)
    cv.add_argument("--protocol", default=None)
    cv.add_argument("--bits", type=int, default=64)
    cv.add_argument("--seed", type=int, default=0)
    cv.add_argument("--epochs", type=int_list, default=[1, 2, 4, 8], help="budgets to measure (doubling)")
    cv.add_argument("--val-per-class", type=int, default=20, help="held-out training items per seen class")
    cv.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    cv.add_argument("--data-root", default=None)
    cv.add_argument("--device", default="cpu")
    cv.add_argument("--out", default="curves", help="folder for the JSON report and the figure")
    r = sub.add_parser(
        "run",
        help="train, encode, evaluate and record",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument(
        "--config",
        default=None,
        metavar="FILE.toml",
        help="a TOML file with the same keys as these flags (method, dataset, bits, seeds, set = {key = value}, "
        "...); flags given on the command line override it",
    )
    r.add_argument("--method", default=None, help="a registered method (required here or in --config)")
    r.add_argument("--dataset", default=None, help="a registered dataset (required here or in --config)")
    r.add_argument("--protocol", default=None, help="default: the dataset's default protocol")
    r.add_argument("--bits", type=int_list, default=[64], help="comma-separated code lengths, 8..256 (default: 64)")
    r.add_argument("--seeds", type=int_list, default=[0], help="comma-separated seeds (default: 0)")
    r.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method config field (repeatable); see 'zshbench list methods'",
    )
    r.add_argument("--features", default="auto", help="auto | pixels | native | timm:<model> (feature-based methods)")
    r.add_argument(
        "--weights", default=None, help="backbone weights: a .safetensors/.pth path, or 'none' for random init"
    )
    r.add_argument("--data-root", default=None, help="dataset root (else $ZSHBENCH_DATA, else ./data)")
    r.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="side of the square images decoded from real image datasets (default: the dataset's)",
    )
    r.add_argument("--unseen", default=None, help="folder:PATH datasets: comma-separated unseen class names")
    r.add_argument("--train-per-class", type=int, default=None, help="folder:PATH datasets: train items per seen class")
    r.add_argument(
        "--query-per-class", type=int, default=None, help="folder:PATH datasets: query items per unseen class"
    )
    r.add_argument("--results", default="results", help="results directory (default: ./results)")
    r.add_argument("--k", type=int, default=HEADLINE_K, help=f"cut-off of map@k (default {HEADLINE_K})")
    r.add_argument(
        "--eval-variant",
        default="standard",
        choices=["standard", "leaky"],
        help="leaky: reproduce the published COMAE/PIXEL code's mistake (queries also in the database) to measure "
        "its effect; a separate record, never in the leaderboard's tables",
    )
    r.add_argument("--force", action="store_true", help="rerun even where a record exists")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="N",
        help="deep methods: save a training checkpoint next to the record every N optimizer steps and "
        "when training ends (default 0: none); deleted once the record is written",
    )
    r.add_argument(
        "--resume",
        action="store_true",
        help="deep methods: continue training from the run's checkpoint (refused if it was written "
        "with another configuration)",
    )
    r.add_argument(
        "--memmap-threshold",
        type=int,
        default=None,
        metavar="N",
        help="encode databases of >= N items to a memory-mapped codes file in $ZSHBENCH_CODES_DIR "
        "(default: $ZSHBENCH_MEMMAP_THRESHOLD, else 2000000; 0 = always); see docs/scaling.md",
    )
    r.add_argument(
        "--save-codes",
        action="store_true",
        help="also write the query and database codes, dataset indices and labels beside each record "
        "(<record stem>.codes.npz; input of 'zshbench retrieve'); not part of the run's identity",
    )
    r.add_argument(
        "--save-model",
        action="store_true",
        help="also write the fitted hasher beside each record (<record stem>.model.safetensors; input of "
        "'zshbench encode'); not part of the run's identity",
    )
    r.add_argument(
        "--log-dir",
        default=None,
        help="write TensorBoard logs of deep training (loss terms per step and epoch, learning rates) under "
        "DIR/<dataset>/<protocol>/<method>/<record stem>; needs the tensorboard extra",
    )
    _mark_defaults(r)

    sw = sub.add_parser(
        "sweep",
        help="run a grid of methods x datasets x bits x seeds, skipping existing records",
        epilog=SWEEP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sw.add_argument(
        "--grid",
        action="append",
        default=None,
        help="a grid .toml file (e.g. leaderboard/grid.toml); flags below override it. Repeatable: the runs of "
        "several grid files form one queue, costliest jobs first (what `make leaderboard` does)",
    )
    sw.add_argument("--methods", default=None, help="comma-separated names or fnmatch patterns, or 'all'")
    sw.add_argument("--datasets", default=None, help="comma-separated dataset names")
    sw.add_argument("--bits", type=int_list, default=None, help="comma-separated code lengths")
    sw.add_argument("--seeds", type=int_list, default=None, help="comma-separated seeds")
    sw.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="[PATTERN:]KEY=VALUE",
        help="config override for every method, or for methods matching PATTERN (repeatable)",
    )
    sw.add_argument("--results", default="results", help="results directory (default: ./results)")
    sw.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (passed to every run)")
    sw.add_argument("--data-root", default=None)
    sw.add_argument("--launcher", default="local", help="local (process pool here) | submitit (Slurm)")
    sw.add_argument("--workers", type=int, default=None, help="local: parallel jobs (default: CPUs / threads)")
    sw.add_argument("--threads-per-job", type=int, default=1, help="local: OpenMP threads of each job (default 1)")
    sw.add_argument(
        "--per-run",
        action="store_true",
        help="one job per (method, dataset, bits, seed) instead of one per (method, dataset)",
    )
    sw.add_argument("--dry-run", action="store_true", help="print the jobs that would run, run nothing")
    sw.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="N",
        help="deep methods: training checkpoint every N steps (a submitit requeue resumes from it)",
    )
    sw.add_argument(
        "--resume",
        action="store_true",
        help="deep methods: runs continue from their checkpoint when they have one (zshbench run --resume)",
    )
    sw.add_argument(
        "--submitit-executor",
        default="slurm",
        choices=["slurm", "local"],
        help="submitit: a Slurm cluster, or submitit's local executor (no Slurm; for trying it out)",
    )
    sw.add_argument("--slurm-partition", default=None, help="submitit: Slurm partition")
    sw.add_argument("--gpus-per-job", type=int, default=0, help="submitit: GPUs per job")
    sw.add_argument("--cpus-per-task", type=int, default=None, help="submitit: CPUs per task")
    sw.add_argument("--timeout-min", type=int, default=240, help="submitit: time limit of a job in minutes")


def cmd_run(args) -> int:
    from zshbench.runner import run

    args = resolve_run_args(args)
    con = console()
    statuses: dict[str, str] = {}

    show_bar = not args.no_progress and sys.stderr.isatty()

    def on_record(rec, status):
        statuses[rec.path] = status
        if status == "new" and not show_bar:  # logs (a sweep's job log, CI): one line per finished run, at once
            metric = f"map@{rec.k}"
            value = rec.metrics.get(metric)
            shown = f"{metric} {value:.4f}" if isinstance(value, (int, float)) else "no metric"
            fit = rec.timings.get("fit_s")
            sys.stderr.write(
                f"done: {rec.method} on {rec.dataset}, {rec.n_bits} bits, seed {rec.seed}: {shown}"
                + (f", fit {fit:.0f} s" if isinstance(fit, (int, float)) else "")
                + f" -> {rec.path}\n"
            )
            sys.stderr.flush()

    dataset_kwargs = {}
    if args.image_size is not None:
        dataset_kwargs["image_size"] = args.image_size
    folder_flags = {
        "unseen": args.unseen,
        "train_per_class": args.train_per_class,
        "query_per_class": args.query_per_class,
    }
    if any(v is not None for v in folder_flags.values()):
        if args.protocol is not None:
            raise UserError(
                "--protocol and --unseen/--train-per-class/--query-per-class both define the protocol; "
                "give one of them: a protocol file or name, or the three ad-hoc flags."
            )
        if not args.dataset.startswith("folder:"):
            raise UserError(
                "--unseen, --train-per-class and --query-per-class define a protocol for folder:PATH "
                f"datasets only; for '{args.dataset}' choose a protocol with --protocol."
            )
        missing = [k for k, v in folder_flags.items() if v is None]
        if missing:
            raise UserError(
                "An ad-hoc folder protocol needs all of --unseen, --train-per-class and "
                f"--query-per-class; missing: {', '.join('--' + m.replace('_', '-') for m in missing)}."
            )
        dataset_kwargs.update(folder_flags)
    records = run(
        args.method,
        args.dataset,
        protocol=args.protocol,
        bits=args.bits,
        seeds=args.seeds,
        device=args.device,
        overrides=args.overrides,
        results_dir=args.results,
        force=args.force,
        features=args.features,
        weights=args.weights,
        data_root=args.data_root,
        k=args.k,
        progress=show_bar,
        console=console(stderr=True),
        on_record=on_record,
        dataset_kwargs=dataset_kwargs,
        memmap_threshold=args.memmap_threshold,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        eval_variant=args.eval_variant,
        save_codes=args.save_codes,
        save_model=args.save_model,
        provenance=config_provenance(args.config),
        log_dir=args.log_dir,
    )
    from zshbench.train.distributed import is_main

    if not is_main():  # torchrun: rank 0 reports
        return 0
    con.print(summary_table(records, statuses))
    n_new = sum(1 for s in statuses.values() if s == "new")
    n_skip = sum(1 for s in statuses.values() if s == "skipped")
    if n_skip:
        why = f" (a record with the same run identity is already in {args.results}; use --force to rerun)"
    else:
        why = f" (records in {args.results})"
    con.print(f"{n_new} new record(s), {n_skip} skipped{why}.")
    return 0


def cmd_sweep(args) -> int:
    from zshbench.sweep import Grid, LaunchOptions, load_grid, sweep

    grids = [load_grid(g) for g in args.grid] if args.grid else [Grid([], [], [], [])]
    for grid in grids:
        for key, value in (("methods", args.methods), ("datasets", args.datasets)):
            if value is not None:
                setattr(grid, key, [v.strip() for v in value.split(",") if v.strip()])
        if args.methods is not None:  # --methods narrows the grid file's [[ablation]] runs to those methods too
            import fnmatch

            grid.ablations = [
                a
                for a in grid.ablations
                if any(p == "all" or fnmatch.fnmatchcase(a["method"], p) for p in grid.methods)
            ]
        for key, value in (("bits", args.bits), ("seeds", args.seeds)):
            if value is not None:
                setattr(grid, key, list(value))
        missing = [f"--{k}" for k in ("methods", "datasets", "bits", "seeds") if not getattr(grid, k)]
        if missing:
            raise UserError(
                f"The sweep has no {', '.join(missing)}: give them on the command line (e.g. --methods "
                "itq,lsh --datasets digits --bits 24,48 --seeds 0,1) or in a grid file with --grid FILE."
            )
    con = console()

    def on_plan(jobs, skipped):
        runs = sum(j.n_runs for j in jobs)
        con.print(
            f"sweep: {runs} run(s) to do in {len(jobs)} job(s), {skipped} skipped (records exist in "
            f"{args.results}); launcher: {args.launcher}" + (" (dry run)" if args.dry_run else "")
        )
        for j in jobs:
            for problem in j.replace:
                con.print(
                    f"  not done (the record cannot be used; it will be rerun and replaced): {problem}",
                    soft_wrap=True,
                    highlight=False,
                )
        if args.dry_run:
            for j in jobs:
                con.print("  zshbench " + " ".join(j.argv()), soft_wrap=True, highlight=False)

    def on_done(res, i, n):
        state = "done" if res.ok else "FAILED"
        con.print(
            f"[{i}/{n}] {state}: {res.job.method} on {res.job.dataset} ({res.job.n_runs} run(s), {res.seconds:.0f} s)",
            highlight=False,
        )

    opts = LaunchOptions(
        results=args.results,
        workers=args.workers,
        threads=args.threads_per_job,
        slurm_partition=args.slurm_partition,
        gpus_per_job=args.gpus_per_job,
        cpus_per_task=args.cpus_per_task,
        timeout_min=args.timeout_min,
        executor=args.submitit_executor,
        on_done=on_done,
    )
    results = sweep(
        grids,
        args.launcher,
        opts,
        extra_overrides=args.overrides,
        device=args.device,
        data_root=args.data_root,
        per_run=args.per_run,
        dry_run=args.dry_run,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        on_plan=on_plan,
    )
    failed = [r for r in results if not r.ok]
    for r in failed:
        con.print(f"failed: zshbench {' '.join(r.job.argv())}\n{r.message}", highlight=False, soft_wrap=True)
    if failed:
        con.print(
            f"{len(failed)} of {len(results)} job(s) failed; records of the others are complete. Fix the "
            "cause and rerun the same command: finished runs are skipped."
        )
        return 1
    return 0


def cmd_curve(args) -> int:
    from zshbench.budgets import learning_curve, write_curve

    con = console()

    def show(point):
        con.print(
            f"  {point['epochs']:>3} epochs: map@5000 {point['map@5000']:.4f} ({point['fit_s']:.0f} s)", highlight=False
        )

    con.print(
        f"{args.method} on {args.dataset}, {args.bits} bits, seed {args.seed}: seen-class validation "
        f"({args.val_per_class} held-out training items per seen class)",
        highlight=False,
    )
    curve = learning_curve(
        args.method,
        args.dataset,
        args.epochs,
        bits=args.bits,
        seed=args.seed,
        overrides=args.overrides,
        val_per_class=args.val_per_class,
        protocol=args.protocol,
        data_root=args.data_root,
        device=args.device,
        progress=show,
    )
    paths = write_curve(curve, args.out)
    chosen = curve["chosen_epochs"]
    con.print(
        f"chosen budget: {chosen} epochs"
        if chosen
        else "no budget chosen: doubling still gains >= 0.01; measure longer budgets",
        highlight=False,
    )
    con.print(f"wrote {', '.join(map(str, paths))}", highlight=False)
    return 0
