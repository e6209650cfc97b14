"""Estimate large allocations before making them.

`check_allocation` compares the bytes an operation is about to allocate with the memory this machine has
available (``MemAvailable`` of /proc/meminfo, else psutil-free fallbacks) and stops with a `UserError` that
states the estimate, the available memory and how to fix it, instead of a ``MemoryError`` traceback (or the
OOM killer) minutes later.
"""

from __future__ import annotations

import os

from zshbench.errors import UserError

__all__ = ["available_bytes", "check_allocation", "fmt_bytes"]

# share of the available memory one allocation may take (the rest: the interpreter, copies, other buffers)
DEFAULT_FRACTION = 0.8


def available_bytes() -> int | None:
    """Bytes of memory available to new allocations, or None when unknown (then nothing is refused)."""
    override = os.environ.get("ZSHBENCH_MEMORY_LIMIT")
    if override:
        try:
            return int(float(override))
        except ValueError:
            raise UserError(
                f"ZSHBENCH_MEMORY_LIMIT={override!r} is not a number of bytes; unset it or give e.g. 8e9."
            ) from None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def fmt_bytes(n: float) -> str:
    for unit, f in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{int(n)} B"


def check_allocation(nbytes: float, what: str, fix: str, fraction: float = DEFAULT_FRACTION) -> None:
    """Raise `UserError` when ``nbytes`` exceed ``fraction`` of the available memory.

    Args:
        nbytes: the estimated size of the allocation.
        what: what would be allocated, e.g. "the 150528 x 150528 float64 PCA covariance".
        fix: one sentence on how to avoid it.
    """
    avail = available_bytes()
    if avail is None or nbytes <= fraction * avail:
        return
    raise UserError(
        f"Not enough memory: {what} needs about {fmt_bytes(nbytes)}, but this machine has {fmt_bytes(avail)} "
        f"available (zshbench stops at {int(fraction * 100)}% of it rather than crash later). {fix}"
    )
