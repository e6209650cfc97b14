"""Backbone weights, one set of rules for every place that loads them (timm features, RAZH, COMAE).

A deep method's ``weights`` setting is loaded by `load_weights` (through `zshbench.train.TorchHasher.load_weights`):

* pretrained: timm's pretrained weights when the model hub (or its local cache) can serve them; otherwise a
  `UserError` that names both alternatives. zshbench never falls back to random weights silently.
* a file: ``.safetensors`` (safetensors) or ``.pth``/``.pt``/``.bin`` (``torch.load(weights_only=True)``, so no
  code is executed); a ``state_dict``/``model`` entry is unwrapped and ``module.`` prefixes are stripped.
* ``none``: random initialisation, explicitly requested.

``flag`` is how the user sets weights where the message is shown: ``"--weights "`` for the feature stage,
``"--set weights="`` for a method's config.

Which label set weights were trained on (a run's ``weights_label_set``) and which unseen classes of a protocol
that label set contains: `weights_label_set`, `timm_label_set`, `unseen_overlap` (defined in
`zshbench.pretraining`, re-exported here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zshbench.errors import UserError
from zshbench.pretraining import timm_label_set, unseen_overlap, weights_label_set

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "WEIGHTS_FLAG",
    "LoadedWeights",
    "load_weights",
    "checkpoint_path",
    "read_checkpoint",
    "create_pretrained",
    "load_matching",
    "timm_label_set",
    "weights_label_set",
    "unseen_overlap",
]

CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
WEIGHTS_FLAG = "--set weights="  # how a method's weights are set (the feature stage uses "--weights ")


@dataclass(frozen=True)
class LoadedWeights:
    """What `load_weights` did.

    Attributes:
        description: for the record ("none (random init)", "pretrained NAME (timm) (N unused keys)", "state dict
            FILE (N unused keys)").
        label_set: the label set the weights were trained on (`zshbench.pretraining.weights_label_set`).
        pretrained_cfg: timm's ``pretrained_cfg`` of the pretrained source model (its input normalisation, ...);
            empty for "none" and a file.
    """

    description: str
    label_set: str
    pretrained_cfg: dict[str, Any] = field(default_factory=dict)


def load_weights(
    module,
    spec: str | None,
    *,
    timm_name: str | None = None,
    what: str = "the backbone",
    flag: str = WEIGHTS_FLAG,
    ignore_prefixes: tuple[str, ...] = (),
) -> LoadedWeights:
    """Load the weights ``spec`` asks for into ``module``: the weights policy of every deep method.

    Args:
        module: the ``torch.nn.Module`` that receives the weights (unused for "none").
        spec: "none" (or None: random initialisation, nothing loaded), "pretrained" (timm's pretrained weights of
            ``timm_name``, created without classifier) or the PATH of a .safetensors / .pth state dict.
        timm_name: the timm model (and tag) of "pretrained".
        what: the module in messages ("the resnet10t backbone").
        flag: how the user sets ``spec`` (in messages).
        ignore_prefixes: keys of ``module`` the weights need not have, and keys of the weights not counted as
            unused (e.g. a ViT's ``head``).

    Returns:
        `LoadedWeights` (description, label set, timm's pretrained config).

    Raises:
        UserError: a missing or unreadable file, weights that do not fit ``module``, pretrained weights that the
            hub cannot serve or "pretrained" without ``timm_name``; never a silent fallback to random weights.
    """
    w = str(spec or "none")
    if w.lower() == "none":
        return LoadedWeights("none (random init)", weights_label_set("none"))
    if w.lower() == "pretrained":
        if not timm_name:
            raise UserError(f"{flag}pretrained: {what} has no pretrained weights; use {flag}none or {flag}PATH.")
        src = create_pretrained(timm_name, flag, num_classes=0)
        unused = load_matching(module, src.state_dict(), what=what, flag=flag, ignore_prefixes=ignore_prefixes)
        cfg = getattr(src, "pretrained_cfg", None) or {}
        return LoadedWeights(
            f"pretrained {timm_name} (timm) ({unused} unused keys)", weights_label_set(w, timm_name), dict(cfg)
        )
    unused = load_matching(module, read_checkpoint(w, flag), what=what, flag=flag, ignore_prefixes=ignore_prefixes)
    return LoadedWeights(f"state dict {Path(w).name} ({unused} unused keys)", weights_label_set(w, timm_name))


def checkpoint_path(weights: str | os.PathLike, flag: str = "--weights ") -> Path:
    """Validate a weights file: it exists and has a known checkpoint suffix."""
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(
            f"{flag}{weights}: no such file. Pass a .safetensors or .pth checkpoint of the backbone "
            f"({flag}PATH), use timm's pretrained weights, or ask for a random initialisation with {flag}none."
        )
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise UserError(
            f"{flag}{weights}: unknown checkpoint format '{path.suffix}'; expected one of "
            f"{', '.join(CHECKPOINT_SUFFIXES)} (safetensors, or a torch state dict)."
        )
    return path


def read_checkpoint(path: str | os.PathLike, flag: str = "--weights ") -> dict[str, Any]:
    """The state dict (name -> tensor) stored in a checkpoint file."""
    import torch

    path = checkpoint_path(path, flag)
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            sd: Any = load_file(str(path), device="cpu")
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a bad file raises many types
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(
            f"{flag}{path}: the checkpoint could not be read ({type(exc).__name__}: {first}). Pass a safetensors "
            "file or a state dict saved with torch.save(model.state_dict(), path)."
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        raise UserError(f"{flag}{path}: expected a state dict (parameter name -> tensor), got {type(sd).__name__}.")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in sd.items()}


def create_pretrained(name: str, flag: str = "--weights ", **kwargs: Any):
    """``timm.create_model(name, pretrained=True, **kwargs)``, or a `UserError` naming the alternatives."""
    import timm

    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - hub errors come in many types
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(
            f"The pretrained weights of timm model '{name}' are not available here ({type(exc).__name__}: {first}). "
            f"zshbench does not fall back to random weights. Either pass a local checkpoint with {flag}PATH "
            f"(.safetensors or .pth), or ask for a randomly initialised backbone explicitly with {flag}none."
        ) from None


def load_matching(module, sd: dict[str, Any], *, what: str, flag: str, ignore_prefixes: tuple[str, ...] = ()) -> int:
    """Load ``sd`` into ``module``; every parameter of ``module`` must be in ``sd``. Returns the number of
    unused keys (e.g. a classifier head) apart from those under ``ignore_prefixes``."""
    own = module.state_dict()
    missing = [k for k in own if k not in sd and not k.startswith(ignore_prefixes)]
    if missing:
        raise UserError(
            f"The weights ({flag}...) do not fit {what}: {len(missing)} missing key(s) "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}). "
            "Use a checkpoint of the same architecture."
        )
    shapes = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if shapes:
        k = shapes[0]
        raise UserError(
            f"The weights ({flag}...) do not fit {what}: {len(shapes)} tensor(s) of another shape, e.g. '{k}' "
            f"{tuple(sd[k].shape)} != {tuple(own[k].shape)}."
        )
    module.load_state_dict({k: sd[k] for k in own if k in sd}, strict=False)
    return sum(1 for k in sd if k not in own and not k.startswith(ignore_prefixes))
