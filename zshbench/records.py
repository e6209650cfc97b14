"""Result records: one typed, frozen, versioned `Record` per run, stored as one JSON file, the leaderboard's only
measured input.

**Identity.** A run is identified by everything that can change one of its numbers (`run_identity`): the method
and its version, the full resolved config (files named in it, such as weights, by their sha256, never by path),
the feature spec (extractor, model, weights by sha256, library version), the dataset identity (registered name,
version and content fingerprint; for a ``folder:`` dataset a fingerprint of its files that does not depend on
where the folder lives; the image size in use), the protocol (name, version, content sha256, whether it matched
a pin), the evaluation settings (k, evaluator ``metric_version``, the metric set, the evaluation variant), the
training world size, the code length and the seed. Its sha256 is the record's ``identity_hash``, and the file
name carries it::

    <results>/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<identity_hash[:16]>.json

so two different experiments never share a file, and a run is only ever "skipped" when a record with exactly
its identity exists (`zshbench.runner`). Every component of that path is a validated name
(`zshbench.paths.check_name`) and the target is resolved inside ``<results>`` (`zshbench.paths.inside`).

**Integrity.** Writing goes through a temporary file in the same directory and ``os.replace`` (a killed run
leaves no half-written record; parallel writers never corrupt each other). Every record carries
``content_sha256``, a checksum of its canonical JSON: a record edited by hand (a metric changed, a field
removed) is reported, not silently averaged in. The checksum catches accidental and naive edits, not a
determined forger; ``zshbench leaderboard --check --reproduce`` re-runs records to catch changed numbers.

**Validation** (`Record.from_dict`, `validate`) checks the type and range of every field and the consistency of
the identity with the fields it covers, and lists *every* problem of a record at once. `load_records` never
raises on bad content: it returns the valid records and one `RecordError` per bad file (path, field, reason);
only regular files are read (a FIFO named ``*.json`` is reported, not opened), size and nesting are bounded.

**Schema history** (older records are converted on load by `CONVERTERS`, each tested on a stored fixture):

* 1: the first version.
* 2: ``complexity`` (parameters, FLOPs per encoded item) and ``class_distances`` (RAZH Fig. 5).
* 3: ``identity`` / ``identity_hash`` (the run identity above), ``evaluation`` (k, metric set, variant),
  ``protocol.pinned``, ``content_sha256``, ``non_default_params`` (the config keys that differ from the
  method's defaults at run time, so the leaderboard needs no code to name them), ``pretraining`` (for runs on
  pretrained weights: the label set they were trained on and the protocol's unseen classes it contains,
  `zshbench.pretraining`); the record type `Record`. `convert_v2_to_v3` rebuilds the identity
  from a version-2 record's fields; what version 2 did not store (the dataset's content fingerprint, whether the
  protocol matched a pin) is ``null``, so a converted record never stands in for a new run.

Paper records (``source: "paper"``, published numbers) are versioned separately (`zshbench.reported`,
``PAPER_SCHEMA_VERSION``) and upgraded by `zshbench.reported.validate_paper_record`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import re
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from zshbench.fileio import atomic_write_bytes
from zshbench.errors import RecordError
from zshbench.paths import check_name, inside, is_valid_name
from zshbench.reported import validate_paper_record

__all__ = [
    "SCHEMA_VERSION",
    "Record",
    "run_identity",
    "identity_hash",
    "identity_difference",
    "record_path",
    "record_filename",
    "write_record",
    "load_record",
    "load_records",
    "validate",
    "upgrade_record",
    "CONVERTERS",
    "environment",
    "utc_now",
    "MAX_RECORD_BYTES",
]

SCHEMA_VERSION = 3
MIN_BITS, MAX_BITS = 8, 256
MAX_SEED = 2**64 - 1
# a record is a few tens of kB; anything far larger is not a record (and is not read into memory)
MAX_RECORD_BYTES = 32 * 2**20
MAX_DEPTH = 64  # nesting depth of a record's JSON (deeper: refused before parsing)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX12 = re.compile(r"[0-9a-f]{12}")
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
EVALUATION_VARIANTS = ("standard",)


# ---- the run identity -----------------------------------------------------------------------------------

def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def identity_hash(identity: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a run identity."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


def run_identity(*, method: str, method_version: str, config: Mapping[str, Any], features: Mapping[str, Any] | None,
                 dataset: Mapping[str, Any], protocol: Mapping[str, Any], evaluation: Mapping[str, Any],
                 n_bits: int, seed: int, world_size: int = 1) -> dict[str, Any]:
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
    return json.loads(canonical_json({
        "method": method, "method_version": str(method_version), "config": dict(config),
        "features": dict(features) if features is not None else None, "dataset": dict(dataset),
        "protocol": {k: protocol.get(k) for k in ("name", "version", "sha256", "pinned")},
        "evaluation": dict(evaluation), "n_bits": int(n_bits), "seed": int(seed), "world_size": int(world_size),
    }))


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


def record_path(results_dir: str | Path, *, dataset: str, protocol: str, method: str, n_bits: int, seed: int,
                id_hash: str) -> Path:
    """Where the record of a run lives: ``<results>/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<id>.json``.

    Raises:
        UserError: a name that is not a safe path component, or a target outside ``results_dir``.
    """
    check_name(dataset, "dataset name")
    check_name(protocol, "protocol name")
    check_name(method, "method name")
    if not _HEX64.fullmatch(id_hash):
        raise RecordError(f"identity hash {id_hash!r} is not a sha256 hex digest.")
    return inside(results_dir, dataset, protocol, method, record_filename(n_bits, seed, id_hash))


# ---- the record -----------------------------------------------------------------------------------------

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
    converted_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    source: str = "measured"
    path: str | None = dataclasses.field(default=None, compare=False)

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, *, identity: Mapping[str, Any], params: Mapping[str, Any], config_hash: str,
               split_fingerprint: str, metrics: Mapping[str, float], metric_conventions: Mapping[str, str],
               timings: Mapping[str, float], complexity: Mapping[str, Any], environment: Mapping[str, Any],
               zshbench_version: str, dataset_info: Mapping[str, Any] | None = None,
               split_counts: Mapping[str, int] | None = None, curves: Mapping[str, Any] | None = None,
               features: Mapping[str, Any] | None = None, extras: Mapping[str, Any] | None = None,
               class_distances: Mapping[str, Any] | None = None, created_utc: str | None = None,
               non_default_params: Mapping[str, Any] | None = None,
               pretraining: Mapping[str, Any] | None = None) -> "Record":
        """The one constructor of new records: the identity's fields are copied from ``identity`` (never given
        twice), the hashes computed, and the result validated.

        Raises:
            RecordError: listing every problem (a metric outside [0, 1], a negative timing, ...).
        """
        ident = json.loads(canonical_json(dict(identity)))
        d = {
            "schema_version": SCHEMA_VERSION, "source": "measured",
            "method": ident["method"], "method_version": ident["method_version"], "params": dict(params),
            "config_hash": config_hash, "dataset": ident["dataset"]["name"],
            "protocol": dict(ident["protocol"]), "split_fingerprint": split_fingerprint,
            "n_bits": ident["n_bits"], "seed": ident["seed"],
            "metrics": {k: float(v) for k, v in metrics.items()},
            "metric_version": ident["evaluation"]["metric_version"], "evaluation": dict(ident["evaluation"]),
            "identity": ident, "identity_hash": identity_hash(ident), "timings": dict(timings),
            "complexity": dict(complexity), "environment": dict(environment),
            "created_utc": created_utc or utc_now(), "zshbench_version": zshbench_version,
            "dataset_info": dict(dataset_info or {}), "split_counts": dict(split_counts or {}),
            "metric_conventions": dict(metric_conventions), "curves": dict(curves or {}),
            "features": dict(features) if features is not None else None, "extras": dict(extras or {}),
            "class_distances": dict(class_distances) if class_distances is not None else None,
            "non_default_params": dict(non_default_params) if non_default_params is not None else None,
            "pretraining": dict(pretraining) if pretraining is not None else None,
        }
        d = _drop_absent(json.loads(canonical_json(d)))  # JSON types only (tuples -> lists, numpy refused)
        d["content_sha256"] = content_checksum(d)
        return cls.from_dict(d, "new record")

    @classmethod
    def from_dict(cls, d: Any, where: str = "record", path: str | None = None) -> "Record":
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
        return _drop_absent(json.loads(canonical_json(d)))

    @property
    def key(self) -> tuple:
        """(dataset, protocol name, protocol version, method, config hash, bits, seed)."""
        return (self.dataset, self.protocol["name"], self.protocol["version"], self.method, self.config_hash,
                self.n_bits, self.seed)

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


_OPTIONAL_NULL = ("features", "class_distances", "converted_from", "pretraining")


def _drop_absent(d: dict) -> dict:
    """The stored form leaves out optional blocks that are null (one canonical form for the checksum)."""
    for key in _OPTIONAL_NULL:
        if key in d and d[key] is None:
            del d[key]
    return d


def content_checksum(d: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON without its ``content_sha256`` field."""
    return hashlib.sha256(canonical_json({k: v for k, v in d.items() if k != "content_sha256"}).encode()).hexdigest()


