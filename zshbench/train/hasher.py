"""`TorchHasher`: what every deep method shares on top of `Hasher`.

A deep method keeps its fitted network in ``self.model_`` (a ``torch.nn.Module`` with an ``encode(uint8 images)``
method) and a JSON-able ``self.info_`` dict (profile, weights, training statistics) that goes into the record's
``extras``. This class encodes image batches through the network and saves/loads its state as a flat dict
(``model.<key>`` tensors + ``run_info_json``), so that `Hasher.save`/`Hasher.load` work with
``weights_only=True``. Subclasses rebuild the network in `_restore(model_sd, info)`.

``distributed_training = True``: the method trains with `zshbench.train.fit_loop` (with a `ShuffledBatches`), so
under torchrun every rank trains (DDP) instead of rank 0 alone (`zshbench.train.distributed.start`).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np

from zshbench.hasher import Hasher, Requirements

__all__ = ["TorchHasher"]


class TorchHasher(Hasher):
    requires = Requirements(inputs="images", attributes=True, gpu_capable=True, supervised=True)
    encode_batch_size = 256
    distributed_training: ClassVar[bool] = True
    file_params: ClassVar[tuple[str, ...]] = ("weights",)

    def run_info(self) -> dict[str, Any]:
        """Stored under ``extras`` of the result record."""
        return dict(getattr(self, "info_", {}))

    def _train_batches(self, train, batch_size: int, generator):
        """`ShuffledBatches` of (uint8 images, labels) of the training set on the fitted device: a new permutation
        of ``generator`` every epoch; batches under two items are dropped (a pairwise loss needs two)."""
        import torch

        from zshbench.train.batches import ShuffledBatches

        labels = torch.as_tensor(np.asarray(train.labels), dtype=torch.long)
        dev = self._device

        def load(idx):
            imgs = torch.from_numpy(np.ascontiguousarray(train.images.take(idx.numpy())))
            return imgs.to(dev), labels[idx].to(dev)

        return ShuffledBatches(len(train), int(batch_size), load, generator, min_size=2)

    def _encode_batch(self, x) -> np.ndarray:
        import torch

        imgs = torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
        return self.model_.encode(imgs).float().cpu().numpy()

    def _get_state(self) -> dict[str, Any]:
        state = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        state["run_info_json"] = json.dumps(getattr(self, "info_", {}), default=str)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        model_sd = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
        info = json.loads(state.get("run_info_json", "{}") or "{}")
        net = self._restore(model_sd, info)
        net.load_state_dict(model_sd)
        net.eval()
        self.model_ = net
        self.info_ = info

    def _restore(self, model_sd: dict[str, Any], info: dict[str, Any]):  # pragma: no cover - abstract
        """An unfitted network of the right shape for ``model_sd`` (weights are loaded by the caller)."""
        raise NotImplementedError
