"""Sweeps: expand a grid of runs, skip those whose records exist, launch the rest on an existing engine.

A grid is methods x datasets x code lengths x seeds, with per-method ``--set`` overrides. It comes from the
command line (``zshbench sweep --methods razh,itq --datasets shapes --bits 24,48 --seeds 0,1``) or from a TOML
file (``zshbench sweep --grid leaderboard/grid.toml``), whose format is::

    methods = "all"                 # or a list of names / fnmatch patterns ("comae*"); "all" = every registered
    datasets = ["shapes", "digits"] # dataset names (``family:ARG`` allowed)
    bits = [24, 48, 64, 128]
    seeds = [0, 1, 2]
    protocols = { shapes = "shapes-zsh" }   # optional; default = the dataset's default protocol

    [overrides]                     # optional: --set overrides by method name or fnmatch pattern
    "razh*" = ["max_steps=25"]

    [[exclude]]                     # optional, repeatable: runs left out of the grid, with the reason
    methods = ["itq", "pcah"]       # names or patterns; an omitted key matches everything
    datasets = ["digits"]
    bits = [128]
    reason = "64-d features give at most 64 principal directions"

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
* ``submitit``: one Slurm job per `Job` through submitit (`zshbench.launchers_submitit`); optional extra
  ``zshbench[slurm]``.

Records are written by ``zshbench run`` itself, atomically, so an interrupted sweep is resumed by running the
same command again.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from zshbench.errors import UserError

__all__ = ["Grid", "Job", "JobResult", "LaunchOptions", "Launcher", "LocalLauncher", "LAUNCHERS", "load_grid",
           "expand", "pending", "make_launcher", "sweep"]


@dataclasses.dataclass
class Grid:
    """Methods x datasets x bits x seeds, with per-method overrides (pattern -> ``["key=value", ...]``)."""

    methods: list[str]
    datasets: list[str]
    bits: list[int]
    seeds: list[int]
    overrides: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    protocols: dict[str, str] = dataclasses.field(default_factory=dict)
    exclude: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def excluded(self, method: str, dataset: str, bits: int, seed: int) -> bool:
        """Whether an ``[[exclude]]`` entry removes this run from the grid."""
        for rule in self.exclude:
            if ("methods" not in rule or any(fnmatch.fnmatchcase(method, p) for p in rule["methods"])) and \
                    ("datasets" not in rule or dataset in rule["datasets"]) and \
                    ("bits" not in rule or bits in rule["bits"]) and ("seeds" not in rule or seed in rule["seeds"]):
                return True
        return False


@dataclasses.dataclass(frozen=True)
class Job:
    """One ``zshbench run`` invocation: a method on a dataset for some code lengths and seeds."""

    method: str
    dataset: str
    bits: tuple[int, ...]
    seeds: tuple[int, ...]
    results: str
    protocol: str | None = None
    overrides: tuple[str, ...] = ()
    device: str = "auto"
    data_root: str | None = None
    inputs: str = "features"  # "images" (deep method) or "features"; used to order the work
    checkpoint_every: int = 0  # deep methods: training checkpoint every N steps (what a preempted job resumes)
    resume: bool = False  # deep methods: continue from a run's checkpoint when there is one
    replace: tuple[str, ...] = ()  # unusable records in the way of this job's runs (it reruns them with --force)

    @property
    def n_runs(self) -> int:
        return len(self.bits) * len(self.seeds)

    @property
    def name(self) -> str:
        b = "-".join(map(str, self.bits))
        s = "-".join(map(str, self.seeds))
        tag = self.dataset.replace("/", "_").replace(":", "_")
        name = f"{self.method}__{tag}__b{b}__s{s}"
        if self.overrides:
            import hashlib

            name += "__" + hashlib.sha256("\n".join(self.overrides).encode()).hexdigest()[:8]
        return name

    def argv(self) -> list[str]:
        """The arguments of ``zshbench`` (after the program name) that perform this job."""
        a = ["run", "--method", self.method, "--dataset", self.dataset,
             "--bits", ",".join(map(str, self.bits)), "--seeds", ",".join(map(str, self.seeds)),
             "--results", self.results, "--device", self.device, "--no-progress"]
        if self.protocol:
            a += ["--protocol", self.protocol]
        if self.data_root:
            a += ["--data-root", self.data_root]
        for o in self.overrides:
            a += ["--set", o]
        if self.checkpoint_every and self.inputs == "images":
            a += ["--checkpoint-every", str(self.checkpoint_every)]
        if self.resume and self.inputs == "images":
            a += ["--resume"]
        if self.replace:  # the job holds only runs without a usable record: --force replaces the broken ones
            a += ["--force"]
        return a

    def command(self) -> list[str]:
        return [sys.executable, "-m", "zshbench", *self.argv()]


@dataclasses.dataclass
class JobResult:
    job: Job
    ok: bool
    seconds: float = 0.0
    message: str = ""
    log: str | None = None


@dataclasses.dataclass
class LaunchOptions:
    """Everything a launcher may need; each launcher reads its own fields."""

    results: str = "results"
    workers: int | None = None
    threads: int = 1
    log_dir: str | None = None
    slurm_partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_task: int | None = None
    timeout_min: int = 240
    executor: str = "slurm"  # submitit: "slurm" or "local" (submitit's local executor, for tests)
    on_done: Callable[[JobResult, int, int], None] | None = None


class Launcher(Protocol):
    name: str

    def __init__(self, options: LaunchOptions) -> None: ...

    def launch(self, jobs: Sequence[Job]) -> list[JobResult]: ...


# ---- the grid ------------------------------------------------------------------------------------------------

_GRID_KEYS = {"methods", "datasets", "bits", "seeds", "overrides", "protocols", "exclude"}
_EXCLUDE_KEYS = {"methods", "datasets", "bits", "seeds", "reason"}


def _int_list(value: Any, key: str, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                            for v in value):
        raise UserError(f"{where}: '{key}' must be a non-empty list of integers, e.g. {key} = [24, 48, 64, 128]; "
                        f"got {value!r}.")
    return list(dict.fromkeys(int(v) for v in value))  # in order, each once


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise UserError(f"{where}: '{key}' must be a non-empty list of strings, e.g. {key} = [\"shapes\"]; "
                        f"got {value!r}.")
    return list(dict.fromkeys(value))  # in order, each once


def load_grid(path: str | Path) -> Grid:
    """Read and check a grid TOML file (format in the module docstring)."""
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise UserError(f"Grid file {p} does not exist. Pass an existing .toml file (e.g. leaderboard/grid.toml) "
                        "or give the grid on the command line with --methods, --datasets, --bits and --seeds.")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"Grid file {p} is not valid TOML ({exc}). Fix the syntax; the format is described in "
                        "'zshbench sweep --help' and zshbench/sweep.py.") from None
    unknown = sorted(set(data) - _GRID_KEYS)
    if unknown:
        raise UserError(f"Grid file {p} has unknown key(s) {', '.join(unknown)}; the keys are "
                        f"{', '.join(sorted(_GRID_KEYS))}.")
    missing = [k for k in ("methods", "datasets", "bits", "seeds") if k not in data]
    if missing:
        raise UserError(f"Grid file {p} lacks {', '.join(missing)}: a grid needs methods, datasets, bits and "
                        "seeds (e.g. methods = \"all\", datasets = [\"shapes\"], bits = [64], seeds = [0]).")
    where = f"Grid file {p}"
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise UserError(f"{where}: [overrides] must be a table of method pattern -> list of \"key=value\".")
    protocols = data.get("protocols", {})
    if not isinstance(protocols, dict) or not all(isinstance(v, str) for v in protocols.values()):
        raise UserError(f"{where}: protocols must be a table of dataset -> protocol name.")
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, dict) for e in exclude):
        raise UserError(f"{where}: exclude must be a list of tables ([[exclude]] with methods/datasets/bits/seeds "
                        "and a reason).")
    rules = []
    for i, e in enumerate(exclude):
        bad = sorted(set(e) - _EXCLUDE_KEYS)
        if bad or not isinstance(e.get("reason"), str) or not e["reason"].strip():
            raise UserError(f"{where}: [[exclude]] entry {i + 1} " + (f"has unknown key(s) {', '.join(bad)}" if bad
                            else "has no reason") + f"; its keys are {', '.join(sorted(_EXCLUDE_KEYS))}, and "
                            "reason (why the runs are left out) is required.")
        rule: dict[str, Any] = {"reason": e["reason"]}
        for k in ("methods", "datasets"):
            if k in e:
                rule[k] = _str_list(e[k], f"exclude.{k}", where)
        for k in ("bits", "seeds"):
            if k in e:
                rule[k] = _int_list(e[k], f"exclude.{k}", where)
        rules.append(rule)
    return Grid(methods=_str_list(data["methods"], "methods", where),
                datasets=_str_list(data["datasets"], "datasets", where),
                bits=_int_list(data["bits"], "bits", where), seeds=_int_list(data["seeds"], "seeds", where),
                overrides={k: _str_list(v, f"overrides.{k}", where) for k, v in overrides.items()},
                protocols=dict(protocols), exclude=rules)


def resolve_methods(patterns: Sequence[str]) -> list[str]:
    """Registered method names matching names or fnmatch patterns ("all" = every registered method), in the
    order given, each once (``["razh*", "all"]`` puts RAZH and its variants first)."""
    from zshbench.registry import METHODS, did_you_mean

    names = METHODS.names()
    out: list[str] = []
    for pat in patterns:
        if pat == "all":
            hits = names
        elif any(ch in pat for ch in "*?["):
            hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        else:
            hits = [pat] if pat in METHODS else []
        if not hits:
            if any(ch in pat for ch in "*?["):
                raise UserError(f"No registered method matches the pattern '{pat}'. Available: "
                                f"{', '.join(names)}. See 'zshbench list methods'.")
            raise UserError(did_you_mean(pat, names, "method") + " See 'zshbench list methods'.")
        out += [h for h in hits if h not in out]
    return out


def method_overrides(grid: Grid, method: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The grid's overrides that apply to ``method`` (in file order), then ``extra``: later keys win.

    ``extra`` entries may be scoped to methods as ``PATTERN:key=value`` (e.g. ``razh*:max_steps=5``)."""
    out: list[str] = []
    for pat, values in grid.overrides.items():
        if fnmatch.fnmatchcase(method, pat):
            out += values
    for item in extra:
        head, sep, _ = item.partition("=")
        if ":" in head:
            pat, _, kv = item.partition(":")
            if fnmatch.fnmatchcase(method, pat):
                out.append(kv)
        else:
            out.append(item)
    return tuple(out)


