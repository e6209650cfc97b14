"""`ShuffledBatches`: one random permutation per epoch, cut into batches, loaded on demand.

The deep methods' batch order as an object rather than a closure, so that the training loop can

* resume in the middle of an epoch: the permutation is redrawn from the generator state saved at the start of the
  epoch and the batches already trained on are skipped without loading them;
* split every global batch across DDP ranks (``shard``): each rank takes its contiguous slice of the same
  permutation (DistributedSampler semantics, per batch).

Drawing is exactly what the methods did before (``torch.randperm(n, generator=gen)`` at the start of every
epoch, batches of ``batch_size`` items in order, runs shorter than ``min_size`` dropped), so single-process codes
are unchanged.

Example::

    gen = make_generator(seed)
    batches = ShuffledBatches(len(train), 64, lambda idx: load(idx), gen, min_size=2)
    fit_loop(net, loss_fn, batches, opt, epochs, device, generator=gen)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ShuffledBatches", "shard_indices"]


def shard_indices(idx, rank: int, world_size: int):
    """Rank ``rank``'s contiguous slice of one global batch ``idx`` (1-D tensor): ``len(idx) / world_size`` items
    when that divides, else the ``torch.tensor_split`` share (sizes differ by at most one)."""
    import torch

    if world_size == 1:
        return idx
    return torch.tensor_split(idx, world_size)[rank]


class ShuffledBatches:
    """Batches of a fresh random permutation of ``range(n)`` every epoch.

    Args:
        n: number of training items.
        batch_size: items per (global) batch.
        load: ``load(idx)`` turns a 1-D ``torch.long`` index tensor into the batch given to the loss.
        generator: the CPU ``torch.Generator`` the permutation is drawn from (the loss may draw from it too).
        min_size: batches with fewer items are dropped (a pairwise loss needs 2); under DDP, a global batch is
            dropped on every rank when any rank's slice would be smaller.

    Calling the object (``batches(epoch)``) yields the batches of one epoch, as the plain callables `fit_loop`
    also accepts.
    """

    def __init__(self, n: int, batch_size: int, load: Callable[[Any], Any], generator, *, min_size: int = 1):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.load = load
        self.generator = generator
        self.min_size = int(min_size)

    def __len__(self) -> int:
        """Batches per epoch (the last, partial batch counts when it holds at least ``min_size`` items)."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and rest >= self.min_size else 0)

    def indices(self, generator=None) -> list:
        """Draw one epoch's permutation NOW (from ``generator``, default ``self.generator``) and return the
        index tensors of its batches."""
        import torch

        perm = torch.randperm(self.n, generator=generator if generator is not None else self.generator)
        out = []
        for start in range(0, self.n, self.batch_size):
            idx = perm[start : start + self.batch_size]
            if len(idx) < self.min_size:
                continue
            out.append(idx)
        return out

    def epoch(
        self, epoch: int = 0, start: int = 0, *, shard: tuple[int, int] | None = None, generator=None
    ) -> Iterator[Any]:
        """The batches of one epoch, from batch number ``start`` on (the earlier ones are not loaded).

        The permutation is drawn when this is called (not lazily), so the caller may set the generator's
        state right afterwards (resume). ``shard=(rank, world_size)`` keeps each batch's slice of that rank.
        """
        chunks = self.indices(generator)
        if shard is not None and shard[1] > 1:
            rank, world = shard
            kept = []
            for idx in chunks:
                if len(idx) // world < self.min_size:  # the smallest slice (tensor_split sizes differ by <= 1)
                    continue
                kept.append(shard_indices(idx, rank, world))
            chunks = kept
        return (self.load(idx) for idx in chunks[int(start) :])

    def __call__(self, epoch: int) -> Iterator[Any]:
        return self.epoch(epoch)
