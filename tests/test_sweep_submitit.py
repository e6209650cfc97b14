"""The submitit sweep launcher (zshbench.sweep.submitit), with submitit's local executor: no Slurm needed."""

from __future__ import annotations

import sys

import pytest

from zshbench.errors import UserError
from zshbench.sweep import Grid, Job, LaunchOptions, make_launcher, sweep

submitit = pytest.importorskip("submitit", reason="optional extra zshbench[slurm] not installed")

from zshbench.sweep import submitit as ls  # noqa: E402


def test_local_executor_sweep_writes_records_then_submits_nothing(tmp_path):
    from zshbench.records import load_records

    grid = Grid(methods=["lsh"], datasets=["digits"], bits=[16, 32], seeds=[0])
    plans, done = [], []
    opts = LaunchOptions(
        results=str(tmp_path), executor="local", timeout_min=10, on_done=lambda res, i, n: done.append((res.ok, i, n))
    )
    results = sweep(
        grid, "submitit", opts, device="cpu", on_plan=lambda jobs, skipped: plans.append((len(jobs), skipped))
    )
    assert plans == [(1, 0)]  # both runs grouped into one job (one process start, one dataset load)
    assert len(results) == 1 and results[0].ok, results[0].message
    assert done == [(True, 1, 1)]
    records, errors = load_records(tmp_path)
    assert not errors and sorted(r["n_bits"] for r in records) == [16, 32]
    logs = list((tmp_path / "submitit-logs").glob("*_log.out"))
    assert len(logs) == 1 and "zshbench run --method lsh --dataset digits" in logs[0].read_text()

    plans.clear()
    again = sweep(
        grid, "submitit", opts, device="cpu", on_plan=lambda jobs, skipped: plans.append((len(jobs), skipped))
    )
    assert again == [] and plans == [(0, 2)]
    assert len(list((tmp_path / "submitit-logs").glob("*_log.out"))) == 1  # nothing was submitted


def test_failing_job_is_reported_not_raised(tmp_path, monkeypatch):
    # a stand-in for a run that fails (exit code 2, as `zshbench run` on bad input), without its start-up cost
    monkeypatch.setattr(
        ls, "job_command", lambda job, gpus=0: [sys.executable, "-c", "import sys; print('bad input'); sys.exit(2)"]
    )
    job = Job("lsh", "digits", (16,), (0,), str(tmp_path), device="cpu")
    res = make_launcher("submitit", LaunchOptions(results=str(tmp_path), executor="local")).launch([job])
    assert len(res) == 1 and not res[0].ok
    assert "exited with code 2" in res[0].message and res[0].log.endswith("_log.out")
    assert "bad input" in open(res[0].log).read()


def test_missing_submitit_is_a_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit -> ImportError
    with pytest.raises(UserError, match=r"pip install 'zshbench\[slurm\]'"):
        make_launcher("submitit", LaunchOptions())


def test_slurm_without_slurm_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: -1))
    launcher = make_launcher("submitit", LaunchOptions(results=str(tmp_path)))
    with pytest.raises(UserError, match="Slurm is not available here.*--launcher local"):
        launcher.executor()


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("gpus_per_job", -1, "--gpus-per-job must be a non-negative"),
        ("timeout_min", 0, "--timeout-min must be a positive"),
        ("cpus_per_task", -2, "--cpus-per-task must be a positive"),
        ("executor", "pbs", "Unknown submitit executor 'pbs'"),
    ],
)
def test_bad_options(field, value, fragment):
    with pytest.raises(UserError, match=fragment):
        make_launcher("submitit", LaunchOptions(**{field: value}))


def test_sbatch_script_carries_the_slurm_options(tmp_path, monkeypatch):
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))  # pretend srun exists
    opts = LaunchOptions(
        results=str(tmp_path), slurm_partition="gpu-long", gpus_per_job=2, cpus_per_task=8, timeout_min=90
    )
    launcher = make_launcher("submitit", opts)
    text = launcher.executor()._executor._make_submission_file_text("python -m x", "uid")
    for line in (
        "#SBATCH --partition=gpu-long",
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --time=90",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
    ):
        assert line in text
    assert str(tmp_path / "submitit-logs") in text


def test_job_command_uses_torchrun_for_several_gpus():
    job = Job("razh", "awa2", (64,), (0,), "res", overrides=("profile=paper",))
    one = ls.job_command(job, gpus=1, python="py")
    assert one[:3] == ["py", "-m", "zshbench"] and one[3:] == job.argv()
    four = ls.job_command(job, gpus=4, python="py")
    assert four[:5] == ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert four[5:8] == ["-m", "zshbench", "run"]


def test_checkpoint_requeues_the_same_command():
    cmd = ls.RunCommand(["py", "-m", "zshbench", "run", "--method", "razh"], threads=4)
    delayed = cmd.checkpoint()
    again = delayed.function
    assert isinstance(again, ls.RunCommand) and again.threads == 4
    assert again.command[:6] == cmd.command
    assert again.command[6:] == ["--resume"]
