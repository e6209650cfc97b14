"""Result records: one versioned JSON file per run, written atomically; the leaderboard's only input.

A record is keyed by (method, config hash, dataset, protocol, bits, seed) and lives at::

    <results>/<dataset>/<protocol>/<method>/<config_hash>-b<bits>-s<seed>.json

(one file per run rather than per config, so each run is written whole or not at all and parallel runs never
share a file). Writing goes through a temporary file in the same directory and ``os.replace``: a killed run
leaves no half-written record, and two processes writing into one results directory never corrupt each
other. Loading validates the schema and says which file is bad and why; records of older schema versions are
converted by the functions in ``CONVERTERS`` (one per old version, each tested on a stored fixture).

Two kinds of record share the schema version:

* ``source: "measured"``: a zshbench run (fields of ``_SCHEMA``), written by `zshbench.runner.run_one`;
* ``source: "paper"``: numbers as published (fields of ``_PAPER_SCHEMA``), kept under ``leaderboard/reported/``:
  one method on one dataset from one table of one paper, ``values`` keyed by code length, each value both as
  printed (``printed``, a string, in ``printed_unit``) and as a fraction in [0, 1] (``value``).

Schema history:

* 1: the first version.
* 2: measured records gain ``complexity`` (required: parameter count and FLOPs per encoded item, see
  `zshbench.complexity`) and ``class_distances`` (optional: mean Hamming distances between unseen query classes
  and seen classes, RAZH Fig. 5); paper records (``_PAPER_SCHEMA``) are defined. `convert_v1_to_v2` fills
  ``complexity`` of a version-1 record with "not measured".
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from zshbench.cache import atomic_write_bytes
from zshbench.errors import RecordError
from zshbench.reported import validate_paper_record

__all__ = [
    "SCHEMA_VERSION",
    "record_path",
    "write_record",
    "load_record",
    "load_records",
    "validate_record",
    "validate_paper_record",
    "upgrade_record",
    "CONVERTERS",
    "environment",
]

SCHEMA_VERSION = 2

# field -> (type or tuple of types, required)
_SCHEMA: dict[str, tuple[Any, bool]] = {
    "schema_version": (int, True),
    "source": (str, True),
    "method": (str, True),
    "method_version": (str, True),
    "params": (dict, True),
    "config_hash": (str, True),
    "dataset": (str, True),
    "protocol": (dict, True),
    "split_fingerprint": (str, True),
    "n_bits": (int, True),
    "seed": (int, True),
    "metrics": (dict, True),
    "metric_version": (str, True),
    "timings": (dict, True),
    "environment": (dict, True),
    "created_utc": (str, True),
    "zshbench_version": (str, True),
    "dataset_info": (dict, False),
    "features": (dict, False),
    "split_counts": (dict, False),
    "metric_conventions": (dict, False),
    "curves": (dict, False),
    "extras": (dict, False),
    "complexity": (dict, True),
    "class_distances": (dict, False),
}

# the complexity block of a measured record (schema 2): key -> (types, required)
_COMPLEXITY: dict[str, tuple[Any, bool]] = {
    "params": ((int, type(None)), True),
    "flops_per_image": ((int, type(None)), True),
    "counter": (str, True),
}



def convert_v1_to_v2(rec: dict) -> dict:
    """Schema 1 -> 2: a measured record gets ``complexity`` marked "not measured"; nothing else changes.

    Version-1 records predate the cost measurement, so their parameter count and FLOPs are unknown (None) and
    ``counter`` says why; the cost table shows "-" for them.
    """
    out = dict(rec)
    out["schema_version"] = 2
    if out.get("source", "measured") == "measured" and "complexity" not in out:
        out["complexity"] = {"params": None, "flops_per_image": None, "counter": "none",
                             "note": "not measured: converted from a schema-1 record"}
    return out


# old schema version -> converter to the next version (dict -> dict), each tested on a fixture under tests/
CONVERTERS: dict[int, Callable[[dict], dict]] = {1: convert_v1_to_v2}


def record_path(results_dir: str | Path, *, dataset: str, protocol: str, method: str, config_hash: str,
                n_bits: int, seed: int) -> Path:
    return Path(results_dir) / dataset / protocol / method / f"{config_hash}-b{n_bits}-s{seed}.json"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_fields(rec: dict, schema: dict[str, tuple[Any, bool]], where: str, prefix: str = "") -> None:
    for key, (tp, required) in schema.items():
        if key not in rec:
            if required:
                raise RecordError(f"{where}: missing required field '{prefix}{key}'.")
            continue
        types = tp if isinstance(tp, tuple) else (tp,)
        if not isinstance(rec[key], types) or (int in types and isinstance(rec[key], bool)):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise RecordError(f"{where}: field '{prefix}{key}' must be {names}, got {type(rec[key]).__name__}.")


def validate_record(rec: Any, where: str = "record") -> dict:
    """Check ``rec`` against the current schema; return it. Raises `RecordError` naming ``where`` and the reason."""
    if not isinstance(rec, dict):
        raise RecordError(f"{where}: a record must be a JSON object, got {type(rec).__name__}.")
    if rec.get("source") == "paper":
        return validate_paper_record(rec, where)
    _check_fields(rec, _SCHEMA, where)
    if rec["schema_version"] != SCHEMA_VERSION:
        raise RecordError(f"{where}: schema_version {rec['schema_version']} is not {SCHEMA_VERSION}.")
    for name, value in rec["metrics"].items():
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            raise RecordError(f"{where}: metric '{name}' must be a finite number, got {value!r}.")
    for name, value in rec["timings"].items():
        if not _is_number(value):
            raise RecordError(f"{where}: timing '{name}' must be a number, got {value!r}.")
    for key in ("name", "version"):
        if not isinstance(rec["protocol"].get(key), str):
            raise RecordError(f"{where}: protocol.{key} must be a string.")
    if rec["source"] not in ("measured", "paper"):
        raise RecordError(f"{where}: source must be 'measured' or 'paper', got {rec['source']!r}.")
    _check_fields(rec["complexity"], _COMPLEXITY, where, "complexity.")
    for key in ("params", "flops_per_image"):
        if (rec["complexity"][key] or 0) < 0:
            raise RecordError(f"{where}: complexity.{key} must be non-negative, got {rec['complexity'][key]}.")
    if "class_distances" in rec:
        _validate_class_distances(rec["class_distances"], where)
    return rec


def _validate_class_distances(cd: dict, where: str) -> None:
    for key in ("unseen", "seen", "mean_hamming"):
        if not isinstance(cd.get(key), list):
            raise RecordError(f"{where}: class_distances.{key} must be a list.")
    m = cd["mean_hamming"]
    if len(m) != len(cd["unseen"]) or any(not isinstance(row, list) or len(row) != len(cd["seen"]) for row in m):
        raise RecordError(
            f"{where}: class_distances.mean_hamming must be a {len(cd['unseen'])} x {len(cd['seen'])} list of lists "
            "(unseen classes x seen classes)."
        )
    if any(not (_is_number(v) and math.isfinite(v)) for row in m for v in row):
        raise RecordError(f"{where}: class_distances.mean_hamming must hold finite numbers (null is not allowed).")


def upgrade_record(rec: dict, where: str = "record") -> dict:
    """Convert a record of an older schema version to the current one."""
    v = rec.get("schema_version")
    if not isinstance(v, int):
        raise RecordError(f"{where}: no integer schema_version.")
    if v > SCHEMA_VERSION:
        raise RecordError(
            f"{where}: schema_version {v} is newer than this zshbench understands ({SCHEMA_VERSION}); upgrade zshbench."
        )
    while v < SCHEMA_VERSION:
        if v not in CONVERTERS:
            raise RecordError(f"{where}: no converter from schema_version {v}.")
        rec = CONVERTERS[v](rec)
        v = rec["schema_version"]
    return rec


def load_record(path: str | Path) -> dict:
    """Read, upgrade and validate one record file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); the file is corrupt or truncated.") from None
    if isinstance(rec, dict) and rec.get("source") != "paper":
        rec = upgrade_record(rec, str(path))
    return validate_record(rec, str(path))


