"""Helpers shared by the leaderboard's tables and the reported-numbers section."""

from __future__ import annotations

import math
from collections import defaultdict

__all__ = ["mean_std", "row_labels", "table_keys"]


def mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def row_labels(records: list) -> dict[int, str]:
    """Row label of each record: the method, plus the config hash when the method has several configs in its
    table (`table_keys`)."""
    keys = table_keys(records)
    configs: dict[tuple, set[str]] = defaultdict(set)
    feats: dict[tuple, set[str]] = defaultdict(set)
    for key, r in zip(keys, records):
        configs[(key, r["method"])].add(r["config_hash"])
        feats[(key, r["method"])].add(features_label(r))
    out = {}
    for i, (key, r) in enumerate(zip(keys, records)):
        label = r["method"]
        if len(configs[(key, r["method"])]) > 1:
            label += f" [{r['config_hash'][:6]}]"
        if len(feats[(key, r["method"])]) > 1:
            label += f" ({features_label(r)})"
        out[i] = label
    return out


def features_label(r) -> str:
    """The feature stage of a record in a few characters: "pixels", "timm:resnet18 sha256:1a2b3c4d", "-"."""
    ident = r.get("identity") or {}
    f = ident.get("features") if isinstance(ident, dict) else None
    if not isinstance(f, dict):
        return "-"
    w = f.get("weights")
    return f["spec"] + (f" {str(w)[:15]}" if w else "")


def _dataset_fp(r) -> str | None:
    ident = r.get("identity") or {}
    ds = ident.get("dataset") if isinstance(ident, dict) else None
    if not isinstance(ds, dict):
        return None
    return str(ds.get("content") or ds.get("fingerprint") or "") or None


def table_keys(records: list) -> list[tuple[str, str]]:
    """(dataset label, protocol label) of the table each record belongs to.

    Records share a table only when they ran on the same dataset content and the same protocol content: a
    dataset name that occurs with several content fingerprints (two folders both named ``pets``) gets the
    fingerprint's first 8 hex digits in its label; a protocol gets its version when several versions occur, and
    an unpinned protocol (a user's folder protocol, an edited copy) is labelled with its content hash, so it is
    never averaged with a pinned one of the same name.
    """
    ds_fps: dict[str, set] = defaultdict(set)
    versions: dict[str, set] = defaultdict(set)
    for r in records:
        ds_fps[r["dataset"]].add(_dataset_fp(r))
        versions[r["protocol"]["name"]].add(r["protocol"]["version"])
    out = []
    for r in records:
        ds = r["dataset"]
        if len(ds_fps[ds]) > 1:
            fp = _dataset_fp(r)
            ds = f"{ds}@{fp[:8] if fp else 'unknown'}"
        p = r["protocol"]
        label = p["name"]
        if len(versions[p["name"]]) > 1:
            label += f"-v{p['version']}"
        if p.get("pinned") is False:
            label += f"@unpinned-{str(p.get('sha256', ''))[:8]}"
        out.append((ds, label))
    return out
