"""What a record stores about where it ran: versions, hardware, the git commit (`environment`); `cpu_name` and
`cpu_features` also decide how exactly a record must reproduce (`zshbench.reproduce`)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["environment", "cpu_name", "cpu_features"]


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features() -> str:
    """The vector extensions that change floating-point kernels (e.g. "avx512" or "avx2")."""
    try:
        flags = next(
            (
                ln.split(":", 1)[1].split()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("flags")
            ),
            [],
        )
    except OSError:
        flags = []
    for name in ("avx512f", "avx2", "avx", "sse4_2"):
        if name in flags:
            return name
    return platform.machine()


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions and hardware of this run (stored in every record). Does not import torch: its version is read
    from the installed package metadata, its thread count only when torch is already in use."""
    from importlib import metadata

    import numpy

    import zshbench

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "zshbench": zshbench.__version__,
        "git_commit": _git_commit(),
        "device": device,
        "cpu": cpu_name(),
        "cpu_features": cpu_features(),
        "cpu_count": os.cpu_count(),
    }
    try:
        env["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        pass
    torch = sys.modules.get("torch")
    env["device_name"] = env["cpu"]
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            env["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return env
