"""Converters from older record schemas to the current one, each tested on a stored fixture."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from zshbench.errors import RecordError
from zshbench.records.identity import _short, content_checksum, drop_absent, identity_hash, run_identity
from zshbench.records.schema import SCHEMA_VERSION

__all__ = ["CONVERTERS", "convert_v1_to_v2", "convert_v2_to_v3", "upgrade_record"]


def convert_v1_to_v2(rec: dict) -> dict:
    """Schema 1 -> 2: ``complexity`` is marked "not measured" (version-1 records predate cost measurement)."""
    out = dict(rec)
    out["schema_version"] = 2
    if "complexity" not in out:
        out["complexity"] = {
            "params": None,
            "flops_per_image": None,
            "counter": "none",
            "note": "not measured: converted from a schema-1 record",
        }
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
    evaluation = {
        "k": _k_from_metrics(out.get("metrics") or {}),
        "metric_version": out.get("metric_version"),
        "metric_set": "default",
        "variant": "standard",
    }
    out["evaluation"] = evaluation
    params = out.get("params") or {}
    try:
        out["identity"] = run_identity(
            method=out.get("method"),
            method_version=out.get("method_version"),
            config=params,
            features=feat_ident,
            dataset={
                "name": out.get("dataset"),
                "version": info.get("version") if isinstance(info, dict) else None,
                "fingerprint": None,
            },
            protocol=proto,
            evaluation=evaluation,
            n_bits=out.get("n_bits"),
            seed=out.get("seed"),
        )
        out["identity_hash"] = identity_hash(out["identity"])
    except (TypeError, ValueError):  # broken content: validation reports it
        out.setdefault("identity", None)
        out.setdefault("identity_hash", None)
    for key in ("dataset_info", "split_counts", "metric_conventions", "curves", "extras"):
        if out.get(key) is None:
            out[key] = {}
    out["non_default_params"] = None  # version 2 did not store them (the defaults of that time are unknown)
    drop_absent(out)
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
    if not isinstance(v, int) or isinstance(v, bool):
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