def _check_override_patterns(grid: Grid, extra: Sequence[str]) -> None:
    """A method pattern of an override that matches no registered method is a typo, not a no-op."""
    from zshbench.registry import METHODS

    names = METHODS.names()
    pats = [(p, f"[overrides] \"{p}\"") for p in grid.overrides]
    for item in extra:
        head = item.partition("=")[0]
        if ":" in head:
            pats.append((item.partition(":")[0], f"--set {item}"))
    for pat, where in pats:
        if not any(fnmatch.fnmatchcase(m, pat) for m in names):
            raise UserError(f"The override {where} is for methods matching '{pat}', but no registered method "
                            f"matches it (registered: {', '.join(names)}). Fix the pattern: a typo would "
                            "silently run the defaults.")


def expand(grid: Grid, results: str | Path, *, extra_overrides: Sequence[str] = (), device: str = "auto",
           data_root: str | None = None, checkpoint_every: int = 0, resume: bool = False) -> list[Job]:
    """One single-run `Job` per (method, dataset, bits, seed) of the grid, in a fixed order (runs matched by an
    ``[[exclude]]`` entry left out; repeated names or numbers count once)."""
    from zshbench.registry import get_method

    jobs = []
    methods = resolve_methods(grid.methods)
    _check_override_patterns(grid, extra_overrides)
    for m in methods:
        inputs = get_method(m).requires.inputs
        ov = method_overrides(grid, m, extra_overrides)
        for d in dict.fromkeys(grid.datasets):  # each once, in order
            for b in dict.fromkeys(grid.bits):
                for s in dict.fromkeys(grid.seeds):
                    if grid.excluded(m, d, int(b), int(s)):
                        continue
                    jobs.append(Job(m, d, (int(b),), (int(s),), str(results), grid.protocols.get(d), ov, device,
                                    data_root, inputs, checkpoint_every, resume))
    return jobs