# ---- validation -----------------------------------------------------------------------------------------

def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# field -> (check, what it must be, required)
_FIELDS: dict[str, tuple[Callable[[Any], bool], str, bool]] = {
    "schema_version": (_is_int, "an integer", True),
    "source": (lambda v: v == "measured", '"measured"', True),
    "method": (is_valid_name, "a method name ([a-z0-9][a-z0-9._-]*)", True),
    "method_version": (lambda v: isinstance(v, str) and v != "", "a non-empty string", True),
    "params": (lambda v: isinstance(v, dict), "an object", True),
    "config_hash": (lambda v: isinstance(v, str) and _HEX12.fullmatch(v) is not None, "12 hex digits", True),
    "dataset": (is_valid_name, "a dataset name ([a-z0-9][a-z0-9._-]*)", True),
    "protocol": (lambda v: isinstance(v, dict), "an object", True),
    "split_fingerprint": (lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None and v != "0" * 64,
                          "a sha256 hex digest (not all zeros)", True),
    "n_bits": (lambda v: _is_int(v) and MIN_BITS <= v <= MAX_BITS, f"an integer in {MIN_BITS}..{MAX_BITS}", True),
    "seed": (lambda v: _is_int(v) and 0 <= v <= MAX_SEED, f"an integer in 0..{MAX_SEED}", True),
    "metrics": (lambda v: isinstance(v, dict) and len(v) > 0, "a non-empty object", True),
    "metric_version": (lambda v: isinstance(v, str) and v != "", "a non-empty string", True),
    "evaluation": (lambda v: isinstance(v, dict), "an object", True),
    "identity": (lambda v: isinstance(v, dict), "an object", True),
    "identity_hash": (lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None, "a sha256 hex digest",
                      True),
    "timings": (lambda v: isinstance(v, dict), "an object", True),
    "complexity": (lambda v: isinstance(v, dict), "an object", True),
    "environment": (lambda v: isinstance(v, dict), "an object", True),
    "created_utc": (lambda v: isinstance(v, str) and _UTC.fullmatch(v) is not None, "a UTC time like "
                    "2026-01-31T12:00:00Z", True),
    "zshbench_version": (lambda v: isinstance(v, str) and v != "", "a non-empty string", True),
    "content_sha256": (lambda v: isinstance(v, str) and _HEX64.fullmatch(v) is not None, "a sha256 hex digest",
                       True),
    "dataset_info": (lambda v: isinstance(v, dict), "an object", True),
    "split_counts": (lambda v: isinstance(v, dict) and all(_is_int(x) and x >= 0 for x in v.values()),
                     "an object of non-negative integers", True),
    "metric_conventions": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                           "an object of strings", True),
    "curves": (lambda v: isinstance(v, dict), "an object", True),
    "features": (lambda v: v is None or isinstance(v, dict), "an object or null", False),
    "extras": (lambda v: isinstance(v, dict), "an object", True),
    "class_distances": (lambda v: v is None or isinstance(v, dict), "an object or null", False),
    "non_default_params": (lambda v: v is None or isinstance(v, dict), "an object (null: not recorded)", True),
    "pretraining": (lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("label_set"), str)
                                            and isinstance(v.get("overlap", []), list)),
                    "null or an object with label_set and overlap", False),
    "converted_from": (lambda v: v is None or (_is_int(v) and 1 <= v < SCHEMA_VERSION),
                       f"null or a schema version below {SCHEMA_VERSION}", False),
}

