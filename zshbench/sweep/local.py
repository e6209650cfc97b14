"""Launchers: the local process pool (`LocalLauncher`), the registry of launchers (`LAUNCHERS`,
`make_launcher`) and `sweep`, which plans a grid and launches what is not done."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from zshbench.errors import UserError
from zshbench.sweep.grid import Grid, expand
from zshbench.sweep.plan import Job, JobResult, _cost, pending

__all__ = ["LaunchOptions", "Launcher", "LocalLauncher", "LAUNCHERS", "make_launcher", "sweep"]


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
            rc = subprocess.call(
                job.command(),
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        dt = time.perf_counter() - t0
        msg = "" if rc == 0 else f"exit code {rc}; last lines of {log}:\n" + _tail(log)
        return JobResult(job, rc == 0, dt, msg, str(log))

    def launch(self, jobs: Sequence[Job]) -> list[JobResult]:
        order = sorted(jobs, key=_cost)
        results: list[JobResult] = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for _ in pool.map(self._run_and_report(len(order), results), order):
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
    "submitit": "zshbench.sweep.submitit:SubmititLauncher",
}


def make_launcher(name: str, options: LaunchOptions) -> Launcher:
    import importlib

    if name not in LAUNCHERS:
        raise UserError(f"Unknown launcher '{name}'; choose one of {', '.join(sorted(LAUNCHERS))}.")
    module, _, cls = LAUNCHERS[name].partition(":")
    try:
        klass = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise UserError(
            f"The '{name}' launcher is not available ({exc}). For submitit install the extra: "
            "pip install 'zshbench[slurm]'."
        ) from None
    return klass(options)


def sweep(
    grid: Grid | Sequence[Grid],
    launcher: str = "local",
    options: LaunchOptions | None = None,
    *,
    extra_overrides: Sequence[str] = (),
    device: str = "auto",
    data_root: str | None = None,
    per_run: bool = False,
    dry_run: bool = False,
    checkpoint_every: int = 0,
    resume: bool = False,
    on_plan: Callable[[list[Job], int], None] | None = None,
) -> list[JobResult]:
    """Expand ``grid``, skip existing records, launch the rest; return one `JobResult` per launched job.

    ``grid`` may be several grids (``zshbench sweep --grid A --grid B``): their runs form ONE queue, ordered by
    cost across all of them, so no worker waits at the end of one grid while the other finishes its last long
    job (`make leaderboard` runs its five grid files this way). A run listed by more than one grid runs once.
    """
    options = options or LaunchOptions()
    grids = [grid] if isinstance(grid, Grid) else list(grid)
    if checkpoint_every < 0:
        raise UserError(
            f"--checkpoint-every must be 0 (no checkpoints) or a positive number of steps, got {checkpoint_every}."
        )
    jobs = [
        job
        for g in grids
        for job in expand(
            g,
            options.results,
            extra_overrides=extra_overrides,
            device=device,
            data_root=data_root,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
    ]
    todo, skipped = pending(jobs, group=not per_run)
    todo.sort(key=_cost)
    if on_plan:
        on_plan(todo, skipped)
    if dry_run or not todo:
        return []
    return make_launcher(launcher, options).launch(todo)
