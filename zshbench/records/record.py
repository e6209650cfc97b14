"""The typed, frozen `Record` of one measured run."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from zshbench.errors import RecordError
from zshbench.records.identity import canonical_json, content_checksum, drop_absent, identity_hash
from zshbench.records.schema import SCHEMA_VERSION
from zshbench.records.validate import validate

__all__ = ["Record"]


@dataclasses.dataclass(frozen=True)
class Record:
    """One measured run (schema `SCHEMA_VERSION`). Build new ones with `Record.create` (the runner does), read
    stored ones with `load_record` / `load_records`; ``to_dict`` gives the JSON form.

    Nested blocks (``params``, ``metrics``, ``protocol``, ...) are the JSON objects as stored; treat them as
    read-only. ``path`` is where the record was read from (not stored in the file).
    """

    method: str
    method_version: str
    params: dict[str, Any]
    config_hash: str
    dataset: str
    protocol: dict[str, Any]
    split_fingerprint: str
    n_bits: int
    seed: int
    metrics: dict[str, float]
    metric_version: str
    evaluation: dict[str, Any]
    identity: dict[str, Any]
    identity_hash: str
    timings: dict[str, float]
    complexity: dict[str, Any]
    environment: dict[str, Any]
    created_utc: str
    zshbench_version: str
    content_sha256: str = ""
    dataset_info: dict[str, Any] = dataclasses.field(default_factory=dict)
    split_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    metric_conventions: dict[str, str] = dataclasses.field(default_factory=dict)
    curves: dict[str, Any] = dataclasses.field(default_factory=dict)
    features: dict[str, Any] | None = None
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    class_distances: dict[str, Any] | None = None
    non_default_params: dict[str, Any] | None = None
    pretraining: dict[str, Any] | None = None
    settings: dict[str, dict[str, float]] | None = None
    per_query: dict[str, Any] | None = None
    per_class: dict[str, Any] | None = None
    converted_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    source: str = "measured"
    path: str | None = dataclasses.field(default=None, compare=False)

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        *,
        identity: Mapping[str, Any],
        params: Mapping[str, Any],
        config_hash: str,
        split_fingerprint: str,
        metrics: Mapping[str, float],
        metric_conventions: Mapping[str, str],
        timings: Mapping[str, float],
        complexity: Mapping[str, Any],
        environment: Mapping[str, Any],
        zshbench_version: str,
        dataset_info: Mapping[str, Any] | None = None,
        split_counts: Mapping[str, int] | None = None,
        curves: Mapping[str, Any] | None = None,
        features: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        class_distances: Mapping[str, Any] | None = None,
        created_utc: str | None = None,
        non_default_params: Mapping[str, Any] | None = None,
        pretraining: Mapping[str, Any] | None = None,
        settings: Mapping[str, Mapping[str, float]] | None = None,
        per_query: Mapping[str, Any] | None = None,
        per_class: Mapping[str, Any] | None = None,
    ) -> Record:
        """The one constructor of new records: the identity's fields are copied from ``identity`` (never given
        twice), the hashes computed, and the result validated.

        Raises:
            RecordError: listing every problem (a metric outside [0, 1], a negative timing, ...).
        """
        ident = json.loads(canonical_json(dict(identity)))
        d = {
            "schema_version": SCHEMA_VERSION,
            "source": "measured",
            "method": ident["method"],
            "method_version": ident["method_version"],
            "params": dict(params),
            "config_hash": config_hash,
            "dataset": ident["dataset"]["name"],
            "protocol": dict(ident["protocol"]),
            "split_fingerprint": split_fingerprint,
            "n_bits": ident["n_bits"],
            "seed": ident["seed"],
            "metrics": {k: float(v) for k, v in metrics.items()},
            "metric_version": ident["evaluation"]["metric_version"],
            "evaluation": dict(ident["evaluation"]),
            "identity": ident,
            "identity_hash": identity_hash(ident),
            "timings": dict(timings),
            "complexity": dict(complexity),
            "environment": dict(environment),
            "created_utc": created_utc or utc_now(),
            "zshbench_version": zshbench_version,
            "dataset_info": dict(dataset_info or {}),
            "split_counts": dict(split_counts or {}),
            "metric_conventions": dict(metric_conventions),
            "curves": dict(curves or {}),
            "features": dict(features) if features is not None else None,
            "extras": dict(extras or {}),
            "class_distances": dict(class_distances) if class_distances is not None else None,
            "non_default_params": dict(non_default_params) if non_default_params is not None else None,
            "pretraining": dict(pretraining) if pretraining is not None else None,
            "settings": {k: {m: float(v) for m, v in d.items()} for k, d in settings.items()} if settings else None,
            "per_query": dict(per_query) if per_query is not None else None,
            "per_class": dict(per_class) if per_class is not None else None,
        }
        d = drop_absent(json.loads(canonical_json(d)))  # JSON types only (tuples -> lists, numpy refused)
        d["content_sha256"] = content_checksum(d)
        return cls.from_dict(d, "new record")

    @classmethod
    def from_dict(cls, d: Any, where: str = "record", path: str | None = None) -> Record:
        """Validate a current-schema record's JSON object and return the `Record`.

        Raises:
            RecordError: every problem found (``.problems``), naming ``where``.
        """
        problems = validate(d)
        if problems:
            raise RecordError.many(where, problems)
        names = {f.name for f in dataclasses.fields(cls)} - {"path"}
        return cls(**{k: v for k, v in d.items() if k in names}, path=path)

    # -- views ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (a deep copy; ``path`` is not part of it; absent optional blocks are left out)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "path"}
        return drop_absent(json.loads(canonical_json(d)))

    @property
    def key(self) -> tuple:
        """(dataset, protocol name, protocol version, method, config hash, bits, seed)."""
        return (
            self.dataset,
            self.protocol["name"],
            self.protocol["version"],
            self.method,
            self.config_hash,
            self.n_bits,
            self.seed,
        )

    @property
    def k(self) -> int:
        return int(self.evaluation["k"])

    # transitional read access by JSON field name (the leaderboard's tables read records this way)
    def __getitem__(self, key: str) -> Any:
        if key == "_path":
            return self.path
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


def utc_now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