def load_records(results_dir: str | Path, source: str | None = None) -> tuple[list[dict], list[RecordError]]:
    """All records under ``results_dir``: (valid records sorted by path, errors of the bad files).

    Args:
        results_dir: root of a record tree.
        source: "measured" or "paper" to accept only that kind (a record of the other kind is reported as an
            error: measured results and published numbers live in separate trees); None accepts both.
    """
    good, bad = [], []
    for p in sorted(Path(results_dir).rglob("*.json")):
        try:
            rec = load_record(p)
            if source is not None and rec["source"] != source:
                raise RecordError(
                    f"{p}: is a source '{rec['source']}' record, but this directory holds only '{source}' records "
                    "(measured results go under leaderboard/results/, published numbers under leaderboard/reported/)."
                )
            rec["_path"] = str(p)
            good.append(rec)
        except RecordError as exc:
            bad.append(exc)
    return good, bad


def write_record(rec: dict, path: str | Path) -> Path:
    """Validate and write ``rec`` atomically at ``path`` (temp file in the same directory + rename)."""
    path = Path(path)
    rec = {k: v for k, v in rec.items() if not k.startswith("_")}
    validate_record(rec, str(path))
    text = json.dumps(rec, indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())
    return path


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions and hardware of this run (stored in every record)."""
    import numpy

    import zshbench

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "zshbench": zshbench.__version__,
        "git_commit": _git_commit(),
        "device": device,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            env["device_name"] = torch.cuda.get_device_name(torch.device(device))
        else:
            env["device_name"] = env["cpu"]
    except ImportError:  # pragma: no cover
        env["device_name"] = env["cpu"]
    return env


def iter_metric_names(records: Iterable[dict]) -> list[str]:
    names: set[str] = set()
    for r in records:
        names.update(r.get("metrics", {}))
    return sorted(names)
