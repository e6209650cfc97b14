"""Shared deep-training helpers (used by RAZH; COMAE and later deep methods reuse them).

* `make_generator` / `seed_all`: one seeded ``torch.Generator`` per fit, on the CPU so that random draws do not
  depend on the device;
* `deterministic`: context manager turning on ``torch.use_deterministic_algorithms`` (restored on exit);
* `autocast`: bf16 autocast on CUDA only (a no-op context on the CPU, where training stays in float32);
* `ShuffledBatches`: one seeded permutation per epoch cut into batches (resumable mid-epoch, split across DDP
  ranks);
* `fit_loop`: epochs x batches of (forward, loss, backward, optimizer step) with hook points for progress and
  per-step callbacks; checkpoints and resumes (`zshbench.train.checkpoint`) and trains data-parallel under
  torchrun (`zshbench.train.distributed`) when the runner sets that up.
"""

from zshbench.train.batches import ShuffledBatches
from zshbench.train.loop import FitStats, autocast, deterministic, fit_loop, make_generator, seed_all

__all__ = ["FitStats", "ShuffledBatches", "autocast", "deterministic", "fit_loop", "make_generator", "seed_all"]
