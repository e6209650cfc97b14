"""Shared deep-training helpers (used by RAZH; COMAE and later deep methods reuse them).

* `make_generator` / `seed_all`: one seeded ``torch.Generator`` per fit, on the CPU so that random draws do not
  depend on the device;
* `deterministic`: context manager turning on ``torch.use_deterministic_algorithms`` (restored on exit);
* `autocast`: bf16 autocast on CUDA only (a no-op context on the CPU, where training stays in float32);
* `fit_loop`: epochs x batches of (forward, loss, backward, optimizer step) with hook points for progress,
  per-step callbacks and (later) checkpointing.
"""

from zshbench.train.loop import FitStats, autocast, deterministic, fit_loop, make_generator, seed_all

__all__ = ["FitStats", "autocast", "deterministic", "fit_loop", "make_generator", "seed_all"]
