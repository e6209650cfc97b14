"""One object for what a run needs from torchrun (DDP) and training checkpoints, so that `zshbench.runner.run`
reads as plain steps.

`TrainingSession.start` joins the torchrun job when there is one (`zshbench.train.distributed.start`) and
checks the checkpoint interval; the session then answers "which device", "is this rank the writer",
"rank 0's decision" (`agree`), sets up checkpointing around one run's fit (`checkpointing`) and finishes a
written run (`finished`: its checkpoint deleted, every rank at the barrier).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zshbench.train import checkpoint as _ckpt
from zshbench.train import distributed as _dist

__all__ = ["TrainingSession"]


@dataclasses.dataclass
class TrainingSession:
    """The torchrun/checkpoint state of one ``zshbench run`` process (see the module docstring)."""

    dist: _dist.Session
    checkpoint_every: int = 0
    resume: bool = False

    @classmethod
    def start(
        cls, method_cls: type, device: str, *, checkpoint_every: int = 0, resume: bool = False
    ) -> TrainingSession:
        """Check the checkpoint interval and join torchrun's job (a no-op without torchrun).

        Raises:
            UserError: a negative interval, an inconsistent torchrun environment, too few GPUs.
        """
        _ckpt.check_every(checkpoint_every)
        return cls(_dist.start(method_cls, device), int(checkpoint_every), bool(resume))

    @property
    def idle(self) -> bool:
        """torchrun with a method that does not train data-parallel: ranks > 0 have nothing to do."""
        return self.dist.idle

    @property
    def device(self) -> str:
        return self.dist.device

    @property
    def world_size(self) -> int:
        return self.dist.info.world_size

    @property
    def is_main(self) -> bool:
        return self.dist.info.is_main

    def agree(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (every rank takes the same branch)."""
        return _dist.from_main(value)

    @contextlib.contextmanager
    def checkpointing(self, record_path: str | Path, hasher, **identity: Any) -> Iterator[None]:
        """Checkpoint (and with ``resume`` continue) the fit of ``hasher`` next to its record; ``identity``:
        dataset, protocol, protocol_sha256, split_fingerprint (a checkpoint of another run is refused)."""
        meta = _ckpt.identity(hasher, world_size=self.world_size, **identity)
        with _ckpt.checkpointing(
            _ckpt.checkpoint_path(record_path), every=self.checkpoint_every, resume=self.resume, meta=meta
        ):
            yield

    def finished(self, record_path: str | Path | None) -> None:
        """After a run: delete its checkpoint once its record is written (rank 0), then wait for every rank."""
        if record_path is not None:
            _ckpt.discard(record_path)
        _dist.barrier()
