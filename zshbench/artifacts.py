"""A run's optional artifacts beside its record, and the codes file format they share with ``zshbench encode``.

``zshbench run --save-codes`` writes ``<record stem>.codes.npz`` and ``--save-model`` writes
``<record stem>.model.safetensors`` (`Hasher.save`, weights only: `zshbench.statefile`; load with
`zshbench.load_hasher`; runs saved before safetensors have ``.model.pt``), both atomically and before the
record, so a record written with them never lacks them. They are not part of the run's identity (the record and
its identity hash are the same with or without them) and the record does not name them: their names follow from
the record's.

A codes file (``.npz``, no pickles) holds, for every part in ``parts`` (``query``, ``database``, ``train``):
``<part>_codes`` (packed ``uint8`` codes, `zshbench.codes`), ``<part>_index`` (the items' dataset indices,
int64) and ``<part>_labels`` (their class indices, int64); and ``n_bits``, ``method``, ``dataset``, ``protocol``
and ``class_names``. `read_codes_file` checks all of it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.codes import n_bytes
from zshbench.errors import UserError
from zshbench.fileio import atomic_write_bytes

__all__ = [
    "CODES_SUFFIX",
    "MODEL_SUFFIX",
    "PARTS",
    "codes_path",
    "model_path",
    "codes_file_bytes",
    "write_codes_file",
    "read_codes_file",
    "check_out_file",
    "artifact_names",
    "artifact_paths",
    "write_artifacts",
]

CODES_SUFFIX = ".codes.npz"
MODEL_SUFFIX = ".model.safetensors"
PARTS = ("query", "database", "train")


def _beside(record_path: str | Path, suffix: str) -> Path:
    p = Path(record_path)
    stem = p.name[: -len(".json")] if p.name.endswith(".json") else p.name
    return p.with_name(stem + suffix)


def codes_path(record_path: str | Path) -> Path:
    """``<record stem>.codes.npz`` beside the record at ``record_path``."""
    return _beside(record_path, CODES_SUFFIX)


def model_path(record_path: str | Path) -> Path:
    """``<record stem>.model.safetensors`` beside the record at ``record_path``."""
    return _beside(record_path, MODEL_SUFFIX)


def codes_file_bytes(
    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    n_bits: int,
    method: str,
    dataset: str,
    protocol: str,
    class_names: tuple[str, ...] | list[str],
) -> bytes:
    """The ``.npz`` bytes of a codes file; ``parts`` maps a part name to (codes, dataset indices, labels)."""
    arrays: dict[str, Any] = {
        "parts": np.array(list(parts), dtype=str),
        "n_bits": np.array(int(n_bits), dtype=np.int64),
        "method": np.array(method, dtype=str),
        "dataset": np.array(dataset, dtype=str),
        "protocol": np.array(protocol, dtype=str),
        "class_names": np.array(list(class_names), dtype=str),
    }
    for part, (codes, index, labels) in parts.items():
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}")
        arrays[f"{part}_codes"] = np.ascontiguousarray(np.asarray(codes), dtype=np.uint8)
        arrays[f"{part}_index"] = np.asarray(index, dtype=np.int64)
        arrays[f"{part}_labels"] = np.asarray(labels, dtype=np.int64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def write_codes_file(path: str | Path, parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], **meta) -> Path:
    """Write a codes file atomically (`codes_file_bytes` for the arguments)."""
    path = Path(path)
    atomic_write_bytes(path, codes_file_bytes(parts, **meta))
    return path


def read_codes_file(path: str | Path, need: tuple[str, ...] = ()) -> dict[str, Any]:
    """The content of a codes file: ``{"parts": [...], "n_bits", "method", "dataset", "protocol", "class_names",
    "<part>_codes", "<part>_index", "<part>_labels", ...}``, checked for consistency.

    Args:
        need: parts that must be present (e.g. ``("query", "database")``).

    Raises:
        UserError: the file is missing, not a codes file, inconsistent, or lacks a needed part.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"No codes file at {path}. Make one with 'zshbench run ... --save-codes' (it is written beside the "
            "record as <record>.codes.npz) or 'zshbench encode --model FILE ... --out FILE.npz'."
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - a bad file raises many types
        raise UserError(f"{path} is not a codes file written by zshbench ({type(exc).__name__}).") from None

    def bad(why: str) -> UserError:
        return UserError(
            f"{path} is not a usable codes file: {why}. Write it again with 'zshbench run ... --save-codes' or "
            "'zshbench encode'."
        )

    for key in ("parts", "n_bits", "method", "dataset", "protocol", "class_names"):
        if key not in raw:
            raise bad(f"it has no '{key}' entry")
    out: dict[str, Any] = {
        "parts": [str(p) for p in np.atleast_1d(raw["parts"])],
        "n_bits": int(raw["n_bits"]),
        "method": str(raw["method"]),
        "dataset": str(raw["dataset"]),
        "protocol": str(raw["protocol"]),
        "class_names": [str(c) for c in np.atleast_1d(raw["class_names"])],
    }
    nb = out["n_bits"]
    for part in out["parts"]:
        if part not in PARTS:
            raise bad(f"unknown part '{part}' (parts are {', '.join(PARTS)})")
        try:
            codes, index, labels = (raw[f"{part}_{k}"] for k in ("codes", "index", "labels"))
        except KeyError as exc:
            raise bad(f"part '{part}' lacks {exc.args[0]}") from None
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != n_bytes(nb):
            raise bad(
                f"{part}_codes has dtype {codes.dtype} and shape {codes.shape}, expected uint8 (n, {n_bytes(nb)}) "
                f"for {nb}-bit codes"
            )
        if index.shape != (len(codes),) or labels.shape != (len(codes),):
            raise bad(f"{part}_index or {part}_labels does not have one entry per code ({len(codes)})")
        out.update({f"{part}_codes": codes, f"{part}_index": index, f"{part}_labels": labels})
    missing = [p for p in need if p not in out["parts"]]
    if missing:
        raise UserError(
            f"{path} holds the part(s) {', '.join(out['parts']) or '(none)'} but {', '.join(missing)} is needed. "
            "Use a run's codes file (query and database) or 'zshbench encode ... --part all'."
        )
    return out


