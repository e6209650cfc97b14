"""Alternative splits of a protocol for the split-variance analysis (``zshbench protocol resample``).

Published zero-shot hashing results were often measured on class splits drawn without a recorded seed, so two
papers' "same" protocol can differ in which classes are unseen. `resample` draws such alternatives on purpose:
the same dataset and counts as the base protocol, other unseen classes. They are UNPINNED protocols named
``<base>-rsNN`` (never valid for the leaderboard tables; the report's protocol-effects section compares their
spread with the gaps between methods on the pinned split).

Drawing rule (deterministic, so the alternatives themselves are reproducible): split ``i`` (1-based) permutes the
base protocol's seen + unseen classes with ``numpy.random.default_rng([draw_seed, i])`` and takes the first
``len(unseen)`` as unseen, redrawing (with the next generator state) while the unseen set equals the base's or an
earlier split's. Only the classes change: the counts and the per-class item seed are the base's, so the spread is
that of the class choice alone. A base whose seen queries come from xlsa17's ``test_seen_loc`` (fixed images of
the ORIGINAL seen classes) draws them from the seen classes' other images instead (``seen_query_source = "rest"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zshbench.errors import UserError
from zshbench.protocols.model import Protocol

__all__ = ["resample", "to_toml", "RESAMPLE_MARK", "MAX_SPLITS"]

RESAMPLE_MARK = "-rs"
MAX_SPLITS = 99


def resample(base: Protocol, n: int, draw_seed: int = 0) -> list[Protocol]:
    """``n`` alternative splits of ``base`` (module docstring), named ``<base.name>-rs01`` ... in order.

    Raises:
        UserError: ``n`` outside 1..99, or a base with too few classes for ``n`` distinct unseen sets.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SPLITS:
        raise UserError(f"--n must be an integer from 1 to {MAX_SPLITS} (the number of alternative splits), got {n!r}.")
    if isinstance(draw_seed, bool) or not isinstance(draw_seed, int) or draw_seed < 0:
        raise UserError(f"--draw-seed must be a non-negative integer, got {draw_seed!r}.")
    classes = list(base.seen) + list(base.unseen)
    k = len(base.unseen)
    from math import comb

    if comb(len(classes), k) - 1 < n:
        raise UserError(
            f"Protocol {base.name} has {len(classes)} classes with {k} unseen: there are only "
            f"{comb(len(classes), k) - 1} other unseen sets, fewer than --n {n}. Ask for fewer splits."
        )
    order = {c: i for i, c in enumerate(classes)}
    taken = {frozenset(base.unseen)}
    out = []
    for i in range(1, n + 1):
        rng = np.random.default_rng([draw_seed, i])
        while True:
            perm = rng.permutation(len(classes))
            unseen = frozenset(classes[j] for j in perm[:k])
            if unseen not in taken:
                break
        taken.add(unseen)
        seen = [c for c in classes if c not in unseen]
        name = f"{base.name}{RESAMPLE_MARK}{i:02d}"
        source = "rest"
        note = (
            f"Alternative split {i} of {n} of {base.ref} for the split-variance analysis, drawn by "
            f"`zshbench protocol resample {base.ref} --n {n} --draw-seed {draw_seed}` (zshbench.protocols.resample: "
            f"default_rng([{draw_seed}, {i}]) permutes the classes; the first {k} are unseen). Same dataset, "
            "counts and per-class item seed as the base; other unseen classes. UNPINNED: not for the "
            "leaderboard tables."
        )
        if base.seen_query_per_class and base.seen_query_source != "rest":
            note += (
                f" The base draws its seen queries from {base.seen_query_source}; here they come from the seen "
                "classes' images outside train (seen_query_source = rest)."
            )
        out.append(
            Protocol(
                name=name,
                version="1",
                dataset=base.dataset,
                seen=tuple(sorted(seen, key=order.get)),
                unseen=tuple(sorted(unseen, key=order.get)),
                train_per_class=base.train_per_class,
                query_per_class=base.query_per_class,
                database=base.database,
                seed=base.seed,
                seen_query_per_class=base.seen_query_per_class,
                seen_query_source=source,
                provenance=note,
            )
        )
    return out


def to_toml(p: Protocol) -> str:
    """The protocol file text of ``p`` (the format `zshbench.protocols.load_protocol` reads)."""
    q = json.dumps
    lines = [f"name = {q(p.name)}", f"version = {q(p.version)}", f"dataset = {q(p.dataset)}", f"seed = {p.seed}"]
    if p.seen_query_per_class:
        lines.append(f"seen_query_source = {q(p.seen_query_source)}")
    lines.append(f"provenance = {q(' '.join(p.provenance.split()))}")
    for key, names in (("seen", p.seen), ("unseen", p.unseen)):
        lines.append(f"{key} = [")
        lines += [f"    {q(c)}," for c in names]
        lines.append("]")
    lines += ["", "[counts]", f"train_per_class = {p.train_per_class}", f"query_per_class = {p.query_per_class}"]
    if p.seen_query_per_class:
        lines.append(f"seen_query_per_class = {p.seen_query_per_class}")
    lines.append(f"database = {q(p.database) if isinstance(p.database, str) else p.database}")
    return "\n".join(lines) + "\n"


def write_resampled(protocols: list[Protocol], out: str | Path, *, force: bool = False) -> list[Path]:
    """Write each protocol to ``out/<name>.toml`` (atomic). An existing file with other content is refused
    unless ``force`` (nothing is written then)."""
    from zshbench.fileio import atomic_write_bytes
    from zshbench.paths import check_writable_dir, inside

    out = check_writable_dir(out, "--out")
    texts = {inside(out, f"{p.name}.toml"): to_toml(p) for p in protocols}
    clash = [str(path) for path, t in texts.items() if path.exists() and path.read_bytes() != t.encode()]
    if clash and not force:
        raise UserError(
            f"{len(clash)} protocol file(s) already exist with other content: {', '.join(clash[:3])}"
            + (" ..." if len(clash) > 3 else "")
            + ". Records of those splits would no longer match their file. Choose another --out, another "
            "--draw-seed, or pass --force to overwrite."
        )
    for path, t in texts.items():
        atomic_write_bytes(path, t.encode())
    return list(texts)
