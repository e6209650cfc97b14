"""Backbone weights for COMAE: "none" (explicit random init), "pretrained" (timm / Hugging Face hub) or a PATH.

Never falls back silently: when pretrained weights are asked for and cannot be obtained, a `UserError` names
both alternatives (a local file, or ``weights=none``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zshbench.errors import UserError

__all__ = ["load_backbone_weights"]


def load_backbone_weights(backbone, p: dict[str, Any]) -> str:
    """Load ``p["weights"]`` into ``backbone`` (a timm CNN without classifier); return a description."""
    import torch

    w = str(p.get("weights") or "none")
    name = p["backbone"]
    if w.lower() == "none":
        return "none (random init)"
    if w.lower() == "pretrained":
        try:
            import timm

            src = timm.create_model(name, pretrained=True, num_classes=0)
        except Exception as exc:  # noqa: BLE001 - hub errors come in many types
            raise UserError(
                f"Pretrained weights of {name} are not available here ({type(exc).__name__}: {exc}). "
                "Give a local state dict with --set weights=PATH (.safetensors or .pth), or train from a random "
                "initialisation with --set weights=none (not the paper's setting)."
            ) from None
        sd = src.state_dict()
        desc = f"pretrained {name} (timm)"
    else:
        path = Path(w).expanduser()
        if not path.is_file():
            raise UserError(f"weights={w!r}: file not found. Use --set weights=PATH (.safetensors/.pth), "
                            "--set weights=pretrained or --set weights=none.")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(sd, dict):
                sd = sd.get("state_dict", sd.get("model", sd))
        desc = f"state dict {path.name}"
    missing, unexpected = backbone.load_state_dict(sd, strict=False)
    if missing:
        raise UserError(f"weights={w!r} does not fit the {name} backbone: {len(missing)} missing keys "
                        f"(e.g. {list(missing)[:3]}).")
    return f"{desc} ({len(unexpected)} unused keys)"