_COMPLEXITY_INT = ("params", "params_encode", "flops_per_image")


def validate(d: Any) -> list[str]:
    """Every problem of a current-schema measured record (empty list: valid). Never raises on bad content."""
    if not isinstance(d, dict):
        return [f"a record must be a JSON object, got {type(d).__name__}"]
    probs: list[str] = []
    for key, (ok, what, required) in _FIELDS.items():
        if key not in d:
            if required:
                probs.append(f"missing required field '{key}'")
            continue
        try:
            good = ok(d[key])
        except Exception:  # noqa: BLE001 - a check on hostile content must not raise
            good = False
        if not good:
            probs.append(f"field '{key}' must be {what}, got {_short(d[key])}")
    unknown = sorted(set(d) - set(_FIELDS))
    if unknown:
        probs.append(f"unknown field(s) {', '.join(unknown)}")
    if probs and any(p.startswith(("missing", "field 'schema_version'")) for p in probs):
        return probs  # the structure is broken: the consistency checks below would only repeat it
    if d.get("schema_version") != SCHEMA_VERSION:
        probs.append(f"schema_version {d.get('schema_version')!r} is not {SCHEMA_VERSION}")
    for check in (_check_protocol, _check_metrics, _check_timings, _check_complexity, _check_curves,
                  _check_class_distances, _check_identity, _check_checksum):
        try:
            probs += check(d)
        except Exception as exc:  # noqa: BLE001 - defensive: report, never crash on a hostile record
            probs.append(f"{check.__name__[7:]}: could not be checked ({type(exc).__name__})")
    return probs


