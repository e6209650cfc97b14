"""Deep methods: the `TorchHasher` template and the training helpers it (and any deep method) uses.

* `TorchHasher` / `TorchHasherConfig` (``torch_hasher.py``): the template of a deep method; a method declares
  its Config, ``profiles`` and two hooks (``build_network``, ``loss``), see ``docs/adding-a-method.md``;
* `register_variant` (``variants.py``): a named variant of a method (other defaults or class attributes);
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
from zshbench.train.torch_hasher import TorchHasher, TorchHasherConfig, profile_fields
from zshbench.train.variants import register_variant

__all__ = [
    "FitStats",
    "ShuffledBatches",
    "TorchHasher",
    "TorchHasherConfig",
    "autocast",
    "deterministic",
    "fit_loop",
    "make_generator",
    "profile_fields",
    "register_variant",
    "seed_all",
]
