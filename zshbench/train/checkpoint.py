"""Checkpoints of deep-method training, and resuming from them.

The runner puts the settings of the run being fitted in a context variable (`checkpointing`); `fit_loop` reads
them (`current`), so no method passes paths around. A checkpoint lives next to the run's record::

    results/<dataset>/<protocol>/<method>/<config_hash>-b<bits>-s<seed>.ckpt.pt

It holds the model, optimizer and scheduler state, the RNG states of every rank (torch, CUDA, numpy, Python, the
method's generator and the batch-order generator, with the latter's state at the start of the epoch so that
the epoch's permutation can be redrawn), the position (epoch, batch within the epoch, optimizer step), the
partial training statistics and the run's identity (`identity`: method, version, full config, dataset,
protocol, split fingerprint, world size). It is written atomically by rank 0 every N optimizer steps and once
more when training ends, loads with ``torch.load(weights_only=True)`` (RNG states are tensors, the rest plain
data), and is deleted once the record is written.

``zshbench run ... --resume`` continues from it; a checkpoint written under a different identity is refused
with the differing keys named (`ResumeMismatchError`).
"""

from __future__ import annotations

import contextlib
import json
import random
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import DataError, UserError
from zshbench.fileio import atomic_write

__all__ = [
    "CheckpointSpec",
    "CheckpointWarning",
    "ResumeMismatchError",
    "checkpoint_path",
    "checkpointing",
    "current",
    "check_every",
    "identity",
    "save_checkpoint",
    "load_checkpoint",
    "check_identity",
    "discard",
    "capture_rng",
    "restore_rng",
    "FORMAT",
]

FORMAT = 1
SUFFIX = ".ckpt.pt"


class ResumeMismatchError(UserError):
    """``--resume`` found a checkpoint written for a different configuration."""


class CheckpointWarning(UserWarning):
    """A checkpoint exists but is not used (run without ``--resume``)."""


@dataclass(frozen=True)
class CheckpointSpec:
    """Checkpoint settings of the run being fitted.

    Attributes:
        path: the checkpoint file.
        every: save after every ``every`` optimizer steps (0: only when training ends; with ``resume`` and 0,
            the interval stored in the checkpoint is kept).
        resume: continue from ``path`` when it exists.
        meta: the run's identity (`identity`); a checkpoint with another identity is refused.
    """

    path: Path
    every: int = 0
    resume: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


_CURRENT: ContextVar[CheckpointSpec | None] = ContextVar("zshbench_checkpoint", default=None)


def current() -> CheckpointSpec | None:
    """The settings `fit_loop` uses (None: no checkpointing, no resume)."""
    return _CURRENT.get()


def checkpoint_path(record_path: str | Path) -> Path:
    """``<record path without .json>.ckpt.pt``."""
    p = Path(record_path)
    return p.with_name((p.name[:-5] if p.name.endswith(".json") else p.name) + SUFFIX)


