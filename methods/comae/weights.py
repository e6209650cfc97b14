"""Backbone weights for COMAE: "none" (explicit random init), "pretrained" (timm / Hugging Face hub) or a PATH.

Never falls back silently: when pretrained weights are asked for and cannot be obtained, a `UserError` names
both alternatives (a local file, or ``weights=none``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zshbench.weights import create_pretrained, load_matching, read_checkpoint

FLAG = "--set weights="

__all__ = ["load_backbone_weights"]


def load_backbone_weights(backbone, p: dict[str, Any]) -> str:
    """Load ``p["weights"]`` into ``backbone`` (a timm CNN without classifier); return a description."""
    w = str(p.get("weights") or "none")
    name = p["backbone"]
    if w.lower() == "none":
        return "none (random init)"
    if w.lower() == "pretrained":
        sd = create_pretrained(name, FLAG, num_classes=0).state_dict()
        desc = f"pretrained {name} (timm)"
    else:
        sd = read_checkpoint(w, FLAG)
        desc = f"state dict {Path(w).name}"
    unused = load_matching(backbone, sd, what=f"the {name} backbone", flag=FLAG)
    return f"{desc} ({unused} unused keys)"
