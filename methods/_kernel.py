"""The encode and state part shared by the shallow kernel methods (SDH, FSSH, SCDH, TSK): codes are
sign(phi(x) @ projection_), where phi maps a feature vector to its kernel features against the fitted anchors
``anchors_`` with width ``sigma_``. A subclass implements ``_features(x)``; encoding runs in row blocks so that
the (rows x anchors) float64 kernel matrix stays under `BLOCK_BYTES`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zshbench.methods._linear import FeatureHasher

__all__ = ["BLOCK_BYTES", "AnchorKernelHasher"]

BLOCK_BYTES = 128 * 2**20  # the largest kernel-feature block computed at once


class AnchorKernelHasher(FeatureHasher):
    """A `FeatureHasher` whose codes are sign(``_features(x)`` @ ``projection_``) (see the module docstring).

    Fitted state: ``mean_``, ``anchors_``, ``projection_``, ``sigma_`` and the arrays named in
    ``extra_state`` (e.g. a standardisation of the kernel features).
    """

    extra_state: ClassVar[tuple[str, ...]] = ()

    def _features(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_batch(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._check_dim(x)
        rows = max(1, BLOCK_BYTES // (8 * max(len(self.anchors_), 1)))
        out = np.empty((len(x), self.n_bits))
        for s in range(0, len(x), rows):
            out[s : s + rows] = self._features(x[s : s + rows]) @ self.projection_
        return out

    def _get_state(self) -> dict[str, Any]:
        state = {"mean_": self.mean_, "anchors_": self.anchors_, "projection_": self.projection_}
        state.update({k: getattr(self, k) for k in self.extra_state})
        state["sigma_"] = np.asarray([self.sigma_])
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        for key in ("mean_", "anchors_", "projection_", *self.extra_state):
            setattr(self, key, np.asarray(state[key], dtype=np.float64))
        self.sigma_ = float(np.asarray(state["sigma_"]).reshape(-1)[0])
