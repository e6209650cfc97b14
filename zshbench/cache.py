"""Where zshbench caches generated data and extracted features.

``$ZSHBENCH_CACHE`` if set, else ``~/.cache/zshbench``. Entries are written atomically (`zshbench.fileio`: temp
file + rename) so a killed process never leaves a half-written cache entry; readers treat any unreadable entry
as missing.

The folders named by environment variables (``ZSHBENCH_CACHE`` here, ``ZSHBENCH_CODES_DIR`` in
`zshbench.codes`) are created when missing and checked once per process by `env_dir`: a path that is a file,
lies under a file or cannot be written to stops with a `UserError` naming the variable, the path and the fix.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from zshbench.errors import UserError

__all__ = ["cache_dir", "env_dir", "atomic_write", "atomic_write_bytes", "save_npz_atomic", "load_npz"]

# atomic writes live in zshbench.fileio; re-exported here for code that imported them from this module
from zshbench.fileio import atomic_write, atomic_write_bytes, load_npz, save_npz_atomic  # noqa: E402,F401

_WRITABLE: set[str] = set()  # folders env_dir has written a probe file to in this process


def cache_dir() -> Path:
    """The cache folder: ``$ZSHBENCH_CACHE``, else ``~/.cache/zshbench``; created when missing.

    Raises:
        UserError: the folder is a file, lies under a file, or is not writable (naming ZSHBENCH_CACHE).
    """
    return env_dir(
        "ZSHBENCH_CACHE",
        lambda: Path.home() / ".cache" / "zshbench",
        "~/.cache/zshbench",
        "zshbench's cache folder (generated datasets, extracted features, folder datasets' protocols)",
    )


def env_dir(var: str, default: Callable[[], Path], default_desc: str, what: str) -> Path:
    """The folder ``$var`` (else ``default()``), created when missing and checked to be a writable folder.

    The write check (a probe file created and removed) runs once per folder and process; later calls only
    create the folder again if it was removed.

    Args:
        var: the environment variable that may name the folder.
        default: gives the folder used when ``var`` is unset or empty.
        default_desc: that folder in words, for the message (e.g. "~/.cache/zshbench").
        what: what the folder holds, for the message.

    Raises:
        UserError: naming ``var`` and its value (or saying it is unset and naming the default), the problem
            and the fix.
    """
    raw = os.environ.get(var)
    d = Path(raw) if raw else Path(default())
    source = f"{var}={raw}" if raw else f"{d} ({var} is not set, so zshbench uses {default_desc})"
    fix = f"Set {var} to a folder you can write to (it is created if missing)" + (
        f", or unset it to use {default_desc}." if raw else "."
    )

    def fail(problem: str) -> UserError:
        return UserError(f"Cannot use {source} as {what}: {problem}. {fix}")

    probe = d
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise fail(f"{probe} is a file, not a folder" if probe == d else f"{probe}, a folder above it, is a file")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"it cannot be created ({exc.strerror or exc})") from None
    key = str(d.resolve())
    if key not in _WRITABLE:
        try:  # a real write: os.access is True for root even in read-only (chattr +i) folders
            fd, tmp = tempfile.mkstemp(prefix=".zshbench-write-test-", dir=d)
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise fail(f"it is not writable ({exc.strerror or exc})") from None
        _WRITABLE.add(key)
    return d
