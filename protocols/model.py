"""The protocol model: a parsed, validated protocol file (`Protocol`) and a protocol resolved on a dataset
(`Split`). The format and the rules are in `zshbench.protocols.resolve`'s docstring."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import UserError
from zshbench.paths import check_name

__all__ = ["Protocol", "Split", "DuplicateContentWarning", "content_sha256", "PROTOCOL_DIR", "protocol_dir"]

PROTOCOL_DIR = Path(__file__).resolve().parent


def protocol_dir() -> Path:
    return PROTOCOL_DIR


_REQUIRED = ("name", "version", "dataset", "seen", "unseen", "counts")
_COUNT_KEYS = ("train_per_class", "query_per_class", "seen_query_per_class", "database")
#: where a protocol's held-out seen queries come from (``seen_query_source``): "rest" = the seen class's items
#: outside train; "xlsa17-test-seen" = its items in xlsa17's test_seen_loc (the dataset's `item_set`), with train
#: drawn from its other items
SEEN_QUERY_SOURCES = ("rest", "xlsa17-test-seen")


def _kind(value: Any) -> str:
    """How a TOML value reads to a user: 'a string', 'an integer', 'an array', ..."""
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number with a fraction",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _show(value: Any, limit: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."


@dataclass(frozen=True)
class Protocol:
    """A parsed protocol file.

    ``pinned`` is True only when the protocol matched a pin of ``pins.json`` exactly (name, version and content
    sha256): the built-in protocols, loaded by name or by path. Users' own protocols (a folder dataset's
    protocol.toml, ``--unseen`` ad-hoc protocols, any other name) are never pinned.
    """

    name: str
    version: str
    dataset: str
    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    train_per_class: int
    query_per_class: int
    database: str | int = "rest"
    seed: int = 0
    seen_query_per_class: int = 0
    seen_query_source: str = "rest"
    provenance: str = ""
    path: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)
    pinned: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "protocol name", "Protocol names become folder names in the results tree.")

    @property
    def ref(self) -> str:
        """``name@version``: what `load_protocol` takes to load exactly this version (e.g. ``shapes-zsh@1``)."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, path: str = "", sha256: str = "", enforce_pin: bool = True) -> Protocol:
        """Validate a parsed protocol (the content of a protocol file) and build the `Protocol`.

        Args:
            d: the parsed TOML (or an equivalent dict).
            path: the file it came from, for messages.
            sha256: its content hash (`content_sha256`); computed from ``d`` when empty.
            enforce_pin: check the pin of a protocol named like a built-in one (False only for maintainers'
                `pin_protocol`, which pins a new version).

        Raises:
            UserError: a missing key, a value of the wrong type or range, an unsafe name, class lists that are
                empty, repeat a class or overlap, or a protocol named like a built-in pinned protocol whose
                (version, content) matches none of its pins.
        """
        where = f"protocol file {path}" if path else "protocol"
        if not isinstance(d, dict):
            raise UserError(f"The {where} must be a table of keys, got {_kind(d)}.")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise UserError(
                f"The {where} lacks the key(s) {', '.join(missing)}; required: {', '.join(_REQUIRED)} "
                "(format: docs/datasets.md)."
            )

        def bad(key: str, expected: str, value: Any, why: str = "") -> UserError:
            return UserError(
                f"The {where}: '{key}' must be {expected}{why}, got {_show(value)} ({_kind(value)}). "
                "Fix the value in the file (format: docs/datasets.md)."
            )

        name = check_name(
            d["name"],
            f"protocol name in the {where}",
            'Protocol names become folder names in the results tree; use e.g. name = "pets-zsh".',
        )
        version = d["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version >= 0:
            version = str(version)
        if not isinstance(version, str) or not version.strip():
            raise bad("version", 'a non-empty string (e.g. version = "1")', version)
        dataset = check_name(
            d["dataset"],
            f"dataset name in the {where}",
            'Name the dataset the protocol was written for, e.g. dataset = "folder" or "shapes".',
        )
        lists = {}
        for key in ("seen", "unseen"):
            names = d[key]
            if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
                raise bad(key, f'an array of class names (e.g. {key} = ["cat", "dog"])', names)
            if not names:
                raise UserError(
                    f"The {where} has an empty {key} class list; a zero-shot protocol needs at least one {key} class."
                )
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise UserError(f"The {where} lists {key} class(es) twice: {', '.join(dups)}. List each class once.")
            lists[key] = tuple(names)
        seen, unseen = lists["seen"], lists["unseen"]
        overlap = sorted(set(seen) & set(unseen))
        if overlap:
            raise UserError(
                f"The {where} lists {len(overlap)} class(es) as both seen and unseen: {', '.join(overlap)}. "
                "A zero-shot protocol needs disjoint seen and unseen classes."
            )
        counts = d["counts"]
        if not isinstance(counts, dict):
            raise bad("counts", "a table ([counts] with train_per_class, query_per_class and database)", counts)
        unknown = sorted(set(counts) - set(_COUNT_KEYS))
        if unknown:
            raise UserError(
                f"The {where}: [counts] has unknown key(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(_COUNT_KEYS)}. Check the spelling."
            )
        for k, why in (
            ("train_per_class", " (every seen class needs at least one training item)"),
            ("query_per_class", " (every unseen class needs at least one query)"),
        ):
            v = counts.get(k)
            if k not in counts:
                raise UserError(f"The {where}: [counts] lacks {k} (an integer >= 1).")
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(f"counts.{k}", "an integer >= 1", v, why)
        sq = counts.get("seen_query_per_class", 0)
        if "seen_query_per_class" in counts and (isinstance(sq, bool) or not isinstance(sq, int) or sq < 1):
            raise bad(
                "counts.seen_query_per_class",
                "an integer >= 1",
                sq,
                " (held-out queries per seen class; leave the key out for a protocol without seen queries)",
            )
        source = d.get("seen_query_source", "rest")
        if not isinstance(source, str) or source not in SEEN_QUERY_SOURCES:
            raise bad("seen_query_source", " or ".join(f'"{x}"' for x in SEEN_QUERY_SOURCES), source)
        if "seen_query_source" in d and not sq:
            raise UserError(
                f"The {where} sets seen_query_source = {source!r} but [counts] has no "
                "seen_query_per_class; add seen_query_per_class (an integer >= 1) or remove "
                "seen_query_source (format: docs/datasets.md)."
            )
        db = counts.get("database", "rest")
        if not (db == "rest" or (isinstance(db, int) and not isinstance(db, bool) and db > 0)):
            raise bad("counts.database", '"rest" or a positive integer (items per class)', db)
        seed = d.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise bad("seed", "a non-negative integer (e.g. seed = 0)", seed)
        provenance = d.get("provenance", "")
        if not isinstance(provenance, str):
            raise bad("provenance", "a string", provenance)
        extra = {k: v for k, v in d.items() if k not in (*_REQUIRED, "seed", "provenance", "seen_query_source")}
        proto = cls(
            name=name,
            version=version,
            dataset=dataset,
            seen=seen,
            unseen=unseen,
            train_per_class=counts["train_per_class"],
            query_per_class=counts["query_per_class"],
            database=db,
            seed=seed,
            seen_query_per_class=sq,
            seen_query_source=source,
            provenance=provenance.strip(),
            path=path,
            sha256=sha256 or content_sha256(d),
            extra=extra,
        )
        from zshbench.protocols.pins import enforce_pin as _enforce_pin

        return _enforce_pin(proto, d) if enforce_pin else proto

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "dataset": self.dataset,
            "n_seen": len(self.seen),
            "n_unseen": len(self.unseen),
            "train_per_class": self.train_per_class,
            "query_per_class": self.query_per_class,
            "database": self.database,
            "sha256": self.sha256,
            "pinned": self.pinned,
            **(
                {"seen_query_per_class": self.seen_query_per_class, "seen_query_source": self.seen_query_source}
                if self.seen_query_per_class
                else {}
            ),
        }


