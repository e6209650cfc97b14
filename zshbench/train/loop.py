"""A generic, small deep-training loop (see the package docstring).

Example::

    gen = make_generator(seed)
    stats = fit_loop(model, loss_fn, lambda epoch: my_batches(epoch, gen), optimizer, epochs=5, device="cpu")

``loss_fn(model, batch)`` returns ``(loss, parts)``: the scalar tensor to minimise and a dict of float-able
components logged per epoch (e.g. ``{"cls": ..., "hash": ...}``).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

__all__ = ["FitStats", "autocast", "deterministic", "fit_loop", "make_generator", "seed_all"]


@dataclass
class FitStats:
    """What `fit_loop` measured: steps, wall time, and the mean of each loss part per epoch."""

    steps: int = 0
    seconds: float = 0.0
    epochs: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "seconds": round(self.seconds, 3), "epochs": self.epochs}


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
) -> FitStats:
    """Train ``model`` for ``epochs`` passes over ``batches(epoch)`` (or until ``max_steps`` optimizer steps).

    Args:
        model: a ``torch.nn.Module`` already on ``device``; set to train mode here and to eval mode at the end.
        loss_fn: ``loss_fn(model, batch) -> (loss tensor, {name: value})``; runs under `autocast`.
        batches: ``batches(epoch)`` yields the batches of one epoch (the caller shuffles with its own generator).
        optimizer: a torch optimizer over the model's parameters.
        epochs: number of passes.
        device: the resolved device ("cpu", "cuda", "cuda:N").
        max_steps: stop after this many optimizer steps in total (None: no limit).
        grad_clip: clip the global gradient norm to this value (None: no clipping).
        amp: allow bf16 autocast on CUDA.
        deterministic_cpu: deterministic algorithms while training on the CPU.
        progress: show a rich progress bar (one task per epoch).
        on_step: hook ``on_step(step, parts)`` after each optimizer step (e.g. a scheduler or logging).
        on_epoch_end: hook ``on_epoch_end(epoch, epoch_means)`` (the place for checkpointing later).
        description: label of the progress bar.

    Returns:
        `FitStats` with the number of steps, the time and the per-epoch means of the loss parts.

    Raises:
        FloatingPointError: the loss became NaN or infinite (with the step and the parts).
    """
    import torch

    stats = FitStats()
    t0 = time.perf_counter()
    det = deterministic(deterministic_cpu and not str(device).startswith("cuda"))
    bar_ctx = _progress(progress)
    model.train()
    with det, bar_ctx as bar:
        for epoch in range(int(epochs)):
            sums: dict[str, float] = {}
            n = 0
            task = bar.add_task(f"{description} epoch {epoch + 1}/{epochs}", total=None) if bar else None
            for batch in batches(epoch):
                if max_steps is not None and stats.steps >= max_steps:
                    break
                optimizer.zero_grad(set_to_none=True)
                with autocast(device, amp):
                    loss, parts = loss_fn(model, batch)
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
                stats.steps += 1
                fparts = {"loss": lv, **{k: float(v) for k, v in parts.items()}}
                for k, v in fparts.items():
                    sums[k] = sums.get(k, 0.0) + v
                n += 1
                if on_step is not None:
                    on_step(stats.steps, fparts)
                if bar:
                    bar.advance(task, 1)
            means = {k: round(v / max(n, 1), 6) for k, v in sums.items()}
            means["steps"] = n
            stats.epochs.append(means)
            if bar:
                bar.remove_task(task)
            if on_epoch_end is not None:
                on_epoch_end(epoch, means)
            if max_steps is not None and stats.steps >= max_steps:
                break
    model.eval()
    stats.seconds = time.perf_counter() - t0
    return stats


def _progress(enabled: bool):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True)