def check_out_file(out: str | Path, flag: str, suffixes: tuple[str, ...]) -> Path:
    """Check, before any work, an output file: a name with one of ``suffixes``, not a folder, in a writable folder
    (created when missing). Nothing is written.

    Raises:
        UserError: naming ``flag``, the problem and the fix.
    """
    from zshbench.paths import check_writable_dir

    if str(out) == "":
        raise UserError(f"{flag} is empty: name the file to write, e.g. {flag} out{suffixes[0]}.")
    p = Path(out)
    if p.is_dir():
        raise UserError(f"{flag} {p} is a folder; name a file in it, e.g. {flag} {p / ('out' + suffixes[0])}.")
    if not p.name.lower().endswith(suffixes):
        raise UserError(f"{flag} {p}: the file name must end in {' or '.join(suffixes)}, e.g. {flag} out{suffixes[0]}.")
    check_writable_dir(p.parent if str(p.parent) else ".", flag)
    return p


def artifact_names(save_codes: bool, save_model: bool) -> tuple[str, ...]:
    """The artifacts a run asked for: ``("codes", "model")`` or a part of it."""
    return tuple(name for name, on in (("codes", save_codes), ("model", save_model)) if on)


def artifact_paths(record_path: Path, wanted: tuple[str, ...] | list[str]) -> list[Path]:
    """Where the ``wanted`` artifacts of the record at ``record_path`` are (or will be) written."""
    return [{"codes": codes_path, "model": model_path}[name](record_path) for name in wanted]


def write_artifacts(slot: Any, prep: Any, wanted: tuple[str, ...] | list[str], cq, cdb) -> None:
    """A run's codes (``cq``, ``cdb``) and fitted hasher beside its record, each atomically (``slot`` and ``prep``:
    the runner's `Slot` and `Prepared`)."""
    ds, split, hasher = prep.dataset, prep.split, slot.hasher
    if "codes" in wanted:
        parts = {
            "query": (cq, split.query, ds.labels[split.query]),
            "database": (cdb, split.database, ds.labels[split.database]),
        }
        write_codes_file(
            codes_path(slot.path),
            parts,
            n_bits=hasher.n_bits,
            method=hasher.name,
            dataset=ds.name,
            protocol=prep.protocol.name,
            class_names=ds.class_names,
        )
    if "model" in wanted:
        hasher.save(model_path(slot.path))
