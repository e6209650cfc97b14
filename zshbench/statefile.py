"""Files of fitted hashers (`Hasher.save`, `zshbench.load_hasher`): safetensors, npz or torch, chosen by suffix.

A saved hasher is its `Hasher.state_dict`: ``method``, ``version``, ``config`` (and ``n_features_in`` for
feature-based methods), all plain JSON, and ``state``, the learned values: arrays (numpy), tensors (torch) and
small JSON values (a float, a string). Three formats hold it, all loaded without executing any code:

* ``.safetensors`` (the default of ``zshbench run --save-model``): every array and tensor as a safetensors
  tensor (numpy arrays converted losslessly, dtype kept), the rest in the file's ``__metadata__`` under the key
  ``zshbench`` (one JSON string: format, the plain entries, and per state key its kind: ``tensor``, ``numpy`` or
  ``json`` with the value). Readable by any safetensors library; `read_state_file` restores numpy arrays as
  numpy and tensors as tensors, bit for bit.
* ``.npz`` (numpy only, no torch needed to read it): ``state/<key>`` arrays and a ``__zshbench__`` string with
  the same JSON header; loaded with ``allow_pickle=False``. Tensors are stored as numpy arrays (bfloat16 ones
  cannot be: such a state is refused with a pointer to ``.safetensors``).
* any other suffix (``.pt``, the format before safetensors): ``torch.save`` of the state dict, loaded with
  ``torch.load(weights_only=True)``.

A state value of another kind (a nested dict of tensors, an object) cannot be written to the first two formats:
`write_state_file` raises ``TypeError`` naming the key, and the method should flatten it in ``_get_state``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import UserError
from zshbench.fileio import atomic_write_bytes

__all__ = ["FORMAT", "SUFFIXES", "state_file_bytes", "write_state_file", "read_state_file"]

FORMAT = "zshbench-hasher/1"
SUFFIXES = (".safetensors", ".npz", ".pt")
_JSON_TYPES = (bool, int, float, str, type(None))


def _kind_of(key: str, value: Any) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"state['{key}'] is a numpy array of dtype {value.dtype}; only numbers can be saved.")
        return "numpy"
    if _is_json(value):
        return "json"
    raise TypeError(
        f"state['{key}'] is a {type(value).__name__}; a saved hasher holds arrays, tensors and plain JSON values "
        "(flatten it in _get_state, or save to a .pt file)."
    )


def _is_json(value: Any) -> bool:
    if isinstance(value, _JSON_TYPES):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _header(sd: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON header, {key: array or tensor}) of a state dict."""
    plain = {k: v for k, v in sd.items() if k != "state"}
    if not _is_json(plain):
        raise TypeError("a saved hasher's method, version and config must be plain JSON values.")
    kinds, values, arrays = {}, {}, {}
    for key, value in sd["state"].items():
        kinds[key] = _kind_of(key, value)
        if kinds[key] == "json":
            values[key] = value
        else:
            arrays[key] = value
    return {"format": FORMAT, **plain, "kinds": kinds, "values": values}, arrays


def state_file_bytes(sd: dict[str, Any], suffix: str) -> bytes:
    """The bytes of a saved hasher in the format of ``suffix`` (see the module's docstring)."""
    import torch

    if suffix == ".safetensors":
        from safetensors.torch import save

        header, arrays = _header(sd)
        tensors = {
            k: (torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v.detach().cpu())
            for k, v in arrays.items()
        }
        tensors = {k: t.contiguous().clone() for k, t in tensors.items()}  # no shared storage (safetensors)
        return save(tensors, metadata={"zshbench": json.dumps(header, sort_keys=True)})
    if suffix == ".npz":
        header, arrays = _header(sd)
        out = {"__zshbench__": np.array(json.dumps(header, sort_keys=True))}
        for k, v in arrays.items():
            if isinstance(v, torch.Tensor):
                if v.dtype == torch.bfloat16:
                    raise TypeError(f"state['{k}'] is a bfloat16 tensor, which numpy cannot hold: use .safetensors.")
                v = v.detach().cpu().numpy()
            out[f"state/{k}"] = np.ascontiguousarray(v)
        buf = io.BytesIO()
        np.savez(buf, **out)
        return buf.getvalue()
    state, kinds = {}, {}
    for k, v in sd["state"].items():
        if isinstance(v, np.ndarray):
            state[k], kinds[k] = torch.from_numpy(np.ascontiguousarray(v)), "numpy"
        else:
            state[k], kinds[k] = v, "raw"
    buf = io.BytesIO()
    torch.save({**sd, "state": state, "kinds": kinds}, buf)
    return buf.getvalue()


def write_state_file(path: str | Path, sd: dict[str, Any]) -> Path:
    """Write ``sd`` (a `Hasher.state_dict`) atomically in the format named by the file's suffix."""
    path = Path(path)
    atomic_write_bytes(path, state_file_bytes(sd, path.suffix.lower()))
    return path


def _not_saved(path: Path, why: str) -> UserError:
    return UserError(
        f"{path} is not a hasher saved by zshbench ({why}). Save one with 'zshbench run ... --save-model' or "
        "Hasher.save(path), in .safetensors, .npz or .pt."
    )


def _from_header(path: Path, header: Any, arrays: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _not_saved(path, f"its header is not of format {FORMAT}")
    kinds, values = header.get("kinds", {}), header.get("values", {})
    state = {}
    for key, kind in kinds.items():
        if kind == "json":
            state[key] = values.get(key)
        elif key not in arrays:
            raise _not_saved(path, f"the state entry '{key}' is missing")
        elif kind == "numpy":
            v = arrays[key]
            state[key] = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
        else:
            import torch

            v = arrays[key]
            state[key] = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v))
    sd = {k: v for k, v in header.items() if k not in ("format", "kinds", "values")}
    sd["state"] = state
    return sd


def read_state_file(path: str | Path) -> dict[str, Any]:
    """The state dict of a saved hasher (arrays as numpy, tensors as tensors), whatever its format.

    Raises:
        UserError: the file is missing or is not a saved hasher.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"No saved hasher at {path}.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                arrays = {k: f.get_tensor(k) for k in f.keys()}
            if "zshbench" not in meta:
                raise _not_saved(path, "a safetensors file without zshbench's header: plain weights?")
            return _from_header(path, json.loads(meta["zshbench"]), arrays)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                raw = {k: z[k] for k in z.files}
            if "__zshbench__" not in raw:
                raise _not_saved(path, "an npz file without zshbench's header")
            arrays = {k[len("state/") :]: v for k, v in raw.items() if k.startswith("state/")}
            return _from_header(path, json.loads(str(raw["__zshbench__"])), arrays)
        import torch

        sd = torch.load(path, map_location="cpu", weights_only=True)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad file raises many types
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise _not_saved(path, f"{type(exc).__name__}: {first}") from None
    if not isinstance(sd, dict) or not {"method", "state"} <= set(sd):
        raise _not_saved(path, "no method and state entries")
    kinds = sd.pop("kinds", {})
    sd["state"] = {k: (v.numpy() if kinds.get(k) == "numpy" else v) for k, v in sd["state"].items()}
    return sd