def _check_protocol(d: dict) -> list[str]:
    p = d["protocol"]
    if not isinstance(p, dict):
        return []
    out = []
    if not is_valid_name(p.get("name")):
        out.append(f"protocol.name must be a protocol name ([a-z0-9][a-z0-9._-]*), got {_short(p.get('name'))}")
    if not isinstance(p.get("version"), str) or not p.get("version"):
        out.append("protocol.version must be a non-empty string")
    if not (isinstance(p.get("sha256"), str) and _HEX64.fullmatch(p["sha256"])):
        out.append("protocol.sha256 must be a sha256 hex digest")
    if p.get("pinned") not in (True, False, None):
        out.append("protocol.pinned must be true, false or null")
    return out


def _check_metrics(d: dict) -> list[str]:
    out = []
    if not isinstance(d["metrics"], dict):
        return out
    for name, v in d["metrics"].items():
        if not isinstance(name, str) or not name:
            out.append(f"metric name {_short(name)} must be a non-empty string")
        elif not _is_num(v):
            out.append(f"metric '{name}' must be a finite number, got {_short(v)}")
        elif not 0.0 <= v <= 1.0:  # every metric of the evaluator is a mean of precisions/APs or an area
            out.append(f"metric '{name}' = {v} is outside [0, 1]")
    ev = d["evaluation"]
    if isinstance(ev, dict):
        k = ev.get("k")
        if not (_is_int(k) and k >= 1):
            out.append(f"evaluation.k must be a positive integer, got {_short(k)}")
        elif f"map@{k}" not in d["metrics"]:
            out.append(f"metrics lack map@{k} (the record's evaluation.k is {k})")
        if ev.get("variant") not in EVALUATION_VARIANTS:
            out.append(f"evaluation.variant must be one of {', '.join(EVALUATION_VARIANTS)}")
        if ev.get("metric_version") != d.get("metric_version"):
            out.append("evaluation.metric_version differs from metric_version")
    return out