@dataclass(frozen=True)
class Split:
    """A protocol resolved on a dataset: index arrays into the dataset and the class bookkeeping.

    ``train`` (seen classes), ``query`` (the unseen queries), ``seen_query`` (the held-out seen queries; empty for
    a protocol without ``seen_query_per_class``) and ``database`` are sorted, pairwise disjoint item indices. The
    database's seen and unseen parts follow from the labels (`parts`).

    ``content_duplicates`` is the number of split items whose exact content (file bytes, or image/feature
    bytes) also occurs in another part (train, query, seen_query, database); ``duplicate_examples`` lists the
    first few pairs as (item, part, item, part). Both are 0/empty unless a pinned protocol on a registered dataset
    has such duplicates (anything else with duplicates is refused by `resolve`).
    """

    protocol: Protocol
    train: np.ndarray
    query: np.ndarray
    database: np.ndarray
    seen_classes: np.ndarray  # dataset class indices, in protocol order
    unseen_classes: np.ndarray
    fingerprint: str
    content_duplicates: int = 0
    duplicate_examples: tuple[tuple[str, str, str, str], ...] = ()
    seen_query: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def counts(self) -> dict[str, int]:
        """Items per part (what records store as ``split_counts``); ``seen_query`` only when there are any."""
        out = {"train": len(self.train), "query": len(self.query), "database": len(self.database)}
        if len(self.seen_query):
            out["seen_query"] = len(self.seen_query)
        return out

    def parts(self, labels: np.ndarray) -> dict[str, np.ndarray]:
        """The index sets of the generalized evaluation, given the dataset's ``labels``: train, query (unseen),
        seen_query, database_seen and database_unseen (the database items of the protocol's seen / unseen
        classes; a ``database = "rest"`` database may also hold items of classes the protocol does not list,
        which are in neither part)."""
        db_labels = np.asarray(labels)[self.database]
        return {
            "train": self.train,
            "query": self.query,
            "seen_query": self.seen_query,
            "database_seen": self.database[np.isin(db_labels, self.seen_classes)],
            "database_unseen": self.database[np.isin(db_labels, self.unseen_classes)],
        }


class DuplicateContentWarning(UserWarning):
    """A pinned protocol's split on a registered dataset has byte-identical items in two parts."""


def content_sha256(d: dict[str, Any]) -> str:
    """sha256 of the parsed protocol (canonical JSON): comments and whitespace do not change it."""
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
