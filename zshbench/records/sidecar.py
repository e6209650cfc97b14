"""Per-query results beside a record: ``<record stem>.perquery.npz`` (numpy arrays, compressed), referenced from the
record by file name, sha256 and keys (``Record.per_query``), written before the record (both atomically), so a
record never points to a missing or partial sidecar; an orphan sidecar of a killed run is simply overwritten by
the rerun.

Keys are ``"<setting tag>.<metric>"`` (tags ``ua``, ``sa``, ``uu``, ``ss``: `zshbench.evaluate.settings`) holding
float64 (n_query,) values, and ``"<tag>.query_index"`` with the queries' dataset indices (int64), so two
records of one protocol pair up query by query (`zshbench.stats`).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import RecordError
from zshbench.fileio import atomic_write_bytes

__all__ = ["sidecar_path", "encode_sidecar", "write_sidecar", "load_per_query"]

SUFFIX = ".perquery.npz"


def sidecar_path(record_path: str | Path) -> Path:
    p = Path(record_path)
    return p.with_name(p.name[: -len(".json")] + SUFFIX if p.name.endswith(".json") else p.name + SUFFIX)


def encode_sidecar(arrays: dict[str, np.ndarray]) -> bytes:
    """The ``.npz`` bytes of ``arrays`` (compressed; keys sorted)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(arrays[k]) for k in sorted(arrays)})
    return buf.getvalue()


def write_sidecar(record_path: str | Path, data: bytes) -> dict[str, Any]:
    """Write the sidecar of the record at ``record_path`` atomically; return the record's ``per_query`` entry."""
    path = sidecar_path(record_path)
    atomic_write_bytes(path, data)
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}


def load_per_query(record) -> dict[str, np.ndarray]:
    """The per-query arrays of a loaded `zshbench.records.Record` (checked against its sha256).

    Raises:
        RecordError: the record has no sidecar, or it is missing, damaged or not the one the record names.
    """
    ref = record.per_query
    if not ref:
        raise RecordError(
            f"{record.path}: this record has no per-query results (made before they were stored, "
            "or with the leaky variant's U->A only); rerun it to get them."
        )
    if not record.path:
        raise RecordError("load_per_query needs a record loaded from a file (its sidecar lies beside it).")
    path = Path(record.path).with_name(ref["file"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError(
            f"{path}: the per-query results of {record.path} cannot be read ({exc.strerror or exc});"
            " rerun the run (zshbench run ... --force) to write them again."
        ) from None
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise RecordError(
            f"{path}: its sha256 does not match the one in {record.path}: the file was changed or "
            "belongs to another run; rerun the run to write both again."
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    missing = sorted(set(ref.get("keys", [])) - set(out))
    if missing:
        raise RecordError(f"{path}: lacks {', '.join(missing[:3])} named by its record.")
    return out
