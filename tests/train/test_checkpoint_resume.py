"""Checkpoint and resume of `fit_loop` (zshbench.train.checkpoint), on a small model in-process, and end to end:
``zshbench run`` killed with SIGKILL after a checkpoint, then ``--resume``, reaches the uninterrupted record."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from zshbench.errors import DataError, UserError
from zshbench.train import ShuffledBatches, fit_loop, make_generator
from zshbench.train import checkpoint as ck

META = {"method": "toy", "params": {"lr": 0.05, "n_bits": 8}, "world_size": 1}


class Interrupt(Exception):
    pass


def _train(
    tmp_path: Path | None = None,
    *,
    every: int = 0,
    resume: bool = False,
    stop_at: int | None = None,
    meta=META,
    epochs: int = 3,
    max_steps: int | None = None,
):
    """A linear model on 70 items, batches of 16 (the last one of 6), a loss drawing from the method's generator
    AND from torch's, numpy's and Python's global RNGs, Adam with a StepLR schedule. ``stop_at``: raise after that
    optimizer step (a crash)."""
    g0 = make_generator(123)
    x = torch.randn(70, 5, generator=g0)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0])
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model = torch.nn.Linear(5, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    gen = make_generator(7)
    batches = ShuffledBatches(70, 16, lambda idx: (x[idx], y[idx]), gen, min_size=2)

    def loss_fn(m, b):
        keep = (torch.rand(len(b[0]), generator=gen) > 0.2).float()  # the method's generator
        noise = 0.01 * torch.randn(1).item() + 0.01 * np.random.rand() + 0.01 * random.random()  # global RNGs
        err = (m(b[0]).squeeze(-1) - b[1] + noise) ** 2
        return (err * keep).mean(), {"kept": keep.mean()}

    def on_step(step, parts):
        if stop_at is not None and step == stop_at:
            raise Interrupt(step)

    if tmp_path is None:
        stats = fit_loop(
            model,
            loss_fn,
            batches,
            opt,
            epochs,
            "cpu",
            generator=gen,
            scheduler=sched,
            on_step=on_step,
            max_steps=max_steps,
        )
        return model, stats
    with ck.checkpointing(tmp_path / "run.ckpt.pt", every=every, resume=resume, meta=meta):
        stats = fit_loop(
            model,
            loss_fn,
            batches,
            opt,
            epochs,
            "cpu",
            generator=gen,
            scheduler=sched,
            on_step=on_step,
            max_steps=max_steps,
        )
    return model, stats


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_checkpointing_does_not_change_training(tmp_path):
    plain, s0 = _train()
    saved, s1 = _train(tmp_path, every=2)
    assert _same(plain, saved) and s0.epochs == s1.epochs and s0.steps == s1.steps == 15
    assert s1.resumed_from_step is None and s1.world_size == 1
    assert (tmp_path / "run.ckpt.pt").is_file()  # the final checkpoint (training done)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("every, stop_at, resumed_from", [(3, 8, 6), (5, 6, 5), (4, 13, 12)])
def test_resume_mid_epoch_is_bit_identical(tmp_path, every, stop_at, resumed_from):
    """5 batches per epoch: steps 6 and 12 resume in the middle of epochs 2 and 3, step 5 at an epoch end."""
    plain, s0 = _train()
    with pytest.raises(Interrupt):
        _train(tmp_path, every=every, stop_at=stop_at)
    pos = torch.load(tmp_path / "run.ckpt.pt", weights_only=True)["position"]
    assert pos["step"] == resumed_from and not pos["done"]
    resumed, s1 = _train(tmp_path, resume=True)
    assert s1.resumed_from_step == resumed_from
    assert _same(plain, resumed), "resumed training differs from the uninterrupted run"
    assert s0.epochs == s1.epochs and s1.steps == 15


def test_resume_from_finished_checkpoint_skips_training(tmp_path):
    done, s0 = _train(tmp_path, every=4)
    again, s1 = _train(tmp_path, resume=True, stop_at=1)  # stop_at=1 would raise if a step ran
    assert _same(done, again) and s1.epochs == s0.epochs and s1.resumed_from_step == 15


def test_max_steps_resume(tmp_path):
    plain, _ = _train(max_steps=9)
    with pytest.raises(Interrupt):
        _train(tmp_path, every=2, stop_at=7, max_steps=9)
    resumed, s = _train(tmp_path, resume=True, max_steps=9)
    assert _same(plain, resumed) and s.steps == 9


def test_checkpoint_is_weights_only_and_complete(tmp_path):
    _train(tmp_path, every=100)
    ckpt = torch.load(tmp_path / "run.ckpt.pt", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "scheduler", "rng", "position", "stats_json", "meta_json", "every"} <= set(ckpt)
    rng = ckpt["rng"][0]
    assert {"torch", "numpy", "python", "generators"} <= set(rng)
    assert {"generator", "order_epoch_start"} <= set(rng["generators"])
    assert json.loads(ckpt["meta_json"]) == META


def test_resume_with_other_identity_names_the_keys(tmp_path):
    with pytest.raises(Interrupt):
        _train(tmp_path, every=2, stop_at=3)
    other = {**META, "params": {"lr": 0.1, "n_bits": 8}, "world_size": 2}
    with pytest.raises(ck.ResumeMismatchError, match=r"params\.lr.*world_size") as exc:
        _train(tmp_path, resume=True, meta=other)
    assert "0.05" in str(exc.value) and "without --resume" in str(exc.value)


def test_resume_refuses_sibling_checkpoint_of_another_config(tmp_path):
    """--resume with changed settings: the record path (config hash) changes, the old checkpoint is found."""
    old = tmp_path / "aaaa-b8-s0.ckpt.pt"
    ck.save_checkpoint(old, {"meta_json": json.dumps(META)})
    new_meta = {**META, "params": {"lr": 0.2, "n_bits": 8}}
    with pytest.raises(ck.ResumeMismatchError, match=r"params\.lr: checkpoint 0\.05, now 0\.2"):
        with ck.checkpointing(tmp_path / "bbbb-b8-s0.ckpt.pt", resume=True, meta=new_meta):
            pass
    with ck.checkpointing(tmp_path / "bbbb-b16-s0.ckpt.pt", resume=True, meta=new_meta):  # other bits: unrelated
        pass


def test_bad_checkpoint_and_bad_interval(tmp_path):
    bad = tmp_path / "run.ckpt.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot be read"):
        _train(tmp_path, resume=True)
    for every in (-1, 1.5, True):
        with pytest.raises(UserError, match="checkpoint-every"):
            ck.check_every(every)
    assert ck.checkpoint_path("r/x/abc-b64-s0.json") == Path("r/x/abc-b64-s0.ckpt.pt")
    (tmp_path / ".run.ckpt.pt.k1l2.tmp").write_bytes(b"cut short")  # a write killed before its rename
    ck.discard(tmp_path / "run.json")
    assert not list(tmp_path.iterdir())


def test_existing_checkpoint_without_resume_warns(tmp_path):
    with pytest.raises(Interrupt):
        _train(tmp_path, every=2, stop_at=3)
    with pytest.warns(ck.CheckpointWarning, match="--resume"):
        _train(tmp_path, every=0)


# -- end to end: SIGKILL, then --resume -------------------------------------------------------------------

RUN = [
    "run",
    "--method",
    "comae",
    "--dataset",
    "digits",
    "--bits",
    "16",
    "--seeds",
    "0",
    "--device",
    "cpu",
    "--set",
    "batch_size=24",
    "--set",
    "max_steps=14",
    "--k",
    "100",
    "--no-progress",
]


def _zshbench(args, results, env=None, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": "10000", "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "zshbench", *args, "--results", str(results)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _record(results: Path) -> dict:
    recs = list(results.rglob("*.json"))
    assert len(recs) == 1, recs
    return json.loads(recs[0].read_text())


def test_sigkill_then_resume_reaches_the_uninterrupted_record(tmp_path):
    """Measured on the shared 1-CPU dev box: 43-165 s in all (three processes)."""
    full = _zshbench(RUN, tmp_path / "full")
    out, err = full.communicate(timeout=600)
    assert full.returncode == 0, err
    ref = _record(tmp_path / "full")

    killed = _zshbench(RUN + ["--checkpoint-every", "3"], tmp_path / "killed")
    deadline = time.time() + 600
    ckpts: list[Path] = []
    while time.time() < deadline and killed.poll() is None:
        ckpts = list((tmp_path / "killed").rglob("*.ckpt.pt"))
        if ckpts:
            break
        time.sleep(0.02)
    assert ckpts, "no checkpoint appeared"
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert not list((tmp_path / "killed").rglob("*.json")), "the killed run must not leave a record"
    step = torch.load(ckpts[0], weights_only=True)["position"]["step"]
    assert 3 <= step < 14

    resumed = _zshbench(RUN + ["--resume"], tmp_path / "killed")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    rec = _record(tmp_path / "killed")
    assert not list((tmp_path / "killed").rglob("*.ckpt.pt")), "the checkpoint is deleted with the record written"
    assert rec["metrics"] == ref["metrics"]
    tr, tr_ref = rec["extras"]["train"], ref["extras"]["train"]
    assert tr["epochs"] == tr_ref["epochs"] and tr["steps"] == tr_ref["steps"] == 14
    assert tr["resumed_from_step"] == step and tr_ref["resumed_from_step"] is None
    assert tr["world_size"] == tr_ref["world_size"] == 1


def test_cli_rejects_negative_interval(tmp_path):
    from zshbench.cli import main

    assert (
        main(
            ["run", "--method", "comae", "--dataset", "digits", "--checkpoint-every", "-2", "--results", str(tmp_path)]
        )
        == 2
    )
