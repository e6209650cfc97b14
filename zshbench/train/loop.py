"""A generic, small deep-training loop (see the package docstring).

Example::

    gen = make_generator(seed)
    batches = ShuffledBatches(len(train), 64, load, gen, min_size=2)   # or any ``batches(epoch)`` callable
    stats = fit_loop(model, loss_fn, batches, optimizer, epochs=5, device="cpu", generator=gen)

``loss_fn(model, batch)`` returns ``(loss, parts)``: the scalar tensor to minimise and a dict of float-able
components logged per epoch (e.g. ``{"cls": ..., "hash": ...}``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FitStats", "autocast", "deterministic", "fit_loop", "make_generator", "seed_all", "use_progress_bar"]

_BAR: contextvars.ContextVar = contextvars.ContextVar("zshbench_progress_bar", default=None)


@contextlib.contextmanager
def use_progress_bar(bar):
    """Within this context, `fit_loop` shows its epochs as tasks of ``bar`` (a live ``rich.progress.Progress``,
    e.g. `zshbench run`'s in a terminal) instead of starting a display of its own: the step count, the running
    mean of each loss term and the time, without a second live display and without touching the hasher's config
    (so a run's identity is the same with and without a bar). ``bar=None`` changes nothing."""
    token = _BAR.set(bar)
    try:
        yield bar
    finally:
        _BAR.reset(token)


@dataclass
class FitStats:
    """What `fit_loop` measured: steps, wall time (summed over resumed sessions), the mean of each loss part per
    epoch, the number of DDP processes and the optimizer step training was resumed from (None: not resumed)."""

    steps: int = 0
    seconds: float = 0.0
    epochs: list[dict[str, float]] = field(default_factory=list)
    world_size: int = 1
    resumed_from_step: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "epochs": self.epochs,
            "world_size": self.world_size,
            "resumed_from_step": self.resumed_from_step,
        }


def make_generator(seed: int):
    """A CPU ``torch.Generator`` seeded with ``seed`` (draws on the CPU, then move tensors: device-independent)."""
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def seed_all(seed: int) -> None:
    """Seed Python, numpy's global RNG and torch's global RNGs (for library code that draws from them)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic(enabled: bool = True) -> Iterator[None]:
    """Turn on deterministic torch algorithms inside the block (restoring the previous setting afterwards).

    ``warn_only=True``: an op without a deterministic implementation (some CUDA kernels) warns instead of failing.
    """
    import torch

    if not enabled:
        yield
        return
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)


def autocast(device: str, enabled: bool = True):
    """bf16 autocast on CUDA; a null context on the CPU (float32 there: exact and reproducible)."""
    import torch

    if enabled and str(device).startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fit_loop(
    model,
    loss_fn: Callable[[Any, Any], tuple[Any, dict[str, Any]]],
    batches: Callable[[int], Iterable[Any]],
    optimizer,
    epochs: int,
    device: str,
    *,
    max_steps: int | None = None,
    grad_clip: float | None = None,
    amp: bool = True,
    deterministic_cpu: bool = True,
    progress: bool = False,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    description: str = "train",
    generator=None,
    scheduler=None,
) -> FitStats:
    """Train ``model`` for ``epochs`` passes over ``batches(epoch)`` (or until ``max_steps`` optimizer steps).

    Checkpointing and resuming (`zshbench.train.checkpoint`), data-parallel training under torchrun
    (`zshbench.train.distributed`) and TensorBoard logging (`zshbench.train.tblog`) are switched on by the
    caller's context (the runner), not by arguments: a plain call trains in this process, exactly as before
    those existed.

    Args:
        model: a ``torch.nn.Module`` already on ``device``; set to train mode here and to eval mode at the end.
        loss_fn: ``loss_fn(model, batch) -> (loss tensor, {name: value})``; runs under `autocast`.
        batches: a `ShuffledBatches` (needed for mid-epoch resume without reloading and for DDP), or any
            ``batches(epoch)`` callable yielding the batches of one epoch.
        optimizer: a torch optimizer over the model's parameters.
        epochs: number of passes.
        device: the resolved device ("cpu", "cuda", "cuda:N").
        max_steps: stop after this many optimizer steps in total (None: no limit).
        grad_clip: clip the global gradient norm to this value (None: no clipping).
        amp: allow bf16 autocast on CUDA.
        deterministic_cpu: deterministic algorithms while training on the CPU.
        progress: show a rich progress bar (one task per epoch; rank 0 only).
        on_step: hook ``on_step(step, parts)`` after each optimizer step (e.g. logging).
        on_epoch_end: hook ``on_epoch_end(epoch, epoch_means)``.
        description: label of the progress bar.
        generator: the CPU ``torch.Generator`` the batch order and the loss draw from (default: that of a
            `ShuffledBatches`); its state is checkpointed, and under DDP it is reseeded per rank while the batch
            order comes from a copy seeded like it (the same permutation on every rank).
        scheduler: a learning-rate scheduler stepped after every optimizer step (and checkpointed).

    Returns:
        `FitStats` with the number of steps, the time, the per-epoch means of the loss parts (averaged over the
        ranks under DDP), the world size and the step training was resumed from.

    Raises:
        FloatingPointError: the loss became NaN or infinite (with the step and the parts).
        UserError: under DDP, a batch size that is not a multiple of the world size; on resume, a checkpoint of
            another configuration (`ResumeMismatchError`) or an unreadable one.
    """
    import torch

    from zshbench.train import checkpoint as ckpt
    from zshbench.train import distributed as dd
    from zshbench.train import tblog
    from zshbench.train.batches import ShuffledBatches

    dist = dd.current()
    spec = ckpt.current()
    tb = tblog.current() if dist.is_main else None  # zshbench run --log-dir: TensorBoard scalars
    if generator is None:
        generator = getattr(batches, "generator", None)
    stats = FitStats(world_size=dist.world_size)
    t0 = time.perf_counter()
    prev_seconds = 0.0
    order_gen = generator  # draws each epoch's permutation (the method's own generator when single-process)
    shard = None
    if dist.distributed:
        if not isinstance(batches, ShuffledBatches) or generator is None:
            raise TypeError(
                f"{description}: data-parallel training needs the batches as a "
                "zshbench.train.ShuffledBatches with its generator (plain batch callables cannot be "
                "split across ranks)."
            )
        dd.check_batch_size(batches.batch_size, dist.world_size)
        seed = int(generator.initial_seed())
        order_gen = make_generator(seed)  # the same permutation on every rank
        generator.manual_seed(dd.rank_seed(seed, dist.rank))  # per-rank stream of the loss's random draws
        seed_all(dd.rank_seed(seed, dist.rank) % (2**32))
        shard = (dist.rank, dist.world_size)
        progress = progress and dist.is_main

    # -- resume --------------------------------------------------------------------------------------------
    every = spec.every if spec is not None else 0
    start_epoch, start_batch, done = 0, 0, False
    resume_rng, partial = None, ({}, 0)
    if spec is not None and spec.resume and spec.path.exists():
        ck = ckpt.load_checkpoint(spec.path)
        ckpt.check_identity(spec.path, json.loads(ck["meta_json"]), spec.meta)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        if scheduler is not None and ck.get("scheduler") is not None:
            scheduler.load_state_dict(ck["scheduler"])
        pos = ck["position"]
        start_epoch, start_batch, done = int(pos["epoch"]), int(pos["batch"]), bool(pos["done"])
        saved = json.loads(ck["stats_json"])
        stats.steps, stats.epochs, prev_seconds = int(pos["step"]), list(saved["epochs"]), float(saved["seconds"])
        partial = (dict(saved["sums"]), int(saved["n"]))
        stats.resumed_from_step = stats.steps
        resume_rng = ck["rng"][dist.rank]
        every = every or int(ck["every"])

    step_fn = lambda b: loss_fn(model, b)
    if dist.distributed:
        step_fn = dd.wrap_ddp(_loss_module(model, loss_fn), device)

    order_start = None

    def save(epoch: int, pos: int, sums: dict[str, float], n: int, finished: bool) -> None:
        gens = {
            "generator": generator,
            "order": order_gen if order_gen is not generator else None,
            "order_epoch_start": order_start,
        }
        rngs = dd.all_gather_object(ckpt.capture_rng(gens, device))
        if not dist.is_main:
            return
        ckpt.save_checkpoint(
            spec.path,
            {
                "meta_json": json.dumps(spec.meta, sort_keys=True, default=str),
                "every": int(every),
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "position": {"epoch": epoch, "batch": pos, "step": stats.steps, "done": finished},
                "stats_json": json.dumps(
                    {"epochs": stats.epochs, "sums": sums, "n": n, "seconds": prev_seconds + time.perf_counter() - t0}
                ),
                "rng": rngs,
            },
        )

    det = deterministic(deterministic_cpu and not str(device).startswith("cuda"))
    external = _BAR.get() if dist.is_main else None  # the caller's live bar (`use_progress_bar`)
    bar_ctx = contextlib.nullcontext(external) if external is not None else _progress(progress)
    model.train()
    with det, bar_ctx as bar:
        for epoch in range(start_epoch, 0 if done else int(epochs)):
            if resume_rng is not None:  # the interrupted epoch: redraw its permutation, skip what was trained
                order_start = resume_rng["generators"].get("order_epoch_start")
                it = _epoch_batches(batches, epoch, start_batch, shard, order_gen, order_start)
                ckpt.restore_rng(resume_rng, device)
                gens = resume_rng["generators"]
                if generator is not None:
                    generator.set_state(gens["generator"])
                if order_gen is not generator and order_gen is not None:
                    order_gen.set_state(gens["order"])
                (sums, n), pos, resume_rng = partial, start_batch, None
            else:
                order_start = order_gen.get_state() if order_gen is not None else None
                it = _epoch_batches(batches, epoch, 0, shard, order_gen, None)
                sums, n, pos = {}, 0, 0
            per_epoch = len(batches) if hasattr(batches, "__len__") else None
            if per_epoch is not None and max_steps is not None:
                per_epoch = max(0, min(per_epoch, int(max_steps) - stats.steps))
            label = f"{description} epoch {epoch + 1}/{epochs}"
            task = bar.add_task(label, total=per_epoch, terms="") if bar else None
            for batch in it:
                if max_steps is not None and stats.steps >= max_steps:
                    break
                optimizer.zero_grad(set_to_none=True)
                with autocast(device, amp):
                    loss, parts = step_fn(batch)
                lv = float(loss.detach())
                if not math.isfinite(lv):
                    raise FloatingPointError(
                        f"{description}: the loss became {lv} at step {stats.steps} (parts: "
                        f"{ {k: float(v) for k, v in parts.items()} }); lower the learning rate."
                    )
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                stats.steps += 1
                pos += 1
                fparts = {"loss": lv, **{k: float(v) for k, v in parts.items()}}
                if dist.distributed:
                    fparts = dict(zip(fparts, dd.all_reduce_mean(list(fparts.values()), device)))
                for k, v in fparts.items():
                    sums[k] = sums.get(k, 0.0) + v
                n += 1
                if on_step is not None:
                    on_step(stats.steps, fparts)
                if tb is not None:
                    tb.step(stats.steps, fparts, optimizer)
                if bar:  # the running mean of each loss term over this epoch
                    terms = "  ".join(f"{k} {sums[k] / n:.4g}" for k in fparts)
                    if external is not None:  # its columns show no extra field: the terms go in the description
                        bar.update(task, advance=1, description=f"{label}  {terms}")
                    else:
                        bar.update(task, advance=1, terms=terms)
                if every and spec is not None and stats.steps % every == 0:
                    save(epoch, pos, sums, n, False)
            means = {k: round(v / max(n, 1), 6) for k, v in sums.items()}
            means["steps"] = n
            stats.epochs.append(means)
            if bar:
                bar.remove_task(task)
            if on_epoch_end is not None:
                on_epoch_end(epoch, means)
            if tb is not None:
                tb.epoch(epoch + 1, means)
            if max_steps is not None and stats.steps >= max_steps:
                break
    if spec is not None and not done:
        save(int(epochs), 0, {}, 0, True)  # training finished: a crash in encoding/evaluation need not retrain
    dd.barrier()  # under DDP: every rank finished training before rank 0 evaluates and writes the record
    model.eval()
    stats.seconds = prev_seconds + time.perf_counter() - t0
    return stats


def _epoch_batches(batches, epoch: int, start: int, shard, order_gen, order_start):
    """The batches of ``epoch`` from number ``start`` on; with ``order_start``, the permutation is drawn from that
    state of ``order_gen`` (resume)."""
    from zshbench.train.batches import ShuffledBatches

    if order_start is not None:
        order_gen.set_state(order_start)
    if isinstance(batches, ShuffledBatches):
        return batches.epoch(epoch, start, shard=shard, generator=order_gen)
    it = iter(batches(epoch))
    for _ in range(start):  # a plain callable: the trained batches are loaded and dropped
        next(it, None)
    return it


def _loss_module(model, loss_fn):
    """``model`` and ``loss_fn`` as one module whose forward is the loss, so that DDP sees the whole step."""
    import torch

    class _Loss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, batch):
            return loss_fn(self.model, batch)

    return _Loss().train()


def _progress(enabled: bool, console=None, terms: bool = True):
    """The rich progress display of training (and of `zshbench run`, with ``terms=False``): description, bar,
    done/total, elapsed and remaining time, and with ``terms`` the running means of the loss terms; transient.
    A null context when not ``enabled``."""
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    if terms:
        columns.append(TextColumn("{task.fields[terms]}"))
    return Progress(*columns, console=console, transient=True)