def pending(jobs: Sequence[Job], *, group: bool = True) -> tuple[list[Job], int]:
    """Drop the runs that are done; return (jobs to launch, number of runs skipped).

    A run is done only when its results folder holds a valid record with exactly its identity
    (`zshbench.runner.Prepared.lookup`); a record that cannot be used (corrupt, edited, another run's) is not done:
    its job lists it in ``replace`` and reruns it with ``--force``. Every (method, dataset) is validated here
    through `zshbench.runner.prepare`, so bad input fails before any launch. With ``group`` the remaining runs of
    one (method, dataset, overrides) become one `Job` over the union of their code lengths and seeds (never a
    run the grid excludes or one already done)."""
    from zshbench.runner import prepare

    prepared: dict[tuple, Any] = {}
    todo: list[Job] = []
    skipped = 0
    for j in jobs:
        key = (j.method, j.dataset, j.protocol, j.overrides, j.data_root)
        if key not in prepared:
            prepared[key] = prepare(j.method, j.dataset, protocol=j.protocol, bits=j.bits, seeds=j.seeds,
                                    device="cpu", overrides=list(j.overrides), data_root=j.data_root)
        prep = prepared[key]
        missing = False
        broken: list[str] = []
        for b in j.bits:
            for s in j.seeds:
                look = prep.lookup(j.results, b, s)
                look.slot.hasher.validate_config()  # prepare() validated the first job's code length only
                if look.status == "done":
                    skipped += 1
                else:
                    missing = True
                    if look.status == "invalid":
                        broken.append(look.problem or str(look.slot.path))
        if missing:
            todo.append(dataclasses.replace(j, replace=tuple(broken)))
    if not group:
        return todo, skipped
    groups: dict[tuple, list[Job]] = {}
    for j in todo:
        groups.setdefault((j.method, j.dataset, j.protocol, j.overrides, j.data_root), []).append(j)
    out = []
    for members in groups.values():
        # one job per set of seeds: code lengths missing the same seeds share a job, so a job's bits x seeds is
        # exactly its missing runs (never a run the grid excludes or one already recorded)
        by_bits: dict[int, set[int]] = {}
        broken_of: dict[tuple[int, int], tuple[str, ...]] = {}
        for j in members:
            for b in j.bits:
                by_bits.setdefault(b, set()).update(j.seeds)
                for s in j.seeds:
                    broken_of[(b, s)] = j.replace
        by_seeds: dict[tuple[int, ...], list[int]] = {}
        for b, ss in by_bits.items():
            by_seeds.setdefault(tuple(sorted(ss)), []).append(b)
        for seeds, bits in by_seeds.items():
            rep = tuple(dict.fromkeys(p for b in bits for s in seeds for p in broken_of.get((b, s), ())))
            out.append(dataclasses.replace(members[0], bits=tuple(sorted(bits)), seeds=seeds, replace=rep))
    return out, skipped


