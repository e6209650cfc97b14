"""Test settings: offline model hub, one thread (deterministic and no OpenMP spin-waits), CPU device.

The device can be switched for the device-agnostic tests with ZSHBENCH_TEST_DEVICE=cuda on a GPU machine.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ZSHBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
TEST_DEVICE = os.environ.get("ZSHBENCH_TEST_DEVICE", "cpu")


@pytest.fixture
def device() -> str:
    return TEST_DEVICE


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real published metadata); skips with a reason when absent (a user's clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real dataset metadata not found at {SHARED_DATA} (set ZSHBENCH_SHARED_DATA to point to it)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