def _check_timings(d: dict) -> list[str]:
    t = d["timings"]
    if not isinstance(t, dict):
        return []
    return [f"timing '{k}' must be a finite number >= 0, got {_short(v)}" for k, v in t.items()
            if not (_is_num(v) and v >= 0)]


def _check_complexity(d: dict) -> list[str]:
    c = d["complexity"]
    if not isinstance(c, dict):
        return []
    out = []
    for key in _COMPLEXITY_INT:
        if key in c and c[key] is not None and not (_is_int(c[key]) and c[key] >= 0):
            out.append(f"complexity.{key} must be a non-negative integer or null, got {_short(c[key])}")
    for key in ("params", "flops_per_image"):
        if key not in c:
            out.append(f"complexity.{key} is missing")
    if not isinstance(c.get("counter"), str):
        out.append("complexity.counter must be a string")
    return out


def _check_curves(d: dict) -> list[str]:
    curves = d.get("curves") or {}
    if not isinstance(curves, dict):
        return []
    out = []
    for name, curve in curves.items():
        if not isinstance(curve, dict) or not curve:
            out.append(f"curves.{name} must be an object of equal-length number lists")
            continue
        lengths = set()
        for axis, xs in curve.items():
            if not isinstance(xs, list) or not all(_is_num(x) for x in xs):
                out.append(f"curves.{name}.{axis} must be a list of finite numbers")
            else:
                lengths.add(len(xs))
        if len(lengths) > 1:
            out.append(f"curves.{name} has axes of different lengths {sorted(lengths)}")
    return out


def _check_class_distances(d: dict) -> list[str]:
    cd = d.get("class_distances")
    if cd is None:
        return []
    out = []
    for key in ("unseen", "seen"):
        if not isinstance(cd.get(key), list) or not all(isinstance(x, str) for x in cd[key]):
            out.append(f"class_distances.{key} must be a list of class names")
    m = cd.get("mean_hamming")
    if not out:
        if not isinstance(m, list) or len(m) != len(cd["unseen"]) or any(
                not isinstance(row, list) or len(row) != len(cd["seen"]) for row in m):
            out.append(f"class_distances.mean_hamming must be a {len(cd['unseen'])} x {len(cd['seen'])} list of "
                       "lists (unseen classes x seen classes)")
        elif any(not (_is_num(v) and v >= 0) for row in m for v in row):
            out.append("class_distances.mean_hamming must hold finite non-negative numbers")
    return out


def _check_identity(d: dict) -> list[str]:
    ident = d["identity"]
    if not isinstance(ident, dict):
        return []
    out = []
    try:
        h = identity_hash(ident)
    except (TypeError, ValueError):
        return ["identity is not canonical JSON"]
    if h != d["identity_hash"]:
        out.append("identity_hash does not match the identity (the identity or its hash was edited)")
    expect = {"method": d["method"], "method_version": d["method_version"], "n_bits": d["n_bits"],
              "seed": d["seed"]}
    for key, v in expect.items():
        if ident.get(key) != v:
            out.append(f"identity.{key} ({_short(ident.get(key))}) differs from the record's {key} ({_short(v)})")
    ds = ident.get("dataset")
    if not isinstance(ds, dict) or ds.get("name") != d["dataset"]:
        out.append("identity.dataset.name differs from the record's dataset")
    if isinstance(d["protocol"], dict) and ident.get("protocol") != {k: d["protocol"].get(k) for k in
                                                                       ("name", "version", "sha256", "pinned")}:
        out.append("identity.protocol differs from the record's protocol")
    if ident.get("evaluation") != d["evaluation"]:
        out.append("identity.evaluation differs from the record's evaluation")
    cfg = ident.get("config")
    params = d["params"]
    if not isinstance(cfg, dict) or not isinstance(params, dict) or set(cfg) != set(params):
        out.append("identity.config does not list the same keys as params")
    else:
        for key, v in params.items():
            iv = cfg[key]
            if iv != v and not (isinstance(iv, dict) and "sha256" in iv):  # files appear by fingerprint
                out.append(f"identity.config.{key} ({_short(iv)}) differs from params.{key} ({_short(v)})")
        from zshbench.config import config_hash

        if config_hash(params, exclude=("n_bits", "seed")) != d["config_hash"]:
            out.append("config_hash does not match params (params or config_hash edited)")
        if params.get("n_bits", d["n_bits"]) != d["n_bits"] or params.get("seed", d["seed"]) != d["seed"]:
            out.append("params.n_bits / params.seed differ from the record's n_bits / seed")
    feats = ident.get("features")
    if (feats is None) != (d.get("features") is None):
        out.append("identity.features and features disagree (one is null)")
    return out


