"""Backbone weights for COMAE: "none" (explicit random init), "pretrained" (timm / Hugging Face hub) or a PATH.

Never falls back silently: when pretrained weights are asked for and cannot be obtained, a `UserError` names
both alternatives (a local file, or ``weights=none``).

`weights_label_set` says which label set the backbone's weights were trained on (the record's
``extras.weights_label_set``), so that a reader can tell whether a protocol's unseen classes were among the
pretraining classes: "imagenet-1k" for timm's / torchvision's ImageNet-1k weights, "random init" for none,
"user file: unknown" for a user's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zshbench.weights import create_pretrained, load_matching, read_checkpoint

FLAG = "--set weights="

__all__ = ["load_backbone_weights", "weights_label_set", "TAG_LABEL_SETS"]

# the label set named by the dataset token of a timm pretrained tag "<source>_<dataset>" (tv_in1k, c3_in1k)
TAG_LABEL_SETS: dict[str, str] = {
    "in1k": "imagenet-1k",
    "in12k": "imagenet-12k",
    "in21k": "imagenet-21k",
    "in22k": "imagenet-22k",
}


def weights_label_set(p: dict[str, Any]) -> str:
    """The label set the backbone weights ``p["weights"]`` of ``p["backbone"]`` were trained on (no download).

    "random init" (``none``); for ``pretrained``, the label set named by timm's pretrained tag of the backbone
    (``resnet101.tv_in1k`` -> "imagenet-1k"), or "unknown (timm tag ...)" for a tag that names several data
    sets (fine-tuned chains such as ``fb_swsl_ig1b_ft_in1k``) or none we know; "user file: unknown" for a PATH
    (a file does not say what it was trained on).
    """
    w = str(p.get("weights") or "none")
    if w.lower() == "none":
        return "random init"
    if w.lower() != "pretrained":
        return "user file: unknown"
    import timm

    cfg = timm.models.get_pretrained_cfg(p["backbone"])
    tag = str(getattr(cfg, "tag", None) or "")
    tokens = tag.split("_")
    known = [t for t in tokens if t in TAG_LABEL_SETS]
    if "ft" in tokens or len(known) != 1:
        return f"unknown (timm tag {tag!r})"
    return TAG_LABEL_SETS[known[0]]


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
