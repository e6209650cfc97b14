"""Protocols: fixed, versioned seen/unseen splits as data files, and their resolution to index arrays.

A protocol file ``protocols/<name>.toml`` lists class NAMES (never positions)::

    name = "shapes-zsh"
    version = "1"
    dataset = "shapes"
    seed = 0
    provenance = "..."
    seen = ["...", ...]
    unseen = ["...", ...]
    [counts]
    train_per_class = 100      # seen classes only
    query_per_class = 20       # unseen classes only
    database = "rest"          # every item not in train or query (or an int: that many per class)

Resolution is deterministic: the items of each class are permuted by a generator seeded with
``sha256(seed, class name)``, so a class's split does not depend on the other classes or their order. Train
takes the first ``train_per_class`` items of each seen class, query the first ``query_per_class`` items of each
unseen class, and the database the remaining items of all classes. The resolver then asserts the invariants
that make leaks impossible: train, query and database are pairwise disjoint, train holds seen classes only,
query unseen classes only. The split fingerprint is sha256 over the three sorted index arrays.

Every protocol file's content is pinned in ``pins.json`` (sha256 per name and version): editing a protocol
without bumping its version fails loading, so records of one (name, version) always mean one split.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import DataError, UnknownNameError, UserError
from zshbench.registry import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Protocol", "Split", "list_protocols", "load_protocol", "resolve", "protocol_dir"]

PROTOCOL_DIR = Path(__file__).resolve().parent
_EXTRA_DIRS: list[Path] = []


def protocol_dir() -> Path:
    return PROTOCOL_DIR


@dataclass(frozen=True)
class Protocol:
    """A parsed protocol file."""

    name: str
    version: str
    dataset: str
    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    train_per_class: int
    query_per_class: int
    database: str | int = "rest"
    seed: int = 0
    provenance: str = ""
    path: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, path: str = "", sha256: str = "") -> "Protocol":
        where = f"protocol file {path}" if path else "protocol"
        required = ("name", "version", "dataset", "seen", "unseen", "counts")
        missing = [k for k in required if k not in d]
        if missing:
            raise UserError(f"The {where} lacks the key(s) {', '.join(missing)}; required: {', '.join(required)}.")
        counts = d["counts"]
        for k in ("train_per_class", "query_per_class"):
            if not isinstance(counts.get(k), int) or counts[k] < 0:
                raise UserError(f"The {where}: counts.{k} must be a non-negative integer, got {counts.get(k)!r}.")
        db = counts.get("database", "rest")
        if not (db == "rest" or (isinstance(db, int) and db > 0)):
            raise UserError(f"The {where}: counts.database must be \"rest\" or a positive integer, got {db!r}.")
        seen, unseen = tuple(d["seen"]), tuple(d["unseen"])
        for label, names in (("seen", seen), ("unseen", unseen)):
            if not names:
                raise UserError(f"The {where} has an empty {label} class list.")
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise UserError(f"The {where} lists {label} class(es) twice: {', '.join(dups)}.")
        overlap = sorted(set(seen) & set(unseen))
        if overlap:
            raise UserError(
                f"The {where} lists {len(overlap)} class(es) as both seen and unseen: {', '.join(overlap)}. "
                "A zero-shot protocol needs disjoint seen and unseen classes."
            )
        extra = {k: v for k, v in d.items() if k not in (*required, "seed", "provenance")}
        return cls(
            name=str(d["name"]), version=str(d["version"]), dataset=str(d["dataset"]), seen=seen, unseen=unseen,
            train_per_class=counts["train_per_class"], query_per_class=counts["query_per_class"], database=db,
            seed=int(d.get("seed", 0)), provenance=str(d.get("provenance", "")).strip(), path=path, sha256=sha256,
            extra=extra,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "dataset": self.dataset, "n_seen": len(self.seen),
            "n_unseen": len(self.unseen), "train_per_class": self.train_per_class,
            "query_per_class": self.query_per_class, "database": self.database, "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Split:
    """A protocol resolved on a dataset: index arrays into the dataset and the class bookkeeping."""

    protocol: Protocol
    train: np.ndarray
    query: np.ndarray
    database: np.ndarray
    seen_classes: np.ndarray  # dataset class indices, in protocol order
    unseen_classes: np.ndarray
    fingerprint: str

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "query": len(self.query), "database": len(self.database)}


def content_sha256(d: dict[str, Any]) -> str:
    """sha256 of the parsed protocol (canonical JSON): comments and whitespace do not change it."""
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _pins() -> dict[str, str]:
    p = PROTOCOL_DIR / "pins.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _protocol_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for d in [PROTOCOL_DIR, *_EXTRA_DIRS]:
        for f in sorted(d.glob("*.toml")):
            files[f.stem] = f
    return files


def add_protocol_dir(path: str | Path) -> None:
    """Make the protocol files of ``path`` available by name (users' own protocols; not pinned)."""
    _EXTRA_DIRS.append(Path(path))


def list_protocols() -> list[str]:
    return sorted(_protocol_files())


def parse_protocol_file(path: str | Path) -> Protocol:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Protocol file {path} does not exist.")
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Protocol file {path} is not valid TOML: {exc}.") from None
    return Protocol.from_dict(d, path=str(path), sha256=content_sha256(d))


def load_protocol(name_or_path: str) -> Protocol:
    """Load a protocol by name (``shapes-zsh``) or by path to a ``.toml`` file.

    Built-in protocols are checked against ``pins.json``: a file whose content changed without a new version
    is refused.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return parse_protocol_file(name_or_path)
    files = _protocol_files()
    if name_or_path not in files:
        raise UnknownNameError(did_you_mean(name_or_path, sorted(files), "protocol"))
    path = files[name_or_path]
    proto = parse_protocol_file(path)
    if proto.name != name_or_path:
        raise UserError(f"Protocol file {path} declares name '{proto.name}', but its file name says '{name_or_path}'.")
    if path.parent == PROTOCOL_DIR:
        pin = _pins().get(f"{proto.name}@{proto.version}")
        if pin is None:
            raise UserError(
                f"Protocol '{proto.name}' version {proto.version} is not pinned in {PROTOCOL_DIR / 'pins.json'}. "
                "Built-in protocols are versioned data: add the pin (zshbench protocol pin) with a new version."
            )
        if pin != proto.sha256:
            raise UserError(
                f"Protocol file {path} does not match its pin for version {proto.version} (sha256 {proto.sha256[:12]} "
                f"!= {pin[:12]}): it was edited without a new version. Restore the file, or bump 'version' and pin it."
            )
    return proto


def pin_protocol(name: str) -> str:
    """Record the sha256 of built-in protocol ``name`` at its current version in ``pins.json`` (maintainers).

    Refuses to overwrite the pin of an existing version with another hash: a changed protocol needs a new
    version.
    """
    path = _protocol_files().get(name)
    if path is None or path.parent != PROTOCOL_DIR:
        raise UnknownNameError(did_you_mean(name, list_protocols(), "built-in protocol"))
    proto = parse_protocol_file(path)
    pins = _pins()
    key = f"{proto.name}@{proto.version}"
    if key in pins and pins[key] != proto.sha256:
        raise UserError(
            f"Protocol '{proto.name}' version {proto.version} is already pinned with another content hash; "
            "bump its version to change it."
        )
    pins[key] = proto.sha256
    (PROTOCOL_DIR / "pins.json").write_text(json.dumps(dict(sorted(pins.items())), indent=2) + "\n")
    return proto.sha256


def _class_rng(seed: int, class_name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{class_name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def fingerprint(train: np.ndarray, query: np.ndarray, database: np.ndarray) -> str:
    h = hashlib.sha256()
    for part in (train, query, database):
        h.update(np.sort(np.asarray(part, dtype=np.int64)).tobytes())
        h.update(b"|")
    return h.hexdigest()


def resolve(protocol: Protocol, dataset) -> Split:
    """Resolve ``protocol`` on ``dataset`` into train / query / database index arrays.

    Raises:
        DataError: class names missing from the dataset, or a class with too few items for the counts.
        RuntimeError: a violated leak invariant (a bug, never expected).
    """
    names = dataset.class_names
    index = {n: i for i, n in enumerate(names)}
    missing = [c for c in (*protocol.seen, *protocol.unseen) if c not in index]
    if missing:
        import difflib

        hints = []
        for m in missing[:3]:
            close = difflib.get_close_matches(m, names, n=1)
            hints.append(f"'{m}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise DataError(
            f"Protocol '{protocol.name}' names {len(missing)} class(es) that dataset '{dataset.name}' does not have: "
            f"{', '.join(hints)}{' ...' if len(missing) > 3 else ''}. Is this the right dataset for the protocol "
            f"(it was written for '{protocol.dataset}')?"
        )
    labels = dataset.labels
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(names) + 1))
    train, query, database = [], [], []
    problems = []
    db_fixed = protocol.database if isinstance(protocol.database, int) else None
    for group, per_class in ((protocol.seen, protocol.train_per_class), (protocol.unseen, protocol.query_per_class)):
        for cname in group:
            c = index[cname]
            items = order[bounds[c] : bounds[c + 1]]
            need = per_class + (db_fixed or 0)
            if len(items) < need:
                problems.append(f"'{cname}' has {len(items)} items, needs {need}")
                continue
            perm = items[_class_rng(protocol.seed, cname).permutation(len(items))]
            (train if group is protocol.seen else query).append(perm[:per_class])
            database.append(perm[per_class : per_class + db_fixed] if db_fixed else perm[per_class:])
    if problems:
        raise DataError(
            f"Protocol '{protocol.name}' cannot be met by dataset '{dataset.name}': {len(problems)} class(es) have too "
            f"few items ({'; '.join(problems[:5])}{'; ...' if len(problems) > 5 else ''}). Check the data root holds the "
            "complete dataset, or use a protocol with smaller per-class counts."
        )
    if db_fixed is None:
        # "rest" means every other item of the dataset, including classes the protocol does not list
        listed = set(protocol.seen) | set(protocol.unseen)
        for c, cname in enumerate(names):
            if cname not in listed:
                database.append(order[bounds[c] : bounds[c + 1]])
    cat = lambda parts: np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)  # noqa: E731
    tr, qu, db = cat(train), cat(query), cat(database)
    seen_idx = np.array([index[c] for c in protocol.seen], dtype=np.int64)
    unseen_idx = np.array([index[c] for c in protocol.unseen], dtype=np.int64)
    check_split(tr, qu, db, labels, seen_idx, unseen_idx, protocol.name)
    return Split(protocol, tr, qu, db, seen_idx, unseen_idx, fingerprint(tr, qu, db))


def check_split(train, query, database, labels, seen_idx, unseen_idx, name: str = "") -> None:
    """The leak invariants; raise `DataError` naming the first violation."""
    for a_name, a in (("train", train), ("query", query), ("database", database)):
        if len(np.unique(a)) != len(a):
            raise DataError(f"Split '{name}': the {a_name} set lists an item twice.")
    pairs = (("train", train, "query", query), ("train", train, "database", database), ("query", query, "database", database))
    for an, a, bn, b in pairs:
        both = np.intersect1d(a, b)
        if both.size:
            raise DataError(f"Split '{name}': {both.size} item(s) are in both {an} and {bn} (first: item {both[0]}).")
    if not np.isin(labels[train], seen_idx).all():
        raise DataError(f"Split '{name}': the train set holds items of classes that are not seen classes.")
    if not np.isin(labels[query], unseen_idx).all():
        raise DataError(f"Split '{name}': the query set holds items of classes that are not unseen classes.")
