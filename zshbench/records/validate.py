"""Validation of a measured record's JSON: the type and range of every field, the consistency of the identity
with the fields it covers, and the content checksum. `validate` lists every problem and never raises."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from zshbench.paths import is_valid_name
from zshbench.records.identity import _short, content_checksum, identity_hash
from zshbench.records.schema import (
    EVALUATION_VARIANTS,
    HEX12,
    HEX64,
    MAX_BITS,
    MAX_SEED,
    MIN_BITS,
    SCHEMA_VERSION,
    SETTING_NAMES,
    UTC,
)

__all__ = ["validate"]


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
    "config_hash": (lambda v: isinstance(v, str) and HEX12.fullmatch(v) is not None, "12 hex digits", True),
    "dataset": (is_valid_name, "a dataset name ([a-z0-9][a-z0-9._-]*)", True),
    "protocol": (lambda v: isinstance(v, dict), "an object", True),
    "split_fingerprint": (
        lambda v: isinstance(v, str) and HEX64.fullmatch(v) is not None and v != "0" * 64,
        "a sha256 hex digest (not all zeros)",
        True,
    ),
    "n_bits": (lambda v: _is_int(v) and MIN_BITS <= v <= MAX_BITS, f"an integer in {MIN_BITS}..{MAX_BITS}", True),
    "seed": (lambda v: _is_int(v) and 0 <= v <= MAX_SEED, f"an integer in 0..{MAX_SEED}", True),
    "metrics": (lambda v: isinstance(v, dict) and len(v) > 0, "a non-empty object", True),
    "metric_version": (lambda v: isinstance(v, str) and v != "", "a non-empty string", True),
    "evaluation": (lambda v: isinstance(v, dict), "an object", True),
    "identity": (lambda v: isinstance(v, dict), "an object", True),
    "identity_hash": (lambda v: isinstance(v, str) and HEX64.fullmatch(v) is not None, "a sha256 hex digest", True),
    "timings": (lambda v: isinstance(v, dict), "an object", True),
    "complexity": (lambda v: isinstance(v, dict), "an object", True),
    "environment": (lambda v: isinstance(v, dict), "an object", True),
    "created_utc": (
        lambda v: isinstance(v, str) and UTC.fullmatch(v) is not None,
        "a UTC time like 2026-01-31T12:00:00Z",
        True,
    ),
    "zshbench_version": (lambda v: isinstance(v, str) and v != "", "a non-empty string", True),
    "content_sha256": (lambda v: isinstance(v, str) and HEX64.fullmatch(v) is not None, "a sha256 hex digest", True),
    "dataset_info": (lambda v: isinstance(v, dict), "an object", True),
    "split_counts": (
        lambda v: isinstance(v, dict) and all(_is_int(x) and x >= 0 for x in v.values()),
        "an object of non-negative integers",
        True,
    ),
    "metric_conventions": (
        lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        "an object of strings",
        True,
    ),
    "curves": (lambda v: isinstance(v, dict), "an object", True),
    "features": (lambda v: v is None or isinstance(v, dict), "an object or null", False),
    "extras": (lambda v: isinstance(v, dict), "an object", True),
    "class_distances": (lambda v: v is None or isinstance(v, dict), "an object or null", False),
    "non_default_params": (lambda v: v is None or isinstance(v, dict), "an object (null: not recorded)", True),
    "pretraining": (
        lambda v: (
            v is None
            or (isinstance(v, dict) and isinstance(v.get("label_set"), str) and isinstance(v.get("overlap", []), list))
        ),
        "null or an object with label_set and overlap",
        False,
    ),
    "settings": (lambda v: v is None or isinstance(v, dict), "null or an object of settings", False),
    "per_query": (
        lambda v: (
            v is None
            or (
                isinstance(v, dict)
                and isinstance(v.get("file"), str)
                and isinstance(v.get("sha256"), str)
                and HEX64.fullmatch(v["sha256"]) is not None
                and isinstance(v.get("keys"), list)
            )
        ),
        "null or an object with file, sha256 and keys",
        False,
    ),
    "per_class": (
        lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("unseen"), list)),
        "null or an object with unseen classes and per-class values",
        False,
    ),
    "converted_from": (
        lambda v: v is None or (_is_int(v) and 1 <= v < SCHEMA_VERSION),
        f"null or a schema version below {SCHEMA_VERSION}",
        False,
    ),
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
    for check in (
        _check_protocol,
        _check_metrics,
        _check_settings,
        _check_timings,
        _check_complexity,
        _check_curves,
        _check_class_distances,
        _check_identity,
        _check_checksum,
    ):
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
    if not (isinstance(p.get("sha256"), str) and HEX64.fullmatch(p["sha256"])):
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


def _check_settings(d: dict) -> list[str]:
    st = d.get("settings")
    out = []
    for name, metrics in (st if isinstance(st, dict) else {}).items():
        if name not in SETTING_NAMES:
            out.append(f"settings.{name}: unknown setting (the settings are {', '.join(SETTING_NAMES)})")
        elif not isinstance(metrics, dict) or not metrics:
            out.append(f"settings.{name} must be a non-empty object of metrics")
        else:
            out += [
                f"settings.{name}.{m} = {_short(v)} must be a number in [0, 1]"
                for m, v in metrics.items()
                if not (_is_num(v) and 0.0 <= v <= 1.0)
            ]
    pc = d.get("per_class")
    if isinstance(pc, dict):
        n = len(pc.get("unseen", []))
        for key, vals in pc.items():
            if key in ("unseen", "distance"):
                continue
            if not isinstance(vals, list) or len(vals) != n or not all(_is_num(v) and v >= 0 for v in vals):
                out.append(f"per_class.{key} must list {n} non-negative numbers (one per unseen class)")
    pq = d.get("per_query")
    if isinstance(pq, dict) and not str(pq.get("file", "")).endswith(".perquery.npz"):
        out.append("per_query.file must name the record's .perquery.npz sidecar")
    return out


def _check_timings(d: dict) -> list[str]:
    t = d["timings"]
    if not isinstance(t, dict):
        return []
    return [
        f"timing '{k}' must be a finite number >= 0, got {_short(v)}"
        for k, v in t.items()
        if not (_is_num(v) and v >= 0)
    ]


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
        if (
            not isinstance(m, list)
            or len(m) != len(cd["unseen"])
            or any(not isinstance(row, list) or len(row) != len(cd["seen"]) for row in m)
        ):
            out.append(
                f"class_distances.mean_hamming must be a {len(cd['unseen'])} x {len(cd['seen'])} list of "
                "lists (unseen classes x seen classes)"
            )
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
    expect = {"method": d["method"], "method_version": d["method_version"], "n_bits": d["n_bits"], "seed": d["seed"]}
    for key, v in expect.items():
        if ident.get(key) != v:
            out.append(f"identity.{key} ({_short(ident.get(key))}) differs from the record's {key} ({_short(v)})")
    ds = ident.get("dataset")
    if not isinstance(ds, dict) or ds.get("name") != d["dataset"]:
        out.append("identity.dataset.name differs from the record's dataset")
    if isinstance(d["protocol"], dict) and ident.get("protocol") != {
        k: d["protocol"].get(k) for k in ("name", "version", "sha256", "pinned")
    }:
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
        return [
            "content_sha256 does not match the content: the record was edited after it was written "
            "(rerun the run to replace it)"
        ]
    return []
