"""The ``submitit`` sweep launcher: one Slurm job per `zshbench.sweep.Job`, submitted as one job array.

``zshbench sweep ... --launcher submitit --slurm-partition P --gpus-per-job G --timeout-min T`` hands every
pending job (the sweep has already dropped runs whose record exists) to submitit
(https://github.com/facebookincubator/submitit), which writes the sbatch script, submits one Slurm array with
a task per job, and collects logs and exit states. Inside a task the job runs as a subprocess,
``python -m zshbench run ...`` (``zshbench.sweep.Job.argv``), or, with more than one GPU per job,
``python -m torch.distributed.run --standalone --nproc_per_node G -m zshbench run ...`` so that deep methods
train with DDP on the job's GPUs. The record is written by ``zshbench run`` itself, atomically, so a failed
or killed task leaves no half-written record and rerunning the sweep submits exactly the missing runs.

Preemption and time limits: Slurm sends SIGUSR2 shortly before it stops a task (submitit's ``--signal``);
the task then requeues itself (`RunCommand.checkpoint`), adding ``--resume`` to the command when
``zshbench run`` has that option, so a deep method continues from its last training checkpoint. The running
``zshbench run`` subprocess stops at that point (submitit exits the task, and the subprocess is killed with
it): the work since the last checkpoint (``--checkpoint-every``) is redone by the requeued task, and a
database being encoded to a memory-mapped codes file may leave a temporary file in the codes directory.

``executor="local"`` uses submitit's `LocalExecutor` instead of Slurm (same pickling, folders and job
states, all jobs at once as local processes): what the tests use, on a machine without Slurm.

Logs: ``<results>/submitit-logs/`` (``LaunchOptions.log_dir`` overrides), one ``<jobid>_<task>_log.out``/``.err``
pair per task, plus submitit's pickles.

Requires the optional extra ``pip install 'zshbench[slurm]'`` (submitit >= 1.5).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zshbench.errors import UserError
from zshbench.sweep.local import LaunchOptions
from zshbench.sweep.plan import Job, JobResult

__all__ = ["SubmititLauncher", "RunCommand", "job_command", "import_submitit"]

EXECUTORS = ("slurm", "local")


def import_submitit():
    """The submitit module, or a `UserError` saying how to install it."""
    try:
        import submitit
    except ImportError:
        raise UserError(
            "The 'submitit' launcher needs the submitit package, which is not installed in this environment. "
            "Install zshbench's Slurm extra with: pip install 'zshbench[slurm]' (or pip install submitit), "
            "or run the sweep on this machine with --launcher local."
        ) from None
    return submitit


def job_command(job: Job, gpus: int = 0, python: str | None = None) -> list[str]:
    """The command a task runs for ``job``: ``zshbench run ...``, under torchrun when ``gpus`` > 1."""
    py = python or sys.executable
    if gpus > 1:
        return [
            py,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
            "-m",
            "zshbench",
            *job.argv(),
        ]
    return [py, "-m", "zshbench", *job.argv()]


def _ignore_usr2() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Slurm's pre-timeout signal is for the submitit process (it requeues the task), not for the run: the run
    # must not die of the signal itself (SIGUSR2's default action is to terminate) while submitit requeues.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class RunCommand:
    """The callable submitit pickles and runs in a task: one ``zshbench run`` subprocess.

    Args:
        command: the argv to execute (see `job_command`).
        threads: OpenMP/MKL threads of the run (``--cpus-per-task`` on Slurm).
    """

    def __init__(self, command: Sequence[str], threads: int = 1):
        self.command = list(command)
        self.threads = int(threads)

    def __call__(self) -> dict[str, Any]:
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        env.setdefault("GOMP_SPINCOUNT", "10000")
        print("$ " + " ".join(self.command), flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(self.command, env=env, preexec_fn=_ignore_usr2 if hasattr(signal, "SIGUSR2") else None)
        seconds = time.perf_counter() - t0
        if rc != 0:
            raise RuntimeError(
                f"'zshbench run' exited with code {rc} after {seconds:.0f} s "
                f"(command: {' '.join(self.command)}); its output is in this task's log."
            )
        return {"returncode": rc, "seconds": seconds}

    def checkpoint(self) -> Any:
        """Requeue on preemption or time-out (called by submitit in the task), with ``--resume`` if supported."""
        import submitit

        cmd = list(self.command)
        if "--resume" not in cmd:
            cmd.append("--resume")
        return submitit.helpers.DelayedSubmission(RunCommand(cmd, self.threads))

    def __repr__(self) -> str:
        return f"RunCommand({' '.join(self.command)!r})"


class SubmititLauncher:
    """Launch sweep jobs through submitit: a Slurm job array (``executor="slurm"``) or local processes.

    Reads ``slurm_partition``, ``gpus_per_job``, ``cpus_per_task`` (default: ``threads``), ``timeout_min``,
    ``executor``, ``log_dir`` (default ``<results>/submitit-logs``) and ``on_done`` of the `LaunchOptions`.
    `launch` submits every job, then waits for all of them (polling; Ctrl-C stops waiting, not the jobs).

    Raises:
        UserError: submitit missing, bad option values, or ``executor="slurm"`` on a machine without Slurm.
    """

    name = "submitit"

    def __init__(self, options: LaunchOptions) -> None:
        self.submitit = import_submitit()
        self.options = options
        if options.executor not in EXECUTORS:
            raise UserError(
                f"Unknown submitit executor '{options.executor}'; choose 'slurm' (a Slurm cluster) or "
                "'local' (submitit's local executor, for tests without Slurm)."
            )
        self.gpus = _non_negative(options.gpus_per_job, "--gpus-per-job", "e.g. --gpus-per-job 1")
        self.threads = _positive(options.threads, "--threads-per-job")
        self.cpus = _positive(options.cpus_per_task, "--cpus-per-task") if options.cpus_per_task else self.threads
        self.timeout_min = _positive(options.timeout_min, "--timeout-min")
        self.folder = Path(options.log_dir or Path(options.results) / "submitit-logs")
        self.poll_s = 0.5 if options.executor == "local" else 30.0

    # -- submission -------------------------------------------------------------------------------------------
    def executor(self):
        """A configured submitit executor (no job submitted yet)."""
        sm = self.submitit
        if self.options.executor == "local":
            ex = sm.LocalExecutor(folder=str(self.folder))
            ex.update_parameters(timeout_min=self.timeout_min)
            return ex
        try:
            ex = sm.AutoExecutor(folder=str(self.folder), cluster="slurm")
        except RuntimeError as exc:  # submitit: 'Could not detect "srun", are you indeed on a slurm cluster?'
            raise UserError(
                f"The submitit launcher submits to Slurm, but Slurm is not available here ({exc}). Run the "
                "sweep on a login node of a Slurm cluster, or use --launcher local on this machine."
            ) from None
        params: dict[str, Any] = {
            "timeout_min": self.timeout_min,
            "nodes": 1,
            "tasks_per_node": 1,
            "cpus_per_task": self.cpus,
            "name": "zshbench",
        }
        if self.gpus:
            params["gpus_per_node"] = self.gpus
        if self.options.slurm_partition:
            params["slurm_partition"] = self.options.slurm_partition
        ex.update_parameters(**params)
        return ex

    def submit(self, jobs: Sequence[Job]) -> list:
        """Submit ``jobs`` (one array on Slurm) and return submitit's job handles, in the same order."""
        self.folder.mkdir(parents=True, exist_ok=True)
        ex = self.executor()
        fns = [RunCommand(job_command(j, self.gpus), self.cpus) for j in jobs]
        if not fns:
            return []
        return list(ex.submit_array(fns))

    # -- waiting ----------------------------------------------------------------------------------------------
    def launch(self, jobs: Sequence[Job]) -> list[JobResult]:
        t0 = time.perf_counter()
        handles = self.submit(jobs)
        results: list[JobResult] = []
        waiting = dict(enumerate(handles))
        try:
            while waiting:
                for i in [i for i, h in waiting.items() if h.done()]:
                    res = self._result(jobs[i], waiting.pop(i), time.perf_counter() - t0)
                    results.append(res)
                    if self.options.on_done:
                        self.options.on_done(res, len(results), len(handles))
                if waiting:
                    time.sleep(self.poll_s)
        except KeyboardInterrupt:
            ids = ", ".join(str(h.job_id) for h in waiting.values())
            sys.stderr.write(
                f"stopped waiting; {len(waiting)} submitted job(s) keep running ({ids}). Check them "
                "with squeue; rerun the sweep once they are finished to submit what is missing.\n"
            )
            raise
        return results

    def _result(self, job: Job, handle, seconds: float) -> JobResult:
        exc = handle.exception()
        log = str(handle.paths.stdout)
        if exc is None:
            out = handle.result()
            return JobResult(job, True, float(out.get("seconds", seconds)), "", log)
        lines = str(exc).strip().splitlines()
        msg = f"submitit job {handle.job_id} ({handle.state}): " + "\n".join(lines[-8:])
        from pathlib import Path

        from zshbench.sweep.local import _tail

        msg += f"\nlast lines of the run's output ({log}):\n" + _tail(Path(log))
        return JobResult(job, False, seconds, msg, log)


def _positive(value, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{flag} must be a positive integer, got {value!r}.")
    return int(value)


def _non_negative(value, flag: str, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"{flag} must be a non-negative integer (0 = CPU only), got {value!r}; {example}.")
    return int(value)
