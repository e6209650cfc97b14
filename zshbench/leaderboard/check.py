"""What makes ``zshbench leaderboard --check`` fail: invalid, stale or conflicting records, records whose protocol
does not match its pin or whose split differs from the others of their protocol version, and generated files
that no longer match the records (hand edits, stale reports).

This is the one leaderboard module that reads the code (the registry: method versions, and which methods are
registered variants, `method_variants`, which the report needs for its "Ablations and variants" section):
staleness is a comparison of records with today's code. The tables themselves never do (`zshbench.leaderboard.tables`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from zshbench.leaderboard.report import DEFAULT_METRICS, report_files, stale_files, sync_headline
from zshbench.leaderboard.tables import _dataset_fp, features_label, image_size
from zshbench.records import Record

__all__ = ["record_key", "conflicts", "stale", "protocol_problems", "check", "method_variants"]


def record_key(r: Record) -> tuple:
    """The cell a record fills: its table, row (method, config, features), code length, seed and k."""
    p = r.protocol
    return (
        r.dataset,
        _dataset_fp(r),
        image_size(r),
        p["name"],
        p["version"],
        p.get("sha256"),
        r.method,
        r.config_hash,
        features_label(r),
        r.n_bits,
        r.seed,
        r.k,
        r.evaluation.get("variant", "standard"),
    )


def method_variants(records: Sequence[Record]) -> dict[str, str | None]:
    """Method -> the method it is a registered variant of (None: not a variant, or not registered here), for the
    methods of ``records``; read from the registry (``Hasher.variant_of``). The report puts variants' runs in its
    "Ablations and variants" section (`zshbench.leaderboard.ablations`)."""
    import warnings

    from zshbench.registry import get_method

    out: dict[str, str | None] = {}
    missing = []
    for name in sorted({r.method for r in records}):
        try:
            out[name] = getattr(get_method(name), "variant_of", None) or None
        except Exception:  # an unregistered or broken plugin: its runs are ranked as their own method
            out[name] = None
            missing.append(name)
    if missing:
        warnings.warn(
            f"method(s) {', '.join(missing)} of these records are not installed here, so zshbench cannot tell "
            "whether they are registered variants of another method: their runs are ranked as methods of their "
            "own. Install the plugin that provides them to tabulate them as it intends.",
            stacklevel=2,
        )
    return out


def conflicts(records: Sequence[Record]) -> list[str]:
    """Messages for records that fill one cell (same table, row, code length, seed and k) with different
    identities: the leaderboard would average two different experiments."""
    seen: dict[tuple, str] = {}
    out = []
    for r in records:
        k = record_key(r)
        if k in seen:
            out.append(
                f"conflict: {r.path} and {seen[k]} are two runs of one cell ({r.method}, "
                f"{r.dataset}/{r.protocol['name']}, {r.n_bits} bits, seed {r.seed}) with different "
                "identities (e.g. another method version, or a record converted from an older schema beside "
                "its rerun): keep one"
            )
        else:
            seen[k] = r.path or "?"
    return out


def stale(records: Sequence[Record]) -> list[str]:
    """Messages for records made by an older method version or evaluator metric version than the code's."""
    from zshbench.evaluate import METRIC_VERSION
    from zshbench.registry import METHODS, get_method

    out = []
    for r in records:
        where = r.path or r.method
        if r.method in METHODS:
            v = str(get_method(r.method).version)
            if str(r.method_version) != v:
                out.append(f"stale: {where} was made by {r.method} version {r.method_version}, the code is version {v}")
        else:
            out.append(f"stale: {where} is from method '{r.method}', which is not registered")
        if str(r.metric_version) != str(METRIC_VERSION):
            out.append(f"stale: {where} has metric_version {r.metric_version}, the evaluator is {METRIC_VERSION}")
    return out


def protocol_problems(records: Sequence[Record]) -> list[str]:
    """Records whose protocol does not match its pin (an edited copy filed under a pinned name), and records of
    one protocol version on one dataset whose splits differ (which a fixed protocol cannot produce)."""
    from zshbench.protocols import check_pin

    out = []
    splits: dict[tuple, dict[str, str]] = defaultdict(dict)
    for r in records:
        p = r.protocol
        msg = check_pin(p["name"], p["version"], p["sha256"])
        if msg:
            out.append(
                f"unpinned: {r.path}: {msg}; records of a pinned protocol must come from its pinned "
                "file (rerun with the built-in protocol, or rename the edited protocol)"
            )
        key = (r.dataset, _dataset_fp(r), p["name"], p["version"], p["sha256"])
        splits[key].setdefault(r.split_fingerprint, r.path or "?")
    for (ds, _, name, version, _), fps in sorted(splits.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if len(fps) > 1:
            shown = "; ".join(f"{fp[:12]} ({path})" for fp, path in sorted(fps.items())[:3])
            out.append(
                f"split: records of protocol {name} v{version} on {ds} have {len(fps)} different split "
                f"fingerprints ({shown}): one protocol version on one dataset must give one split"
            )
    return out


def check(
    records: Sequence[Record],
    errors: list,
    out: str | Path,
    metrics=DEFAULT_METRICS,
    reported: list[dict] | None = None,
    reported_errors: list | None = None,
    readme: str | Path | None = None,
    regenerate_cmd: str = "",
) -> list[str]:
    """Problems that make ``zshbench leaderboard --check`` fail (empty list = all good); ``readme``: also
    compare that file's headline block (`sync_headline`); ``regenerate_cmd``: the command the report was made
    to print (`zshbench.leaderboard.report.regenerate_command`; default: the committed leaderboard's)."""
    from zshbench.paths import inside

    problems = [f"invalid record: {e}" for e in errors]
    problems += [f"invalid reported record: {e}" for e in (reported_errors or [])]
    problems += conflicts(records) + stale(records) + protocol_problems(records)
    out = Path(out)
    variant_of = method_variants(records)
    texts = report_files(records, metrics, regenerate_cmd=regenerate_cmd, reported=reported, variant_of=variant_of)
    for f in stale_files(out, records, set(texts), variant_of):
        problems.append(
            f"stale: {f} is not generated from these records (a leftover of an earlier report, or added by hand); "
            "regenerate with zshbench report, which removes it"
        )
    for rel, text in texts.items():
        p = inside(out, rel)
        if not p.exists():
            problems.append(f"missing: {p} (regenerate with zshbench report)")
        elif p.read_text() != text:
            old, new = p.read_text().splitlines(), text.splitlines()
            diff = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
            problems.append(f"differs: {p} line {diff + 1} does not match the records (edited by hand or stale)")
    if readme is not None:
        msg = sync_headline(readme, records, write=False, variant_of=variant_of)
        if msg:
            problems.append(msg)
    return problems