def identity(
    hasher, *, dataset: str, protocol: str, protocol_sha256: str, split_fingerprint: str, world_size: int
) -> dict[str, Any]:
    """What must be equal to resume: method, its version, the full config, the data and the world size."""
    return {
        "method": hasher.name,
        "method_version": str(hasher.version),
        "params": hasher.get_params(),
        "dataset": dataset,
        "protocol": protocol,
        "protocol_sha256": protocol_sha256,
        "split_fingerprint": split_fingerprint,
        "world_size": int(world_size),
    }


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def check_identity(path: Path, saved: dict[str, Any], now: dict[str, Any]) -> None:
    """Raise `ResumeMismatchError` naming every key where ``saved`` (the checkpoint's) and ``now`` differ."""
    a, b = _flat(saved), _flat(now)
    diff = sorted(k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>"))
    if diff:
        shown = "; ".join(f"{k}: checkpoint {a.get(k, '<absent>')!r}, now {b.get(k, '<absent>')!r}" for k in diff)
        raise ResumeMismatchError(
            f"Cannot resume from {path}: it was written by a run with a different configuration ({shown}). "
            "Resume with the original settings, or start this configuration from scratch by running without "
            f"--resume (delete {path.name} if it is no longer wanted)."
        )


def _siblings(path: Path) -> list[Path]:
    """Checkpoints of the same method, bits and seed under another config hash (newest first)."""
    tail = path.name.split("-", 1)[1] if "-" in path.name else path.name  # "b64-s0.ckpt.pt"
    if not path.parent.is_dir():
        return []
    found = [p for p in path.parent.glob(f"*-{tail}") if p != path]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def check_every(every: Any) -> int:
    """Validate a checkpoint interval (optimizer steps, >= 0).

    Raises:
        UserError: not a non-negative integer.
    """
    if not isinstance(every, int) or isinstance(every, bool) or every < 0:
        raise UserError(
            f"--checkpoint-every must be a non-negative number of optimizer steps, got {every!r} "
            "(e.g. --checkpoint-every 500; 0 with --resume keeps the interval of the checkpoint)."
        )
    return every


@contextlib.contextmanager
def checkpointing(
    path: str | Path, *, every: int = 0, resume: bool = False, meta: dict[str, Any] | None = None
) -> Iterator[CheckpointSpec | None]:
    """Checkpoint (and with ``resume``, resume) the training inside the block.

    With ``every == 0`` and no ``resume`` nothing is set up (a plain run). With ``resume`` but no checkpoint at
    ``path``, a checkpoint of the same method, bits and seed under another config is looked for: if there is
    one, the run is refused naming the differing keys (the user probably changed a setting by mistake).

    Raises:
        UserError: ``every`` is negative; `ResumeMismatchError` as above.
    """
    check_every(every)
    path = Path(path)
    meta = dict(meta or {})
    if resume and not path.exists():
        for other in _siblings(path):
            try:
                saved = load_checkpoint(other)
            except DataError:
                continue
            check_identity(other, json.loads(saved["meta_json"]), meta)
    if not resume and path.exists():
        from zshbench.train.distributed import is_main

        if is_main():
            warnings.warn(
                f"A checkpoint of this run exists at {path}; starting from scratch (pass --resume to "
                "continue from it). It is overwritten by this run's checkpoints.",
                CheckpointWarning,
                stacklevel=3,
            )
    if every == 0 and not resume:
        yield None
        return
    spec = CheckpointSpec(path, every, resume, meta)
    token = _CURRENT.set(spec)
    try:
        yield spec
    finally:
        _CURRENT.reset(token)


def discard(record_path: str | Path) -> None:
    """Delete the checkpoint of the run whose record is at ``record_path`` (after the record is written), and
    temp files of checkpoint writes cut short by a kill."""
    path = checkpoint_path(record_path)
    for p in [path, *path.parent.glob(f".{path.name}.*.tmp")]:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """``torch.save`` streamed into a temp file in the same directory, then renamed over ``path`` (atomic; no
    in-memory copy of a possibly GB-sized checkpoint)."""
    import torch

    atomic_write(Path(path), lambda f: torch.save({"format": FORMAT, **payload}, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load with ``weights_only=True`` (no code runs).

    Raises:
        DataError: unreadable file or an unknown format.
    """
    import torch

    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/zip error means the same thing to the user
        raise DataError(
            f"Checkpoint {path} cannot be read ({type(exc).__name__}: {exc}). Delete it and run "
            "without --resume to start this run from scratch."
        ) from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT or "meta_json" not in ck:
        raise DataError(
            f"Checkpoint {path} is not a zshbench training checkpoint of format {FORMAT}. Delete it "
            "and run without --resume."
        )
    return ck


# -- RNG states as tensors and plain values (weights_only-loadable) -----------------------------------------


def capture_rng(generators: dict[str, Any], device: str) -> dict[str, Any]:
    """This process's RNG states: torch (CPU and the CUDA device in use), numpy's and Python's global RNGs, and
    ``generators`` (name -> ``torch.Generator`` or a state tensor already taken, None skipped)."""
    import torch

    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, pstate, pgauss = random.getstate()
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {
            "version": int(version),
            "state": torch.tensor(pstate, dtype=torch.int64),
            "gauss": None if pgauss is None else float(pgauss),
        },
        "cuda": None,
        "generators": {},
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    for name, g in generators.items():
        if g is None:
            continue
        out["generators"][name] = g if isinstance(g, torch.Tensor) else g.get_state()
    return out


def restore_rng(state: dict[str, Any], device: str) -> None:
    """Set the global RNGs from `capture_rng` output (the named generators are set by the caller)."""
    import torch

    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if state.get("cuda") is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"], torch.device(device))