def _check_checksum(d: dict) -> list[str]:
    if content_checksum(d) != d["content_sha256"]:
        return ["content_sha256 does not match the content: the record was edited after it was written "
                "(rerun the run to replace it)"]
    return []


# ---- schema conversion ----------------------------------------------------------------------------------

def convert_v1_to_v2(rec: dict) -> dict:
    """Schema 1 -> 2: ``complexity`` is marked "not measured" (version-1 records predate cost measurement)."""
    out = dict(rec)
    out["schema_version"] = 2
    if "complexity" not in out:
        out["complexity"] = {"params": None, "flops_per_image": None, "counter": "none",
                             "note": "not measured: converted from a schema-1 record"}
    return out


def _k_from_metrics(metrics: Mapping[str, Any]) -> int | None:
    ks = sorted({int(m[4:]) for m in metrics if isinstance(m, str) and re.fullmatch(r"map@\d+", m)})
    return ks[0] if len(ks) == 1 else None


def convert_v2_to_v3(rec: dict) -> dict:
    """Schema 2 -> 3: the run identity is rebuilt from the stored fields.

    Version 2 stored neither the dataset's content fingerprint nor whether the protocol matched a pin: both are
    ``null`` in the identity, so a converted record is kept and shown, but a new run never takes it for its own
    (its identity differs) and ``leaderboard --check`` re-checks the protocol hash against the pins. The
    evaluation's k is read from the ``map@K`` metric; the metric set is "default" (every metric the evaluator
    computed at that ``metric_version``). A version-2 record has no checksum: one is computed on conversion, so
    the converted record can be rewritten as version 3.
    """
    out = {k: v for k, v in rec.items() if k not in ("_path",)}
    out["schema_version"] = SCHEMA_VERSION
    out["converted_from"] = 2
    proto = dict(out.get("protocol") or {})
    proto.setdefault("pinned", None)
    out["protocol"] = proto
    feats = out.get("features")
    feat_ident = None
    if isinstance(feats, dict):
        feat_ident = {"spec": feats.get("spec"), "weights": feats.get("weights_fingerprint")}
        if feats.get("timm_version"):
            feat_ident["timm"] = feats["timm_version"]
    info = out.get("dataset_info") or {}
    evaluation = {"k": _k_from_metrics(out.get("metrics") or {}), "metric_version": out.get("metric_version"),
                  "metric_set": "default", "variant": "standard"}
    out["evaluation"] = evaluation
    params = out.get("params") or {}
    try:
        out["identity"] = run_identity(
            method=out.get("method"), method_version=out.get("method_version"), config=params,
            features=feat_ident,
            dataset={"name": out.get("dataset"), "version": info.get("version") if isinstance(info, dict) else None,
                     "fingerprint": None},
            protocol=proto, evaluation=evaluation, n_bits=out.get("n_bits"), seed=out.get("seed"))
        out["identity_hash"] = identity_hash(out["identity"])
    except (TypeError, ValueError):  # broken content: validation reports it
        out.setdefault("identity", None)
        out.setdefault("identity_hash", None)
    for key in ("dataset_info", "split_counts", "metric_conventions", "curves", "extras"):
        if out.get(key) is None:
            out[key] = {}
    out["non_default_params"] = None  # version 2 did not store them (the defaults of that time are unknown)
    _drop_absent(out)
    try:
        out["content_sha256"] = content_checksum(out)
    except (TypeError, ValueError):
        out["content_sha256"] = None
    return out


