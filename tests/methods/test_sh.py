"""SH: mode selection and codes on a hand-computed example, the reference enumeration, and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from zshbench import create_hasher
from zshbench.codes import unpack_codes
from zshbench.errors import UserError
from zshbench.methods.sh import select_modes
from zshbench.trainset import TrainSet


def _train(x, labels=None):
    return TrainSet.from_arrays(np.zeros(len(x), int) if labels is None else labels, features=x)


def test_hand_computed_box_4_bits():
    """Training points (+-4, +-1.5): mean 0, PCA = the axes, box [-4, 4] x [-1.5, 1.5] (widths 8 and 3).

    4 bits: omega_{k,m} = m pi / width_k; dimension 0 offers m <= ceil(5 * 8/8) - 1 = 4 (pi/8 .. 4pi/8),
    dimension 1 offers m <= ceil(5 * 3/8) - 1 = 1 (pi/3). Sorted: pi/8 < pi/4 < pi/3 < 3pi/8 < pi/2, so the
    modes are (0,1), (0,2), (1,1), (0,3).
    """
    modes, omega = select_modes(np.array([-4.0, -1.5]), np.array([4.0, 1.5]), 4)
    assert modes.tolist() == [[0, 1], [0, 2], [1, 1], [0, 3]]
    assert np.allclose(omega, [np.pi / 8, np.pi / 4, np.pi / 3, 3 * np.pi / 8])


def test_hand_computed_box_codes():
    """The same box, fitted (8 bits is zshbench's minimum code length); the first 4 bits are the 4-bit modes.

    8 bits: m/8 for m <= 8 and m/3 for m <= ceil(9 * 3/8) - 1 = 3, merged by size: (0,1) (0,2) (1,1) (0,3)
    (0,4) (0,5) (1,2) (0,6). Bit = [sin(pi/2 + omega (y - a)) = cos(omega u) >= 0], u = y - (-4, -1.5);
    angles in degrees below (dimension 0: 22.5 * m * u0; dimension 1: 60 * m * u1).
    """
    x = np.array([[-4.0, -1.5], [-4.0, 1.5], [4.0, -1.5], [4.0, 1.5]])
    h = create_hasher("sh", n_bits=8).fit(_train(x))
    assert np.array_equal(h.pc_, np.eye(2))
    assert np.array_equal(h.mn_, [-4.0, -1.5]) and np.array_equal(h.mx_, [4.0, 1.5])
    assert h.modes_.tolist() == [[0, 1], [0, 2], [1, 1], [0, 3], [0, 4], [0, 5], [1, 2], [0, 6]]
    q = np.array([[-3.5, -1.0], [-1.5, 0.5], [0.5, -0.5], [2.5, 1.25], [3.5, -1.5]])
    expected = [
        [1, 1, 1, 1, 1, 1, 1, 1],  # u=(0.5, 0.5): 11.25 22.5 30 33.75 45 56.25 60 67.5
        [1, 0, 0, 0, 0, 1, 0, 1],  # u=(2.5, 2):   56.25 112.5 120 168.75 225 281.25 240 337.5
        [0, 0, 1, 1, 1, 0, 0, 0],  # u=(4.5, 1):   101.25 202.5 60 303.75 405 506.25 120 607.5
        [0, 1, 0, 1, 0, 1, 1, 0],  # u=(6.5, 2.75): 146.25 292.5 165 438.75 585 731.25 330 877.5
        [0, 1, 1, 0, 1, 0, 1, 1],  # u=(7.5, 0):   168.75 337.5 0 506.25 675 843.75 0 1012.5
    ]
    assert unpack_codes(h.encode(q), 8).astype(int).tolist() == expected


def test_more_bits_than_dimensions_uses_several_modes_per_dimension():
    # widths 8 and 3, 8 bits: m/8 for m <= 8 and m/3 for m <= ceil(9 * 3/8) - 1 = 3, merged by size
    modes, omega = select_modes(np.array([-4.0, -1.5]), np.array([4.0, 1.5]), 8)
    assert modes.tolist() == [[0, 1], [0, 2], [1, 1], [0, 3], [0, 4], [0, 5], [1, 2], [0, 6]]
    assert np.all(np.diff(omega) > 0)
    x = np.random.default_rng(0).uniform([-4, -1.5], [4, 1.5], size=(200, 2))
    h = create_hasher("sh", n_bits=8).fit(_train(x))
    assert h.pc_.shape == (2, 2) and h.modes_.shape == (8, 2)


def test_ties_follow_the_reference_enumeration_order():
    modes, _ = select_modes(np.zeros(2), np.array([2.0, 2.0]), 4)
    assert modes.tolist() == [[0, 1], [1, 1], [0, 2], [1, 2]]


def test_dimension_without_range_gets_no_mode():
    modes, omega = select_modes(np.zeros(2), np.array([5.0, 0.0]), 4)
    assert modes.tolist() == [[0, 1], [0, 2], [0, 3], [0, 4]] and np.isfinite(omega).all()


def test_fewer_samples_than_bits_and_constant_column(rng):
    """Rank 3 data in 10-D at 16 bits: modes only on the 3 directions the data span; a constant column
    changes nothing."""
    x = rng.standard_normal((4, 10))
    h = create_hasher("sh", n_bits=16).fit(_train(x))
    assert h.pc_.shape == (10, 10) and set(h.modes_[:, 0]) <= {0, 1, 2}
    y = rng.standard_normal((300, 10)) * np.linspace(2, 1, 10)
    yc = np.hstack([y, np.full((300, 1), 2.5)])
    a = create_hasher("sh", n_bits=16).fit(_train(y))
    b = create_hasher("sh", n_bits=16).fit(_train(yc))
    assert a.modes_.tolist() == b.modes_.tolist()
    assert np.array_equal(a.encode(y), b.encode(yc))


def test_duplicated_column_and_single_class(rng):
    y = rng.standard_normal((300, 10)) * np.linspace(2, 1, 10)
    h = create_hasher("sh", n_bits=16).fit(_train(np.hstack([y, y[:, :1]])))
    used = np.unique(h.modes_[:, 0])  # the 11th direction, (e_0 - e_10) / sqrt(2), has no variance: no mode
    assert 10 not in used and np.allclose(h.pc_[0, used], h.pc_[-1, used], atol=1e-10)
    one = create_hasher("sh", n_bits=16).fit(_train(y)).encode(y)
    many = create_hasher("sh", n_bits=16, seed=3).fit(_train(y, np.arange(300) % 7)).encode(y)
    assert np.array_equal(one, many)


def test_untrainable_and_non_finite_refused(rng):
    with pytest.raises(UserError, match="all identical"):
        create_hasher("sh", n_bits=8).fit(_train(np.zeros((20, 4))))
    y = rng.standard_normal((50, 6))
    h = create_hasher("sh", n_bits=8).fit(_train(y))
    y[[4, 9], 0] = np.nan
    with pytest.raises(UserError, match=r"2 row\(s\) \(first bad row: 4\)"):
        h.encode(y)
    with pytest.raises(UserError, match=r"2 row\(s\) \(first bad row: 4\)"):
        _train(y)


def test_float32_float64_numpy_and_torch_give_the_same_codes(rng):
    import torch

    x32 = (rng.standard_normal((200, 12)) * np.linspace(3, 1, 12)).astype(np.float32)
    ref = create_hasher("sh", n_bits=24).fit(_train(x32)).encode(x32)
    for x in (x32.astype(np.float64), torch.from_numpy(x32)):
        assert np.array_equal(create_hasher("sh", n_bits=24).fit(_train(x)).encode(x), ref)


def test_wide_features_with_more_bits_than_items(rng):
    """D > n (12 items, 400-d, 32 bits; the Gram solver): modes only on the 11 directions the data span."""
    x = rng.standard_normal((12, 400))
    h = create_hasher("sh", n_bits=32).fit(_train(x))
    assert h.pc_.shape == (400, 32) and set(h.modes_[:, 0]) <= set(range(11))
    assert np.isfinite(h.omega_).all() and np.abs(h.pc_.T @ h.pc_ - np.eye(32)).max() < 1e-10
    assert unpack_codes(h.encode(rng.standard_normal((50, 400))), 32).shape == (50, 32)
