"""The run identity (every input that can change a number), its hash, the record's path and the canonical JSON
form that the identity hash and the content checksum are computed on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zshbench.errors import RecordError
from zshbench.paths import check_name, inside
from zshbench.records.schema import HEX64

__all__ = [
    "canonical_json",
    "identity_hash",
    "run_identity",
    "identity_difference",
    "record_filename",
    "record_path",
    "content_checksum",
    "drop_absent",
    "OPTIONAL_NULL",
]


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def identity_hash(identity: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a run identity."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


def run_identity(
    *,
    method: str,
    method_version: str,
    config: Mapping[str, Any],
    features: Mapping[str, Any] | None,
    dataset: Mapping[str, Any],
    protocol: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    n_bits: int,
    seed: int,
    world_size: int = 1,
) -> dict[str, Any]:
    """The identity of one run: every input that can change one of its numbers (see the module docstring).

    Args:
        method, method_version: the registered method name and its ``version``.
        config: the full resolved config with files replaced by their fingerprints
            (`zshbench.hasher.Hasher.identity_params`), n_bits and seed included.
        features: the feature stage's identity (`zshbench.features.identity`), None for image methods.
        dataset: the dataset's identity (`zshbench.datasets.Dataset.identity`).
        protocol: ``{"name", "version", "sha256", "pinned"}``.
        evaluation: ``{"k", "metric_version", "metric_set", "variant"}``.
        n_bits, seed: the code length and seed.
        world_size: number of data-parallel training processes (torchrun); 1 otherwise.
    """
    return json.loads(
        canonical_json(
            {
                "method": method,
                "method_version": str(method_version),
                "config": dict(config),
                "features": dict(features) if features is not None else None,
                "dataset": dict(dataset),
                "protocol": {k: protocol.get(k) for k in ("name", "version", "sha256", "pinned")},
                "evaluation": dict(evaluation),
                "n_bits": int(n_bits),
                "seed": int(seed),
                "world_size": int(world_size),
            }
        )
    )


def identity_difference(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the fields where two identities differ, e.g. ``["features.weights", "evaluation.k"]``."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        if va == vb:
            continue
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            out += identity_difference(va, vb, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key} ({_short(va)} vs {_short(vb)})")
    return out


def _short(v: Any) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= 60 else s[:57] + "..."


def record_filename(n_bits: int, seed: int, id_hash: str) -> str:
    return f"b{int(n_bits)}-s{int(seed)}-{id_hash[:16]}.json"


def record_path(
    results_dir: str | Path, *, dataset: str, protocol: str, method: str, n_bits: int, seed: int, id_hash: str
) -> Path:
    """Where the record of a run lives: ``<results>/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<id>.json``.

    Raises:
        UserError: a name that is not a safe path component, or a target outside ``results_dir``.
    """
    check_name(dataset, "dataset name")
    check_name(protocol, "protocol name")
    check_name(method, "method name")
    if not HEX64.fullmatch(id_hash):
        raise RecordError(f"identity hash {id_hash!r} is not a sha256 hex digest.")
    return inside(results_dir, dataset, protocol, method, record_filename(n_bits, seed, id_hash))


OPTIONAL_NULL = ("features", "class_distances", "converted_from", "pretraining", "settings", "per_query", "per_class")


def drop_absent(d: dict) -> dict:
    """The stored form leaves out optional blocks that are null (one canonical form for the checksum)."""
    for key in OPTIONAL_NULL:
        if key in d and d[key] is None:
            del d[key]
    return d


def content_checksum(d: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON without its ``content_sha256`` field."""
    return hashlib.sha256(canonical_json({k: v for k, v in d.items() if k != "content_sha256"}).encode()).hexdigest()
