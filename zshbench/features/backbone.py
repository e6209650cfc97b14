"""Frozen timm backbones as feature extractors (``--features timm:<model>``).

The backbone is built with ``num_classes=0`` (timm's pooled pre-logits features), put in eval mode with its
parameters frozen, and run under ``torch.no_grad`` on the chosen device. Images (uint8 H x W x C) go through
timm's own evaluation transform for the model's data config (resize, centre crop, normalisation). Grey images
(1 channel) are repeated to 3 channels; a 2nd (grey + alpha) or 4th (RGBA) alpha channel is dropped.

Weights (the CLI's ``--weights``):

* ``None``: timm's pretrained weights (downloaded by timm, or from the Hugging Face cache). When they cannot be
  had (offline, no weights for that model), a `UserError` names the two alternatives; zshbench never falls back
  to random weights silently.
* a path to a ``.safetensors`` (read with safetensors) or ``.pth``/``.pt``/``.bin`` checkpoint (read with
  ``torch.load(weights_only=True)``: no code is executed). A ``state_dict``/``model`` entry is unwrapped,
  ``module.`` prefixes are stripped and the classifier weights are ignored; any other missing or unexpected key
  is an error.
* ``"none"``: random initialisation, explicitly requested (torch seed 0, so features are reproducible).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import UnknownNameError, UserError
from zshbench.weights import CHECKPOINT_SUFFIXES, checkpoint_path, create_pretrained, read_checkpoint

__all__ = ["load_backbone", "backbone_features", "weights_fingerprint", "RANDOM_INIT_SEED", "CHECKPOINT_SUFFIXES"]

RANDOM_INIT_SEED = 0
_HASH_MEMO: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASH_MEMO[key] = h.hexdigest()
    return _HASH_MEMO[key]


def weights_fingerprint(weights: str | os.PathLike | None) -> str:
    """A string identifying the weights: "timm-pretrained", "random-init:seed0" or "sha256:<file digest>"."""
    if weights is None:
        return "timm-pretrained"
    if str(weights).lower() == "none":
        return f"random-init:seed{RANDOM_INIT_SEED}"
    return "sha256:" + _file_sha256(checkpoint_path(weights))


def _check_model_name(name: str) -> None:
    import timm

    if not name:
        raise UserError("Feature spec 'timm:' lacks a model name; e.g. --features timm:resnet50.")
    if not timm.is_model(name):
        from zshbench.errors import close_matches

        hint = close_matches(name, timm.list_models(), cutoff=0.6)
        raise UnknownNameError(
            f"Unknown timm model '{name}' in --features timm:{name}.{hint} List models with "
            "`python -c \"import timm; print(timm.list_models('resnet*'))\"`."
        )


def _load_into(model: Any, sd: dict[str, Any], path: Path, name: str) -> None:
    heads = model.pretrained_cfg.get("classifier") or ()
    heads = (heads,) if isinstance(heads, str) else tuple(heads)
    own = model.state_dict()
    unexpected = [k for k in sd if k not in own and not any(k.startswith(h + ".") for h in heads)]
    missing = [k for k in own if k not in sd]
    if missing or unexpected:
        raise UserError(
            f"--weights {path} does not match timm model '{name}': {len(missing)} missing key(s) "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}) and {len(unexpected)} unexpected "
            f"key(s) ({', '.join(unexpected[:3])}{', ...' if len(unexpected) > 3 else ''}). Use a checkpoint of "
            "the same architecture."
        )
    try:
        model.load_state_dict({k: sd[k] for k in own}, strict=True)
    except RuntimeError as exc:
        raise UserError(f"--weights {path} does not fit timm model '{name}': {str(exc).splitlines()[0]}") from None


def load_backbone(name: str, weights: str | os.PathLike | None, device: str = "cpu") -> Any:
    """A frozen timm backbone (``num_classes=0``, eval mode) on ``device``.

    Raises:
        UnknownNameError: ``name`` is not a timm model.
        UserError: pretrained weights unavailable, unreadable or mismatching checkpoint.
    """
    import timm
    import torch

    _check_model_name(name)
    if weights is None:
        model = create_pretrained(name, "--weights ", num_classes=0)
    else:
        path = None if str(weights).lower() == "none" else checkpoint_path(weights)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            model = timm.create_model(name, pretrained=False, num_classes=0)
        if path is not None:
            _load_into(model, read_checkpoint(path), path, name)
    model.eval().requires_grad_(False)
    return model.to(device)


def _to_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise UserError(f"timm features need uint8 images (H, W, 1..4 channels); got {img.dtype} {img.shape}.")
    c = img.shape[2]
    if c <= 2:
        return np.repeat(img[..., :1], 3, axis=2)
    return img[..., :3]


def backbone_features(
    model: Any,
    batches: Iterable[Any],
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Pooled features (float32, (n, D)) of image batches (each uint8 (b, H, W, C) or a list of HWC images)."""
    import timm
    import torch
    from PIL import Image

    cfg = timm.data.resolve_model_data_config(model)
    transform = timm.data.create_transform(**cfg, is_training=False)
    outs = []
    with torch.no_grad():
        for images in batches:
            x = torch.stack([transform(Image.fromarray(_to_rgb(im))) for im in images]).to(device)
            outs.append(model(x).float().cpu().numpy())
            if progress is not None:
                progress(len(x))
    if not outs:
        return np.zeros((0, int(model.num_features)), dtype=np.float32)
    return np.concatenate(outs).astype(np.float32, copy=False)