def _cost(job: Job) -> tuple:
    """Order of launch (a stable sort key): deep (image) methods first, larger jobs first, otherwise the grid's
    order of methods and datasets (list the costliest first, e.g. methods = ["razh*", "all"])."""
    return (job.inputs != "images", -job.n_runs)


# ---- launchers ----------------------------------------------------------------------------------------------

class LocalLauncher:
    """Run jobs as ``python -m zshbench run ...`` subprocesses, ``workers`` at a time, on this machine."""

    name = "local"

    def __init__(self, options: LaunchOptions) -> None:
        self.options = options
        threads = int(options.threads)
        if threads < 1:
            raise UserError(f"--threads-per-job must be a positive integer, got {threads}.")
        workers = options.workers if options.workers is not None else max(1, (os.cpu_count() or 1) // threads)
        if int(workers) < 1:
            raise UserError(f"--workers must be a positive integer, got {workers}.")
        self.workers, self.threads = int(workers), threads
        self.log_dir = Path(options.log_dir or Path(options.results) / "sweep-logs")

    def _run(self, job: Job) -> JobResult:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{job.name}.log"
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        env.setdefault("GOMP_SPINCOUNT", "10000")
        t0 = time.perf_counter()
        with open(log, "w") as fh:
            fh.write("$ " + " ".join(job.command()) + "\n")
            fh.flush()
            rc = subprocess.call(job.command(), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                 preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        dt = time.perf_counter() - t0
        msg = "" if rc == 0 else f"exit code {rc}; last lines of {log}:\n" + _tail(log)
        return JobResult(job, rc == 0, dt, msg, str(log))

    def launch(self, jobs: Sequence[Job]) -> list[JobResult]:
        order = sorted(jobs, key=_cost)
        results: list[JobResult] = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for res in pool.map(self._run_and_report(len(order), results), order):
                pass
        return results

    def _run_and_report(self, total: int, results: list[JobResult]):
        def go(job: Job) -> JobResult:
            res = self._run(job)
            results.append(res)
            if self.options.on_done:
                self.options.on_done(res, len(results), total)
            return res
        return go


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the worker gets SIGTERM when the thread of the sweep that started it dies (kill -9 of the sweep),
    instead of running on orphaned beside a rerun of the same sweep."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _tail(path: Path, n: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


LAUNCHERS: dict[str, str] = {
    "local": "zshbench.sweep:LocalLauncher",
    "submitit": "zshbench.launchers_submitit:SubmititLauncher",
}


def make_launcher(name: str, options: LaunchOptions) -> Launcher:
    import importlib

    if name not in LAUNCHERS:
        raise UserError(f"Unknown launcher '{name}'; choose one of {', '.join(sorted(LAUNCHERS))}.")
    module, _, cls = LAUNCHERS[name].partition(":")
    try:
        klass = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise UserError(f"The '{name}' launcher is not available ({exc}). For submitit install the extra: "
                        "pip install 'zshbench[slurm]'.") from None
    return klass(options)


def sweep(grid: Grid, launcher: str = "local", options: LaunchOptions | None = None, *,
          extra_overrides: Sequence[str] = (), device: str = "auto", data_root: str | None = None,
          per_run: bool = False, dry_run: bool = False, checkpoint_every: int = 0, resume: bool = False,
          on_plan: Callable[[list[Job], int], None] | None = None) -> list[JobResult]:
    """Expand ``grid``, skip existing records, launch the rest; return one `JobResult` per launched job."""
    options = options or LaunchOptions()
    if checkpoint_every < 0:
        raise UserError(f"--checkpoint-every must be 0 (no checkpoints) or a positive number of steps, got "
                        f"{checkpoint_every}.")
    jobs = expand(grid, options.results, extra_overrides=extra_overrides, device=device, data_root=data_root,
                  checkpoint_every=checkpoint_every, resume=resume)
    todo, skipped = pending(jobs, group=not per_run)
    todo.sort(key=_cost)
    if on_plan:
        on_plan(todo, skipped)
    if dry_run or not todo:
        return []
    return make_launcher(launcher, options).launch(todo)
