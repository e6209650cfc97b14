"""Optional TensorBoard logging of deep training: ``zshbench run --log-dir DIR`` (the ``tensorboard`` extra).

Inside `logging_to`, `zshbench.train.fit_loop` writes, on rank 0, after every optimizer step the loss and each of
its terms as scalars ``train/<term>`` and the learning rate of every parameter group as ``lr/<group>``, and at
the end of every epoch the epoch's means as ``epoch/<term>`` (step = epoch number). One run writes to
``DIR/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<id>/``, the record's place in the results tree, so that
``tensorboard --logdir DIR`` lists runs by the names of their records. Logging changes nothing in training: the
run's identity, numbers and record are the same with or without it. Methods trained without `fit_loop`
(the shallow ones) log nothing, and no folder is made for them (the writer is opened at the first scalar).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from zshbench.errors import UserError

__all__ = ["ScalarLog", "check_available", "current", "logging_to", "run_log_dir"]

_CURRENT: ContextVar[ScalarLog | None] = ContextVar("zshbench_tblog", default=None)


def check_available(flag: str = "--log-dir") -> None:
    """Refuse, before any work, a ``--log-dir`` where the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise UserError(
            f"{flag} writes TensorBoard logs of the training and needs the 'tensorboard' package, which is not "
            "installed here. Install it (pip install 'zshbench[tensorboard]', or pip install tensorboard) or drop "
            f"{flag}; nothing was run."
        ) from None


class ScalarLog:
    """A TensorBoard writer for one run's training, opened at the first scalar."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._writer = None

    def _w(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.folder))
        return self._writer

    def step(self, step: int, parts: dict[str, float], optimizer: Any = None) -> None:
        """The loss terms of optimizer step ``step`` and the learning rates after it."""
        w = self._w()
        for name, value in parts.items():
            w.add_scalar(f"train/{name}", float(value), step)
        for i, group in enumerate(getattr(optimizer, "param_groups", None) or []):
            w.add_scalar(f"lr/{group.get('name', i)}", float(group["lr"]), step)

    def epoch(self, epoch: int, means: dict[str, float]) -> None:
        """The means of the loss terms over epoch number ``epoch`` (1-based)."""
        w = self._w()
        for name, value in means.items():
            if name != "steps":
                w.add_scalar(f"epoch/{name}", float(value), epoch)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def current() -> ScalarLog | None:
    """The log `fit_loop` writes to (None: no logging)."""
    return _CURRENT.get()


def run_log_dir(log_dir: str | Path, record_path: str | Path) -> Path:
    """``log_dir/<dataset>/<protocol>/<method>/<record stem>``: the run's folder under ``log_dir``."""
    p = Path(record_path)
    stem = p.name[: -len(".json")] if p.name.endswith(".json") else p.name
    return Path(log_dir).joinpath(*p.parts[-4:-1], stem)


@contextlib.contextmanager
def logging_to(folder: str | Path | None) -> Iterator[ScalarLog | None]:
    """Log the training inside the block to ``folder`` (None: no logging)."""
    if folder is None:
        yield None
        return
    log = ScalarLog(Path(folder))
    token = _CURRENT.set(log)
    try:
        yield log
    finally:
        _CURRENT.reset(token)
        log.close()
