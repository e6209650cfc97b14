"""Content fingerprints of files named in a run's settings (weights, word vectors), for the run identity.

A run's identity must not depend on where a file lives, and must change when the file's content changes: a
file is identified by its sha256 (computed once per process per (path, size, mtime)), never by its path.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "file_identity"]

_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 (hex) of a file's bytes (cached per process by resolved path, size and mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _CACHE[key] = h.hexdigest()
    return _CACHE[key]


def file_identity(value: Any) -> dict[str, Any] | None:
    """``{"file": <name>, "sha256": <digest>}`` (plus ``"kind"`` for ``KIND:PATH`` values such as
    ``glove:/data/glove.6B.300d.txt``) when ``value`` names an existing regular file; None otherwise (the
    value is then identified by itself, e.g. "none" or "pretrained")."""
    if not isinstance(value, str) or not value:
        return None
    kind, path = None, value
    head, sep, tail = value.partition(":")
    if sep and head.isalpha() and len(head) > 1 and not Path(value).is_file():
        kind, path = head, tail
    p = Path(path).expanduser()
    if not p.is_file():
        return None
    out: dict[str, Any] = {"file": p.name, "sha256": file_sha256(p)}
    if kind:
        out["kind"] = kind
    return out