# old schema version -> converter to the next version (dict -> dict), each tested on a fixture under tests/
CONVERTERS: dict[int, Callable[[dict], dict]] = {1: convert_v1_to_v2, 2: convert_v2_to_v3}


def upgrade_record(rec: dict, where: str = "record") -> dict:
    """Convert a measured record of an older schema version to the current one (the JSON form)."""
    v = rec.get("schema_version")
    if not _is_int(v):
        raise RecordError(f"{where}: no integer schema_version (got {_short(v)}).")
    if v > SCHEMA_VERSION:
        raise RecordError(
            f"{where}: schema_version {v} is newer than this zshbench understands ({SCHEMA_VERSION}); upgrade zshbench."
        )
    if v < 1:
        raise RecordError(f"{where}: schema_version {v} is not a valid version (1..{SCHEMA_VERSION}).")
    while v < SCHEMA_VERSION:
        rec = CONVERTERS[v](rec)
        v = rec["schema_version"]
    return rec


# ---- reading and writing --------------------------------------------------------------------------------

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
        raise RecordError(f"{path}: is {st.st_size:,} bytes, far larger than any {what} "
                          f"(limit {MAX_RECORD_BYTES:,}); it is not a {what}: remove it.")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RECORD_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: is not UTF-8 text (byte {exc.start}); the file is corrupt: rerun the run "
                          "that made it, or remove it.") from None
    if not _json_depth_ok(text):
        raise RecordError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; it is not a {what}: remove it.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); the file is corrupt or "
                          "truncated: rerun the run that made it (zshbench run ... --force), or remove it.") from None
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
        raise RecordError(f"{path}: is a published-numbers record (source: paper), not a measured run; published "
                          "numbers live under leaderboard/reported/.")
    if not isinstance(d, dict):
        raise RecordError(f"{path}: a record must be a JSON object, got {type(d).__name__}.")
    d = upgrade_record(d, str(path))
    problems = validate(d)
    if not problems and d.get("converted_from") is None:
        expected = record_filename(d["n_bits"], d["seed"], d["identity_hash"])
        if path.name != expected:
            problems.append(f"the file name should be {expected} (bits, seed and identity hash of its content): "
                            "the file was renamed or its content edited")
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
                        "leaderboard/reported/).")
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
        raise TypeError(f"write_record expects a zshbench.records.Record, got {type(rec).__name__}; build records "
                        "with Record.create.")
    path = Path(path)
    d = rec.to_dict()
    problems = validate(d)
    if problems:
        raise RecordError.many(str(path), problems)
    text = json.dumps(d, indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())
    return path


# ---- provenance -----------------------------------------------------------------------------------------

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


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features() -> str:
    """The vector extensions that change floating-point kernels (e.g. "avx512" or "avx2")."""
    try:
        flags = next((ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), [])
    except OSError:
        flags = []
    for name in ("avx512f", "avx2", "avx", "sse4_2"):
        if name in flags:
            return name
    return platform.machine()


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions and hardware of this run (stored in every record). Does not import torch: its version is read
    from the installed package metadata, its thread count only when torch is already in use."""
    from importlib import metadata

    import numpy

    import zshbench

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "zshbench": zshbench.__version__,
        "git_commit": _git_commit(),
        "device": device,
        "cpu": cpu_name(),
        "cpu_features": cpu_features(),
        "cpu_count": os.cpu_count(),
    }
    try:
        env["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        pass
    torch = sys.modules.get("torch")
    env["device_name"] = env["cpu"]
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            env["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return env


def iter_metric_names(records: Iterable[Any]) -> list[str]:
    names: set[str] = set()
    for r in records:
        names.update(r["metrics"])
    return sorted(names)
