"""Sweeps: expand a grid of runs, skip those whose records exist, launch the rest on an existing engine.

A grid is methods x datasets x code lengths x seeds, with per-method ``--set`` overrides. It comes from the
command line (``zshbench sweep --methods razh,itq --datasets shapes --bits 24,48 --seeds 0,1``) or from a TOML
file (``zshbench sweep --grid leaderboard/grid.toml``), whose format is::

    methods = "all"                 # or a list of names / fnmatch patterns ("comae*"); "all" = every registered
    datasets = ["shapes", "digits"] # dataset names (``family:ARG`` allowed)
    bits = [24, 48, 64, 128]
    seeds = [0, 1, 2]
    protocols = { shapes = "shapes-zsh" }   # optional; default = the dataset's default protocol. A value may
                                    # list several (names, name@version, .toml paths relative to the grid
                                    # file): every run then runs under each, e.g. resampled splits
    eval_variant = "standard"       # optional; "leaky" = the published COMAE/PIXEL overlap (protocol effects)

    [overrides]                     # optional: --set overrides by method name or fnmatch pattern
    "razh*" = ["max_steps=25"]

    [[exclude]]                     # optional, repeatable: runs left out of the grid, with the reason
    methods = ["itq", "pcah"]       # names or patterns; an omitted key matches everything
    datasets = ["digits"]
    bits = [128]
    reason = "64-d features give at most 64 principal directions"

    [[ablation]]                    # optional, repeatable: one method at other settings, beside its defaults
    method = "razh"                 # one registered name
    set = ["variant=no-cluster"]    # applied after [overrides]; the record's identity covers them
    label = "RAZH-C (Table VI)"     # what it ablates (required)
    bits = [24, 64]                 # optional datasets / bits / seeds; default: the grid's

``--methods`` on the command line keeps only the ``[[ablation]]`` entries of the methods it names. The report
tabulates records at non-default settings, and registered variants, beside their base method in its
"Ablations and variants" section, not in the ranking tables (`zshbench.leaderboard.tables.split_ablations`).

Every run is resolved before anything is launched (`zshbench.runner.prepare`): a bad name, key or value fails
the whole sweep up front with a one-paragraph error instead of failing job 17 of 40 an hour later. Runs whose
record exists are dropped (the record path is the run's key, see `zshbench.records.record_path`); the rest
become `Job` s, one per ``zshbench run`` invocation: by default one per (method, dataset, overrides) with all
of its missing code lengths and seeds (one process start and one dataset load for many runs), or one per run
with ``per_run=True`` (what a cluster wants).

Launchers (`LAUNCHERS`) run the jobs; zshbench grows no job system of its own:

* ``local``: a pool of ``workers`` subprocesses on this machine (``python -m zshbench run ...``), each with
  ``threads`` OpenMP threads, the most expensive jobs first, one log file per job under
  ``<results>/sweep-logs/``.
* ``submitit``: one Slurm job per `Job` through submitit (`zshbench.sweep.submitit`); optional extra
  ``zshbench[slurm]``.

Records are written by ``zshbench run`` itself, atomically, so an interrupted sweep is resumed by running the
same command again.
"""

from zshbench.sweep.grid import Grid, expand, load_grid, method_overrides, resolve_methods
from zshbench.sweep.local import LAUNCHERS, Launcher, LaunchOptions, LocalLauncher, make_launcher, sweep
from zshbench.sweep.plan import Job, JobResult, pending

__all__ = [
    "Grid",
    "Job",
    "JobResult",
    "LaunchOptions",
    "Launcher",
    "LocalLauncher",
    "LAUNCHERS",
    "load_grid",
    "expand",
    "pending",
    "make_launcher",
    "sweep",
    "resolve_methods",
    "method_overrides",
]
