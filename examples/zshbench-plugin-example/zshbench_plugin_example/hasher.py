from dataclasses import dataclass

import numpy as np

from zshbench.config import POSITIVE, check_ranges
from zshbench.hasher import Hasher, HasherConfig, Requirements


@dataclass
class AttrProjConfig(HasherConfig):
    ridge: float = 1.0  # ridge penalty of the feature -> attribute regression


class AttributeProjectionHasher(Hasher):
    """Regress features onto class attributes (seen classes), then random hyperplanes in attribute space."""

    Config = AttrProjConfig
    requires = Requirements(inputs="features", attributes=True, supervised=True)
    version = "1"

    def validate_config(self):  # bad values stop the run before any work (exit 2, naming key and range)
        super().validate_config()
        check_ranges(self.config, "attrproj", {"ridge": POSITIVE})

    def _fit(self, train):
        x = np.asarray(train.features, dtype=np.float64)
        self.mean_ = x.mean(0)
        a = train.item_attributes - train.class_attributes.mean(0)
        xc = x - self.mean_
        gram = xc.T @ xc + self.config.ridge * np.eye(x.shape[1])
        self.w_ = np.linalg.solve(gram, xc.T @ a)  # (D, A): features -> attributes
        rng = np.random.default_rng(self.config.seed)
        self.r_ = rng.standard_normal((a.shape[1], self.n_bits))

    def _encode_batch(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean_) @ self.w_ @ self.r_

    def _get_state(self):
        return {"mean_": self.mean_, "w_": self.w_, "r_": self.r_}

    def _set_state(self, state):
        self.mean_, self.w_, self.r_ = state["mean_"], state["w_"], state["r_"]
