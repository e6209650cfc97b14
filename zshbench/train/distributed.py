"""Data-parallel training launched by ``torchrun`` (DistributedDataParallel; NCCL on CUDA, gloo on the CPU).

zshbench has no launcher of its own: ``torchrun --nproc_per_node N -m zshbench run --method razh ...`` starts N
copies of the ordinary command, and this module turns them into one job:

* `start` (called by the runner) initialises the process group from torchrun's environment (``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) when the method trains with `fit_loop`
  (``distributed_training = True``, every `TorchHasher`); for other (shallow) methods rank 0 runs alone and the
  other ranks return at once;
* `fit_loop` wraps the model in DDP and gives every rank its slice of each global batch
  (`ShuffledBatches.epoch(shard=...)`); gradients are averaged across ranks by DDP;
* rank 0 alone writes checkpoints, records and progress, and evaluates; `barrier` keeps the ranks together.

Seeding: the batch order comes from a generator seeded with the run's seed on every rank (the same permutation
everywhere); the loss's own random draws (masks, K-means starts, negatives) come from the method's generator,
reseeded per rank with `rank_seed` (seed, rank) -- so a run is reproducible for a given world size. A world
size of 1 (plain ``python -m zshbench``, or torchrun with one process) is exactly the single-process run.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from zshbench.errors import UserError

__all__ = [
    "DistInfo",
    "env_info",
    "current",
    "start",
    "is_main",
    "barrier",
    "from_main",
    "all_gather_object",
    "all_reduce_mean",
    "rank_seed",
    "check_batch_size",
    "wrap_ddp",
    "DEFAULT_TIMEOUT_S",
]

# how long a collective (e.g. the barrier non-zero ranks wait at while rank 0 evaluates) may block
DEFAULT_TIMEOUT_S = 7200


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job (world_size 1: a single process)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise UserError(
            f"Environment variable {name}={raw!r} is not an integer; it is set by torchrun "
            "(launch with 'torchrun --nproc_per_node N -m zshbench run ...')."
        ) from None


def env_info() -> DistInfo:
    """What torchrun's environment variables say (no process group needed)."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if world < 1 or not (0 <= rank < world):
        raise UserError(
            f"Inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world} (expected "
            "0 <= RANK < WORLD_SIZE). Launch with 'torchrun --nproc_per_node N -m zshbench run ...'."
        )
    return DistInfo(world, rank, _env_int("LOCAL_RANK", 0), None)


def _pg():
    import sys

    if "torch" not in sys.modules:  # no process group without torch; do not import it just to ask
        return None
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return None
    return dist if dist.is_available() and dist.is_initialized() else None


def current() -> DistInfo:
    """The initialised process group's view (world_size 1 when there is none: `fit_loop` then trains alone)."""
    dist = _pg()
    if dist is None:
        return DistInfo()
    return DistInfo(dist.get_world_size(), dist.get_rank(), _env_int("LOCAL_RANK", 0), dist.get_backend())


def is_main() -> bool:
    """Rank 0 of the process group, or of torchrun's environment when no group is initialised."""
    dist = _pg()
    if dist is not None:
        return dist.get_rank() == 0
    return env_info().rank == 0


@dataclass(frozen=True)
class Session:
    """What `start` decided for this process: ``idle`` ranks have nothing to do (shallow method, rank > 0);
    ``device`` is this rank's device ("cuda:LOCAL_RANK" under DDP on GPUs)."""

    info: DistInfo
    device: str
    idle: bool = False


def start(method_cls: type, device: str) -> Session:
    """Join the torchrun job, if there is one, for a run of ``method_cls`` on ``device``.

    Deep methods (``method_cls.distributed_training``) initialise the process group (NCCL for CUDA devices,
    gloo on the CPU; destroyed at exit); other methods run on rank 0 only and the other ranks are ``idle``.
    Without torchrun (WORLD_SIZE unset or 1) nothing happens.

    Raises:
        UserError: an inconsistent torchrun environment, or CUDA asked for with fewer GPUs than local ranks.
    """
    env = env_info()
    if env.world_size == 1:
        return Session(DistInfo(), device)
    if not method_cls.distributed_training:
        return Session(env, device, idle=env.rank != 0)
    import torch
    import torch.distributed as dist

    cuda = str(device).startswith("cuda")
    if cuda:
        if env.local_rank >= torch.cuda.device_count():
            raise UserError(
                f"Local rank {env.local_rank} has no GPU: this node has {torch.cuda.device_count()} "
                "CUDA device(s). Start at most that many processes per node (--nproc_per_node)."
            )
        torch.cuda.set_device(env.local_rank)
        device = f"cuda:{env.local_rank}"
    if not dist.is_initialized():
        from datetime import timedelta

        timeout = _env_int("ZSHBENCH_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S)
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=timeout))
        atexit.register(_destroy)
    return Session(current(), device)


def _destroy() -> None:
    dist = _pg()
    if dist is not None:
        import gc

        # free what still holds the group first (a DDP wrapper in a reference cycle): destroyed only at interpreter
        # shutdown, after the group, it aborted the process (measured with gloo: 3-4 of 8 two-rank runs under load)
        gc.collect()
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    dist = _pg()
    if dist is not None:
        dist.barrier()


def from_main(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (e.g. "does the record exist"), so that all ranks take the same branch."""
    dist = _pg()
    if dist is None:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_object(value: Any) -> list[Any]:
    """``[value of rank 0, value of rank 1, ...]`` on every rank (``[value]`` without a process group)."""
    dist = _pg()
    if dist is None:
        return [value]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def all_reduce_mean(values: list[float], device: str) -> list[float]:
    """The mean of ``values`` over the ranks, element-wise (the values themselves without a process group)."""
    dist = _pg()
    if dist is None or not values:
        return list(values)
    import torch

    dev = device if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor(values, dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return (t / dist.get_world_size()).tolist()


def rank_seed(seed: int, rank: int) -> int:
    """A seed for rank ``rank`` of a run seeded with ``seed`` (numpy SeedSequence of (seed, rank): independent
    streams per rank, the same on every launch)."""
    return int(np.random.SeedSequence([int(seed), int(rank)]).generate_state(1, np.uint64)[0] % (2**63))


def check_batch_size(batch_size: int, world_size: int) -> int:
    """Per-rank batch size ``batch_size / world_size``.

    Raises:
        UserError: ``batch_size`` is not a multiple of the world size.
    """
    if batch_size % world_size:
        lower = batch_size - batch_size % world_size
        raise UserError(
            f"batch_size={batch_size} cannot be split over {world_size} processes: under torchrun every rank takes "
            f"batch_size / world_size items of each global batch, so the batch size must be a multiple of the "
            f"world size ({world_size}). Pass --set batch_size={lower or world_size} (or "
            f"{lower + world_size}), or change --nproc_per_node."
        )
    return batch_size // world_size


def wrap_ddp(module, device: str):
    """``DistributedDataParallel(module)`` for this rank's device.

    ``find_unused_parameters=True`` because ablations (RAZH ``loss_terms=cls``, COMAE variants) leave parts of the
    network without gradients.
    """
    from torch.nn.parallel import DistributedDataParallel

    ids = None
    if str(device).startswith("cuda"):
        import torch

        ids = [torch.device(device).index if torch.device(device).index is not None else torch.cuda.current_device()]
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
