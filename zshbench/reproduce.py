"""Re-run recorded runs and compare their numbers: the check that a code change which alters a method's numbers
also bumps its ``version`` (``zshbench leaderboard --check --reproduce``, which ``make leaderboard-check`` runs).

* Every record of a feature-based (shallow) method in the checked tree is recomputed (seconds each): its
  identity under today's code must equal the stored one (else the record is stale: the code would now run
  something else under the same settings), and its metrics must be reproduced.
* Deep methods take minutes per run, so they are checked on a sample: the reference records under
  ``leaderboard/reference/`` (short runs of the committed grid's methods, made with the same command as the
  grid, a few optimizer steps each) are re-run the same way.

Exactness. On the CPU that made a record (same model name and vector extensions, one thread, as the grid runs)
the metrics must be equal to the last bit. Another CPU family computes the same floating-point operations with
other kernels (OpenBLAS / oneDNN pick different code paths for AVX2 and AVX-512), which can flip a code bit
that sits within rounding of zero: there the check allows ``OTHER_CPU_TOLERANCE`` (shallow) and
``OTHER_CPU_TOLERANCE_DEEP`` (deep reference runs) and says so. Measured: the shallow grid reproduced bit for
bit between an Intel Xeon and an AMD EPYC with AVX-512; 20-30 training steps of RAZH / COMAE differed by 3.6e-5
/ 9.8e-3 in map@5000 between the same two machines, which is why the deep references train for 3 steps.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from zshbench.records import Record, cpu_features, cpu_name, identity_difference

__all__ = ["reproduce", "Outcome", "OTHER_CPU_TOLERANCE", "OTHER_CPU_TOLERANCE_DEEP", "same_cpu"]

OTHER_CPU_TOLERANCE = 1e-4
OTHER_CPU_TOLERANCE_DEEP = 2e-2


@dataclasses.dataclass
class Outcome:
    """The result of re-running one record."""

    path: str
    status: str  # "exact", "within-tolerance", "differs", "stale", "skipped"
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("exact", "within-tolerance", "skipped")


def same_cpu(rec: Record) -> bool:
    env = rec.environment
    return env.get("cpu") == cpu_name() and env.get("cpu_features", cpu_features()) == cpu_features()


def _group_key(rec: Record) -> tuple:
    params = {k: v for k, v in rec.params.items() if k not in ("n_bits", "seed")}
    feats = (rec.identity.get("features") or {}).get("spec")
    p = rec.protocol  # name@version: a record of an older pinned version re-runs that version, not the newest
    proto = f"{p['name']}@{p['version']}" if p.get("pinned") is not False and p.get("version") else p["name"]
    return (
        rec.method,
        rec.dataset,
        proto,
        tuple(sorted((k, repr(v)) for k, v in params.items())),
        feats,
        rec.k,
        rec.evaluation.get("variant", "standard"),
    )


def _compare(rec: Record, new: Record, tol: float) -> tuple[str, str]:
    keys = sorted(set(rec.metrics) | set(new.metrics))
    diffs = {k: abs(rec.metrics.get(k, float("nan")) - new.metrics.get(k, float("nan"))) for k in keys}
    worst = max(diffs.items(), key=lambda kv: (kv[1] != kv[1], kv[1]))  # NaN (missing metric) first
    if all(d == 0 for d in diffs.values()):
        return "exact", ""
    if worst[1] == worst[1] and worst[1] <= tol:
        return "within-tolerance", f"max |difference| {worst[1]:.2e} ({worst[0]}) on another CPU (tolerance {tol:g})"
    name = worst[0]
    return "differs", (
        f"{name}: recorded {rec.metrics.get(name)!r}, now {new.metrics.get(name)!r}; the code changes "
        f"this method's numbers: bump {rec.method}'s version and re-run its records"
    )


def reproduce(
    records: Iterable[Record],
    *,
    deep: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    data_root: str | None = None,
    protocol_dirs: Iterable[str | Path] = (),
) -> list[Outcome]:
    """Re-run ``records`` and compare (see the module docstring).

    Args:
        records: records to re-run; records of image (deep) methods are only re-run with ``deep=True`` (the
            reference sample), others are reported "skipped".
        deep: re-run deep-method records too.
        on_outcome: called after each record (progress).
        data_root: for datasets that read files.
        protocol_dirs: folders holding the files of unpinned protocols (``<name>.toml``, e.g. the resampled
            splits in ``leaderboard/protocols/``): a record of an unpinned protocol is re-run when one of them
            holds a file of that name with the record's content sha256, and skipped otherwise.

    Returns:
        one `Outcome` per record, in the order given.
    """
    import threadpoolctl

    from zshbench.errors import UserError
    from zshbench.registry import METHODS, get_method
    from zshbench.runner import build_trainset, prepare, run_one
    from zshbench.runner.execute import _features, _inputs

    records = list(records)
    outcomes: dict[int, Outcome] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    files = _unpinned_files(protocol_dirs)
    for i, rec in enumerate(records):
        if rec.method not in METHODS:
            outcomes[i] = Outcome(str(rec.path), "skipped", f"method '{rec.method}' is not registered here")
        elif get_method(rec.method).requires.inputs == "images" and not deep:
            outcomes[i] = Outcome(str(rec.path), "skipped", "deep method: checked by the reference sample")
        elif rec.protocol.get("pinned") is False and (rec.protocol["name"], rec.protocol["sha256"]) not in files:
            outcomes[i] = Outcome(str(rec.path), "skipped", "unpinned (user) protocol: its file is not at hand")
        elif str((rec.identity.get("features") or {}).get("spec", "")).startswith("timm:"):
            outcomes[i] = Outcome(str(rec.path), "skipped", "backbone features: the weights file is not at hand")
        else:
            key = _group_key(rec)
            if rec.protocol.get("pinned") is False:
                key = (*key[:2], files[(rec.protocol["name"], rec.protocol["sha256"])], *key[3:])
            groups[key].append(i)
    tmp = tempfile.mkdtemp(prefix="zshbench-reproduce-")
    with threadpoolctl.threadpool_limits(1):
        torch = None
        if deep:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
        try:
            for key, idx in groups.items():
                method, dataset, protocol, params, spec, k, variant = key
                first = records[idx[0]]
                overrides = {p: v for p, v in first.params.items() if p not in ("n_bits", "seed")}
                try:
                    prep = prepare(
                        method,
                        dataset,
                        protocol=protocol,
                        bits=[first.n_bits],
                        seeds=[first.seed],
                        device="cpu",
                        overrides=overrides,
                        features=spec or "auto",
                        k=k,
                        data_root=data_root,
                        eval_variant=variant,
                    )
                except UserError as exc:
                    for i in idx:
                        outcomes[i] = Outcome(str(records[i].path), "stale", f"cannot be prepared today: {exc}")
                    continue
                feats = _features(prep, None, None) if prep.feature_spec else None
                train = build_trainset(prep.dataset, prep.split, feats["train"] if feats else None)
                q_in, db_in, sq_in = _inputs(prep, feats)
                for i in idx:
                    rec = records[i]
                    slot = prep.slot(tmp, rec.n_bits, rec.seed)
                    if slot.id_hash != rec.identity_hash:
                        diff = "; ".join(identity_difference(rec.identity, slot.identity))
                        outcomes[i] = Outcome(
                            str(rec.path), "stale", f"today's code gives this run another identity ({diff}): re-run it"
                        )
                    else:
                        t0 = time.perf_counter()
                        new = run_one(slot, prep, train, q_in, db_in, sq_in=sq_in)
                        deep_rec = get_method(rec.method).requires.inputs == "images"
                        tol = 0.0 if same_cpu(rec) else (OTHER_CPU_TOLERANCE_DEEP if deep_rec else OTHER_CPU_TOLERANCE)
                        status, msg = _compare(rec, new, tol)
                        outcomes[i] = Outcome(str(rec.path), status, msg, time.perf_counter() - t0)
                    if on_outcome:
                        on_outcome(outcomes[i])
        finally:
            if torch is not None:
                torch.set_num_threads(threads)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return [outcomes[i] for i in range(len(records))]


def _unpinned_files(dirs: Iterable[str | Path]) -> dict[tuple[str, str], str]:
    """(protocol name, content sha256) -> path, for the valid protocol files in ``dirs``."""
    from zshbench.errors import UserError
    from zshbench.protocols import parse_protocol_file

    out: dict[tuple[str, str], str] = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*.toml")) if Path(d).is_dir() else ():
            try:
                p = parse_protocol_file(f)
            except UserError:
                continue
            out.setdefault((p.name, p.sha256), str(f))
    return out


def reference_dir(leaderboard_dir: str | Path) -> Path:
    return Path(leaderboard_dir) / "reference"


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        counts[o.status] += 1
    return dict(counts)
