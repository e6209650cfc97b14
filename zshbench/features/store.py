"""On-disk cache of extracted features: ``cache_dir() / "features" / <key digest>.npz``.

An entry holds ``features`` (float32 (n, D)) and ``meta``, a JSON string of everything that identifies it
(the caller's cache key: dataset fingerprint, split fingerprint and part; the resolved extractor spec; the
weights fingerprint; the sha256 of the index array; the timm version; the format version) plus the sha256 of
the feature bytes. Reading checks all of it: a missing file is a miss; an unreadable file (truncated, not a
zip), a meta mismatch, a wrong shape or dtype, non-finite values or a checksum mismatch is reported with a
warning and rebuilt. Entries are written atomically (`zshbench.fileio.save_npz_atomic`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.cache import cache_dir
from zshbench.fileio import load_npz, save_npz_atomic

__all__ = ["FORMAT_VERSION", "CacheWarning", "entry_meta", "entry_path", "read_entry", "write_entry"]

FORMAT_VERSION = "1"


class CacheWarning(UserWarning):
    """A feature cache entry was unusable (corrupt or mismatched) and is being rebuilt."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_meta(cache_key: str, spec: str, weights_fp: str, indices: np.ndarray, timm_version: str) -> dict[str, Any]:
    """The identifying fields of an entry (without the content checksum)."""
    idx = np.ascontiguousarray(indices, dtype=np.int64)
    return {
        "format": FORMAT_VERSION,
        "cache_key": str(cache_key),
        "spec": spec,
        "weights": weights_fp,
        "n": int(len(idx)),
        "indices_sha256": _sha256(idx.tobytes()),
        "timm": timm_version,
    }


def entry_path(meta: dict[str, Any]) -> Path:
    digest = _sha256(json.dumps(meta, sort_keys=True).encode())[:40]
    return cache_dir() / "features" / f"{digest}.npz"


def read_entry(path: Path, meta: dict[str, Any]) -> np.ndarray | None:
    """The cached features at ``path`` if the entry is intact and matches ``meta``; None otherwise."""
    if not path.exists():
        return None
    problem = None
    arrays = load_npz(path)
    if arrays is None or "features" not in arrays or "meta" not in arrays:
        problem = "unreadable"
    else:
        feats = arrays["features"]
        try:
            stored = json.loads(str(arrays["meta"]))
        except (ValueError, TypeError):
            stored = None
        if not isinstance(stored, dict) or {k: v for k, v in stored.items() if k != "sha256"} != meta:
            problem = "for other inputs (fingerprint mismatch)"
        elif feats.dtype != np.float32 or feats.ndim != 2 or feats.shape[0] != meta["n"] or feats.shape[1] < 1:
            problem = f"of the wrong shape {feats.shape} / dtype {feats.dtype} (expected ({meta['n']}, D) float32)"
        elif stored.get("sha256") != _sha256(np.ascontiguousarray(feats).tobytes()):
            problem = "corrupt (checksum mismatch)"
        elif not np.isfinite(feats).all():
            problem = "corrupt (NaN/inf values)"
        else:
            return feats
    warnings.warn(f"Feature cache entry {path} is {problem}; recomputing the features.", CacheWarning, stacklevel=3)
    return None


def write_entry(path: Path, meta: dict[str, Any], features: np.ndarray) -> None:
    feats = np.ascontiguousarray(features, dtype=np.float32)
    full = {**meta, "sha256": _sha256(feats.tobytes())}
    save_npz_atomic(path, features=feats, meta=np.array(json.dumps(full, sort_keys=True)))
