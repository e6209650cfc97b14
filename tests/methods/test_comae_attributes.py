"""COMAE's attribute scale on the REAL class-attribute matrices (../shared/data): how many class pairs x
attributes are negatives of eq. 3 (|a_id - a_jd| >= epsilon = 0.9) among the seen classes of the pinned
protocols, per `attribute_norm`. The numbers are quoted in methods/comae/README.md ("Attributes")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zshbench.methods.comae import normalise_attributes
from zshbench.methods.comae.profiles import PROFILES
from zshbench.protocols import load_protocol

pytestmark = pytest.mark.shared_data


def _awa2(shared: Path):
    from zshbench.datasets.awa2 import awa2_attributes, read_id_names

    names = read_id_names(shared / "awa2/classes.txt")
    m, _, _ = awa2_attributes(shared / "awa2", names, read_id_names(shared / "awa2/predicates.txt"), "continuous")
    return names, m


def _cub(shared: Path):
    from zshbench.datasets.awa2 import load_matrix, read_id_names

    names = read_id_names(shared / "cub/classes.txt")
    n_attr = len(read_id_names(shared / "cub/attributes.txt"))
    m = load_matrix(shared / "cub/attributes/class_attribute_labels_continuous.txt", (len(names), n_attr), "CUB")
    return names, m


def _sun(shared: Path):
    from zshbench.datasets.xlsa17 import load_att_splits

    names, m, _ = load_att_splits(shared / "xlsa17/SUN/att_splits.mat", "original")
    return names, m


LOADERS = {"awa2-zsh": _awa2, "cub-zsh": _cub, "sun-zsh": _sun}


def negative_stats(m: np.ndarray, epsilon: float) -> tuple[float, int]:
    """(share of ordered class pairs i != j x attributes with |a_id - a_jd| >= epsilon, attributes with any)."""
    d = np.abs(m[:, None, :] - m[None, :, :]) >= epsilon  # (S, S, A)
    off = ~np.eye(m.shape[0], dtype=bool)
    return float(d[off].mean()), int(d.any(axis=(0, 1)).sum())


def _seen_matrix(shared: Path, protocol: str) -> np.ndarray:
    names, m = LOADERS[protocol](shared)
    idx = [names.index(c) for c in load_protocol(protocol).seen]
    return m[idx]


# measured shares of negatives (percent) and attributes with any negative, epsilon = 0.9, on the float32
# matrices the model receives ("none" is the raw scale: AWA2/CUB 0-100, SUN 0-1)
EXPECTED = {
    "awa2-zsh": {
        "max": (0.30, 11),
        "zscore": (33.19, 84),
        "zscore-attributes": (41.13, 85),
        "l2": (0.0, 0),
        "none": (81.89, 85),
    },
    "cub-zsh": {
        "max": (0.40, 74),
        "zscore": (20.68, 279),
        "zscore-attributes": (30.86, 312),
        "l2": (0.0, 0),
        "none": (66.81, 312),
    },
    "sun-zsh": {
        "max": (0.14, 15),
        "zscore": (21.70, 102),
        "zscore-attributes": (28.55, 102),
        "l2": (0.0, 0),
        "none": (0.14, 15),
    },
}


@pytest.mark.parametrize("protocol", sorted(LOADERS))
def test_share_of_negatives_on_the_real_attribute_matrices(protocol, shared_data):
    m = _seen_matrix(shared_data, protocol)
    eps = PROFILES["paper"]["epsilon"]
    assert eps == 0.9
    got = {}
    for mode, (pct, dims) in EXPECTED[protocol].items():
        share, n_dims = negative_stats(normalise_attributes(m, mode), eps)
        got[mode] = (round(100 * share, 2), n_dims)
        assert 100 * share == pytest.approx(pct, abs=0.01), (protocol, mode, got)
        assert n_dims == dims, (protocol, mode, got)
    # the default scale makes eq. 3's epsilon act: >= 20 % negatives and negatives in >= 89 % of the attributes
    default = PROFILES["paper"]["attribute_norm"]
    share, n_dims = negative_stats(normalise_attributes(m, default), eps)
    assert share >= 0.2 and n_dims >= 0.89 * m.shape[1], (protocol, default, share, n_dims)
    # the former default ("max") leaves fewer than 1 % negatives: L_pair would hardly act
    assert negative_stats(normalise_attributes(m, "max"), eps)[0] < 0.01


def test_negative_stats_hand_example():
    m = np.array([[0.0, 1.0], [0.5, 1.0], [1.0, 0.0]])
    # ordered pairs (6) x 2 attributes = 12 cells; attribute 0: (0, 2), (2, 0) differ by 1; attribute 1: pairs
    # with row 2: (0, 2), (2, 0), (1, 2), (2, 1) -> 6 negatives
    share, dims = negative_stats(m, 0.9)
    assert share == pytest.approx(6 / 12) and dims == 2
