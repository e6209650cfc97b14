"""Reading and writing record files: defensive JSON reading, loading with conversion and validation, atomic
writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from zshbench.errors import RecordError
from zshbench.fileio import atomic_write_bytes
from zshbench.records.convert import upgrade_record
from zshbench.records.identity import record_filename
from zshbench.records.record import Record
from zshbench.records.schema import MAX_DEPTH, MAX_RECORD_BYTES
from zshbench.records.validate import validate
from zshbench.reported import validate_paper_record

__all__ = ["read_json_file", "load_record", "iter_record_files", "load_records", "write_record"]


def _json_depth_ok(text: str, limit: int = MAX_DEPTH) -> bool:
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def read_json_file(path: str | Path, what: str = "record") -> Any:
    """Parse a JSON file defensively: regular files only, bounded size and nesting, UTF-8.

    Raises:
        RecordError: naming the file and the problem (never a traceback for bad content).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(st.st_mode):
        raise RecordError(f"{path}: is not a regular file (a {what} is a plain JSON file); remove it.")
    if st.st_size > MAX_RECORD_BYTES:
        raise RecordError(
            f"{path}: is {st.st_size:,} bytes, far larger than any {what} "
            f"(limit {MAX_RECORD_BYTES:,}); it is not a {what}: remove it."
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RECORD_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{path}: is not UTF-8 text (byte {exc.start}); the file is corrupt: rerun the run "
            "that made it, or remove it."
        ) from None
    if not _json_depth_ok(text):
        raise RecordError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; it is not a {what}: remove it.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"{path}: not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}); the file is corrupt or "
            "truncated: rerun the run that made it (zshbench run ... --force), or remove it."
        ) from None
    except (RecursionError, ValueError) as exc:
        raise RecordError(f"{path}: cannot be parsed as JSON ({type(exc).__name__}).") from None


def load_record(path: str | Path) -> Record:
    """Read, upgrade and validate one measured record file; the file name must carry its identity hash.

    Raises:
        RecordError: naming the file and every problem.
    """
    path = Path(path)
    d = read_json_file(path)
    if isinstance(d, dict) and d.get("source") == "paper":
        raise RecordError(
            f"{path}: is a published-numbers record (source: paper), not a measured run; published "
            "numbers live under leaderboard/reported/."
        )
    if not isinstance(d, dict):
        raise RecordError(f"{path}: a record must be a JSON object, got {type(d).__name__}.")
    d = upgrade_record(d, str(path))
    problems = validate(d)
    if not problems and d.get("converted_from") is None:
        expected = record_filename(d["n_bits"], d["seed"], d["identity_hash"])
        if path.name != expected:
            problems.append(
                f"the file name should be {expected} (bits, seed and identity hash of its content): "
                "the file was renamed or its content edited"
            )
    if problems:
        raise RecordError.many(str(path), problems)
    return Record.from_dict(d, str(path), path=str(path))


def iter_record_files(results_dir: str | Path) -> list[Path]:
    """Every ``*.json`` under ``results_dir`` except zshbench's own side files (sorted)."""
    root = Path(results_dir)
    out = []
    for p in sorted(root.rglob("*.json")):
        rel = p.relative_to(root).parts
        if any(part in ("sweep-logs", "submitit-logs") or part.startswith(".") for part in rel):
            continue
        out.append(p)
    return out


def load_records(results_dir: str | Path, source: str | None = "measured") -> tuple[list[Any], list[RecordError]]:
    """All records under ``results_dir``: (valid records sorted by path, one `RecordError` per bad file).

    Never raises on bad content: every problem of every file is returned (path, field, reason).

    Args:
        results_dir: root of a record tree.
        source: "measured" (the default: `Record` objects; a paper record there is an error) or "paper"
            (published numbers as validated dicts, see `zshbench.reported`).
    """
    good: list[Any] = []
    bad: list[RecordError] = []
    for p in iter_record_files(results_dir):
        try:
            if source == "paper":
                d = read_json_file(p, "published-numbers record")
                if not isinstance(d, dict) or d.get("source") != "paper":
                    raise RecordError(
                        f"{p}: is not a source 'paper' record, but this directory holds only published numbers "
                        "(measured results go under leaderboard/results/, published numbers under "
                        "leaderboard/reported/)."
                    )
                rec = dict(validate_paper_record(d, str(p)))
                rec["_path"] = str(p)
                good.append(rec)
            else:
                good.append(load_record(p))
        except RecordError as exc:
            bad.append(exc)
        except Exception as exc:  # noqa: BLE001 - a hostile file must never take the whole command down
            bad.append(RecordError(f"{p}: could not be read ({type(exc).__name__}: {exc})."))
    return good, bad


def write_record(rec: Record, path: str | Path) -> Path:
    """Write ``rec`` atomically at ``path`` (temp file in the same directory + rename)."""
    if not isinstance(rec, Record):
        raise TypeError(
            f"write_record expects a zshbench.records.Record, got {type(rec).__name__}; build records "
            "with Record.create."
        )
    path = Path(path)
    d = rec.to_dict()
    problems = validate(d)
    if problems:
        raise RecordError.many(str(path), problems)
    text = json.dumps(d, indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())
    return path
