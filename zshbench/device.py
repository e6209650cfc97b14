"""Devices: the one place that turns "auto", "cpu", "cuda" or "cuda:N" into a device zshbench computes on."""

from __future__ import annotations

from zshbench.errors import UserError

__all__ = ["resolve_device"]


def resolve_device(device: str | None) -> str:
    """ "auto" -> "cuda" when available else "cpu"; validate "cpu", "cuda", "cuda:N" (torch is imported only
    for the CUDA choices).

    Raises:
        UserError: an unknown device, or CUDA asked for where there is none.
    """
    dev = (device or "cpu").lower()
    if dev == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or dev.startswith("cuda:"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(
                f"--device {device} was asked for, but no CUDA device is available on this machine "
                "(torch.cuda.is_available() is False). Use --device cpu or --device auto."
            )
        return dev
    raise UserError(f"Unknown device '{device}': expected auto, cpu, cuda or cuda:N.")
