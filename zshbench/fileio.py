"""Atomic file writes and tolerant reads, used by every writer of zshbench (records, reports, caches, checkpoints,
codes).

`atomic_write` fills a temporary file in the target's folder and renames it over the target, so a file is
either absent, the old version or the new version, never half-written, even when the process is killed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["atomic_write", "atomic_write_bytes", "save_npz_atomic", "load_npz"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` whole or not at all: ``write(f)`` fills a temp file in the same directory, which is then
    renamed over ``path`` (streamed: nothing is held in memory). The file gets the mode of the file it replaces,
    else the usual ``0o666 & ~umask`` (not mkstemp's private 0600), so collaborators sharing a results
    directory can read each other's records."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`atomic_write` of ``data``."""
    atomic_write(path, lambda f: f.write(data))


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of ``path``, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError):
        return None
    except Exception:  # zipfile.BadZipFile and friends: a corrupt entry is a missing entry
        return None
