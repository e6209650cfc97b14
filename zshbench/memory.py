"""Estimate large allocations before making them.

`check_allocation` compares the bytes an operation is about to allocate with the memory this process can still
get (the least of ``MemAvailable`` of /proc/meminfo, the room left under ``ulimit -v`` and under a cgroup
(container) memory limit; psutil-free fallbacks) and stops with a `UserError` that
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
    machine = _proc_kib("/proc/meminfo", "MemAvailable:")
    if machine is None:
        try:
            machine = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            machine = None
    room = [v for v in (machine, _address_space_room(), _cgroup_room()) if v is not None]
    return min(room) if room else None


def _proc_kib(path: str, key: str) -> int | None:
    """Bytes of the ``key: N kB`` line of a /proc file (None when absent or unreadable)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path: str) -> int | None:
    """The integer in a one-line file (None: absent, unreadable or "max")."""
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _address_space_room() -> int | None:
    """Bytes left under ``ulimit -v`` (RLIMIT_AS) for this process: the limit minus its current virtual size."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None
    if limit in (resource.RLIM_INFINITY, -1) or limit <= 0:
        return None
    return max(0, limit - (_proc_kib("/proc/self/status", "VmSize:") or 0))


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2 ``memory.max``, else v1), None when unlimited.

    The usage counts the page cache too; its inactive part is reclaimable, so it is subtracted (the working
    set, as the kubelet computes it), else reading a large dataset once would look like memory in use."""
    for limit_file, usage_file, stat_file, inactive_key in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat", "inactive_file"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
            "/sys/fs/cgroup/memory/memory.stat",
            "total_inactive_file",
        ),
    ):
        limit = _read_int(limit_file)
        if limit is not None and limit < 2**60:  # v1 writes a huge number for "no limit"
            used = (_read_int(usage_file) or 0) - _stat_value(stat_file, inactive_key)
            return max(0, limit - max(0, used))
    return None


def _stat_value(path: str, key: str) -> int:
    """The value of ``key`` in a cgroup ``memory.stat`` file (0 when absent)."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key and value.strip().isdigit():
                    return int(value)
    except OSError:
        pass
    return 0


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
        f"available to this process (free memory, and the room left under ulimit -v or a container limit; "
        f"zshbench stops at {int(fraction * 100)}% of it rather than crash later). {fix}"
    )
