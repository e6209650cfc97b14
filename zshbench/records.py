"""Result records: one versioned JSON file per run, written atomically; the leaderboard's only input.

A record is keyed by (method, config hash, dataset, protocol, bits, seed) and lives at::

    <results>/<dataset>/<protocol>/<method>/<config_hash>-b<bits>-s<seed>.json

(one file per run rather than per config, so each run is written whole or not at all and parallel runs never
share a file). Writing goes through a temporary file in the same directory and ``os.replace``: a killed run
leaves no half-written record, and two processes writing into one results directory never corrupt each
other. Loading validates the schema and says which file is bad and why; records of older schema versions are
converted by the functions in ``CONVERTERS`` (one per old version, each tested on a stored fixture).
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

__all__ = [
    "SCHEMA_VERSION",
    "record_path",
    "write_record",
    "load_record",
    "load_records",
    "validate_record",
    "environment",
]

SCHEMA_VERSION = 1

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
}

# old schema version -> converter to the next version (dict -> dict). Empty while only version 1 exists.
CONVERTERS: dict[int, Callable[[dict], dict]] = {}


def record_path(results_dir: str | Path, *, dataset: str, protocol: str, method: str, config_hash: str,
                n_bits: int, seed: int) -> Path:
    return Path(results_dir) / dataset / protocol / method / f"{config_hash}-b{n_bits}-s{seed}.json"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def validate_record(rec: Any, where: str = "record") -> dict:
    """Check ``rec`` against the current schema; return it. Raises `RecordError` naming ``where`` and the reason."""
    if not isinstance(rec, dict):
        raise RecordError(f"{where}: a record must be a JSON object, got {type(rec).__name__}.")
    for key, (tp, required) in _SCHEMA.items():
        if key not in rec:
            if required:
                raise RecordError(f"{where}: missing required field '{key}'.")
            continue
        if not isinstance(rec[key], tp) or (tp is int and isinstance(rec[key], bool)):
            raise RecordError(f"{where}: field '{key}' must be {tp.__name__}, got {type(rec[key]).__name__}.")
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
    return rec


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
    if isinstance(rec, dict):
        rec = upgrade_record(rec, str(path))
    return validate_record(rec, str(path))


def load_records(results_dir: str | Path) -> tuple[list[dict], list[RecordError]]:
    """All records under ``results_dir``: (valid records sorted by path, errors of the bad files)."""
    good, bad = [], []
    for p in sorted(Path(results_dir).rglob("*.json")):
        try:
            rec = load_record(p)
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
