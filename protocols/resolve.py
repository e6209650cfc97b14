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

Every built-in protocol file's content is pinned in ``pins.json`` (sha256 per name and version). The pin is
checked wherever a protocol enters, by name or by path: a protocol whose ``name`` is a built-in protocol's
name must match one of its pins exactly (name, version and content sha256), or it is refused; so records of
one (name, version) always mean one split. ``Protocol.pinned`` says whether a protocol matched a pin (users'
own protocols and ad-hoc ones never do), and `check_pin` checks a (name, version, sha256) triple, e.g. a
record's. Pins are written by maintainers only, with `pin_protocol`.

Protocol files are validated strictly (types, counts >= 1, safe names): a mistake gives one `UserError`
naming the file, the key, the value and what is expected.

Beyond the index invariants, `resolve` compares the CONTENT of the items (`Dataset.content_hashes`: file
bytes, or image/feature bytes): a byte-identical item in two parts (e.g. a class folder symlinked to
another) is a leak the indices cannot show. For user data (folder datasets) and unpinned protocols it is
refused with a `DataError` listing the pairs; for pinned protocols on registered datasets, whose published
splits are fixed, the split carries the count (``Split.content_duplicates``) and a
`DuplicateContentWarning` is issued.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.errors import DataError, UnknownNameError, UserError
from zshbench.paths import check_name
from zshbench.registry import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Protocol", "Split", "list_protocols", "load_protocol", "resolve", "protocol_dir", "check_pin",
           "is_pinned_name", "pinned_versions", "DuplicateContentWarning", "find_content_duplicates"]

PROTOCOL_DIR = Path(__file__).resolve().parent
_EXTRA_DIRS: list[Path] = []


def protocol_dir() -> Path:
    return PROTOCOL_DIR


_REQUIRED = ("name", "version", "dataset", "seen", "unseen", "counts")
_COUNT_KEYS = ("train_per_class", "query_per_class", "database")


def _kind(value: Any) -> str:
    """How a TOML value reads to a user: 'a string', 'an integer', 'an array', ..."""
    names = {bool: "a boolean", int: "an integer", float: "a number with a fraction", str: "a string",
             list: "an array", dict: "a table"}
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
    provenance: str = ""
    path: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)
    pinned: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "protocol name", "Protocol names become folder names in the results tree.")

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, path: str = "", sha256: str = "", enforce_pin: bool = True) -> "Protocol":
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
            raise UserError(f"The {where} lacks the key(s) {', '.join(missing)}; required: {', '.join(_REQUIRED)} "
                            "(format: docs/datasets.md).")

        def bad(key: str, expected: str, value: Any, why: str = "") -> UserError:
            return UserError(f"The {where}: '{key}' must be {expected}{why}, got {_show(value)} ({_kind(value)}). "
                             "Fix the value in the file (format: docs/datasets.md).")

        name = check_name(d["name"], f"protocol name in the {where}",
                          'Protocol names become folder names in the results tree; use e.g. name = "pets-zsh".')
        version = d["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version >= 0:
            version = str(version)
        if not isinstance(version, str) or not version.strip():
            raise bad("version", 'a non-empty string (e.g. version = "1")', version)
        dataset = check_name(d["dataset"], f"dataset name in the {where}",
                             'Name the dataset the protocol was written for, e.g. dataset = "folder" or "shapes".')
        lists = {}
        for key in ("seen", "unseen"):
            names = d[key]
            if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
                raise bad(key, f'an array of class names (e.g. {key} = ["cat", "dog"])', names)
            if not names:
                raise UserError(f"The {where} has an empty {key} class list; a zero-shot protocol needs at least "
                                f"one {key} class.")
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
            raise UserError(f"The {where}: [counts] has unknown key(s) {', '.join(unknown)}; allowed: "
                            f"{', '.join(_COUNT_KEYS)}. Check the spelling.")
        for k, why in (("train_per_class", " (every seen class needs at least one training item)"),
                       ("query_per_class", " (every unseen class needs at least one query)")):
            v = counts.get(k)
            if k not in counts:
                raise UserError(f"The {where}: [counts] lacks {k} (an integer >= 1).")
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad(f"counts.{k}", "an integer >= 1", v, why)
        db = counts.get("database", "rest")
        if not (db == "rest" or (isinstance(db, int) and not isinstance(db, bool) and db > 0)):
            raise bad("counts.database", '"rest" or a positive integer (items per class)', db)
        seed = d.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise bad("seed", "a non-negative integer (e.g. seed = 0)", seed)
        provenance = d.get("provenance", "")
        if not isinstance(provenance, str):
            raise bad("provenance", "a string", provenance)
        extra = {k: v for k, v in d.items() if k not in (*_REQUIRED, "seed", "provenance")}
        proto = cls(
            name=name, version=version, dataset=dataset, seen=seen, unseen=unseen,
            train_per_class=counts["train_per_class"], query_per_class=counts["query_per_class"], database=db,
            seed=seed, provenance=provenance.strip(), path=path, sha256=sha256 or content_sha256(d), extra=extra,
        )
        return _enforce_pin(proto, d) if enforce_pin else proto

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "dataset": self.dataset, "n_seen": len(self.seen),
            "n_unseen": len(self.unseen), "train_per_class": self.train_per_class,
            "query_per_class": self.query_per_class, "database": self.database, "sha256": self.sha256,
            "pinned": self.pinned,
        }


@dataclass(frozen=True)
class Split:
    """A protocol resolved on a dataset: index arrays into the dataset and the class bookkeeping.

    ``content_duplicates`` is the number of split items whose exact content (file bytes, or image/feature
    bytes) also occurs in another part (train, query, database); ``duplicate_examples`` lists the first few
    pairs as (item, part, item, part). Both are 0/empty unless a pinned protocol on a registered dataset has
    such duplicates (anything else with duplicates is refused by `resolve`).
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

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "query": len(self.query), "database": len(self.database)}


class DuplicateContentWarning(UserWarning):
    """A pinned protocol's split on a registered dataset has byte-identical items in two parts."""


def content_sha256(d: dict[str, Any]) -> str:
    """sha256 of the parsed protocol (canonical JSON): comments and whitespace do not change it."""
    return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _pins() -> dict[str, str]:
    p = PROTOCOL_DIR / "pins.json"
    return json.loads(p.read_text()) if p.exists() else {}


def pinned_versions(name: str) -> list[str]:
    """The pinned versions of protocol ``name`` (empty when it is not a pinned protocol's name)."""
    return sorted(k.rsplit("@", 1)[1] for k in _pins() if k.rsplit("@", 1)[0] == name)


def is_pinned_name(name: str) -> bool:
    """True when ``name`` is the name of a built-in, pinned protocol (any version)."""
    return bool(pinned_versions(str(name)))


def check_pin(name: str, version: str, sha256: str) -> str | None:
    """Check a protocol's (name, version, content sha256) against ``pins.json``, e.g. those of a record.

    Returns:
        None when the triple matches a pin, or when ``name`` is not a pinned protocol's name (users' own
        protocols); else a one-line description of the problem.
    """
    name, version, sha256 = str(name), str(version), str(sha256)
    versions = pinned_versions(name)
    if not versions:
        return None
    pin = _pins().get(f"{name}@{version}")
    if pin is None:
        return (f"protocol '{name}' version {version!r} is not pinned (pinned version(s) of '{name}': "
                f"{', '.join(versions)})")
    if pin != sha256:
        return (f"protocol '{name}' version {version} has content sha256 {sha256[:12]}, but its pin is {pin[:12]}: "
                "the protocol was edited")
    return None


def _is_builtin_file(path: str) -> bool:
    return bool(path) and Path(path).resolve().parent == PROTOCOL_DIR


def _field_diff(mine: dict[str, Any], builtin: dict[str, Any]) -> list[str]:
    """The keys whose values differ between two parsed protocols, as 'key (mine here, theirs in the built-in)'."""
    out = []
    for k in sorted(set(mine) | set(builtin)):
        a, b = mine.get(k, "<absent>"), builtin.get(k, "<absent>")
        if a == b:
            continue
        if k == "counts" and isinstance(a, dict) and isinstance(b, dict):
            out += [f"counts.{c} ({_show(a.get(c, '<absent>'))} here, {_show(b.get(c, '<absent>'))} in the built-in)"
                    for c in sorted(set(a) | set(b)) if a.get(c, "<absent>") != b.get(c, "<absent>")]
        elif k in ("seen", "unseen") and isinstance(a, list) and isinstance(b, list):
            added, removed = [c for c in a if c not in b], [c for c in b if c not in a]
            out.append(f"{k} ({len(added)} class(es) added, {len(removed)} removed)" if added or removed
                       else f"{k} (the same classes in another order)")
        elif k == "provenance":
            out.append("provenance (the text differs)")
        else:
            out.append(f"{k} ({_show(a)} here, {_show(b)} in the built-in)")
    return out


def _enforce_pin(proto: Protocol, d: dict[str, Any]) -> Protocol:
    """``proto`` with ``pinned`` set, or a `UserError` when it is named like a built-in protocol but matches none
    of its pins."""
    problem = check_pin(proto.name, proto.version, proto.sha256)
    if problem is None:
        return replace(proto, pinned=is_pinned_name(proto.name))
    versions = pinned_versions(proto.name)
    pin_key = f"{proto.name}@{proto.version}"
    if _is_builtin_file(proto.path):
        if pin_key not in _pins():
            raise UserError(
                f"Protocol '{proto.name}' version {proto.version} is not pinned in {PROTOCOL_DIR / 'pins.json'} "
                f"(pinned versions: {', '.join(versions)}). Built-in protocols are versioned data: maintainers pin a "
                "new version with zshbench.protocols.resolve.pin_protocol(name) (there is no CLI command for it)."
            )
        raise UserError(
            f"Protocol file {proto.path} does not match its pin for version {proto.version} (sha256 "
            f"{proto.sha256[:12]} != {_pins()[pin_key][:12]}): it was edited without a new version. Restore the "
            "file, or (maintainers) bump 'version' and pin it with zshbench.protocols.resolve.pin_protocol(name)."
        )
    where = f"Protocol file {proto.path}" if proto.path else "A protocol"
    fix = (f"Use the built-in protocol (--protocol {proto.name}), or give yours its own name (e.g. name = "
           f"\"{proto.name}-custom\"): records are filed under the protocol's name, so a changed copy would be "
           "mixed with the results of the real protocol.")
    if pin_key not in _pins():
        raise UserError(
            f"{where} is named '{proto.name}', a built-in pinned protocol, but its version {proto.version!r} is not "
            f"pinned (pinned version(s): {', '.join(versions)}). {fix}"
        )
    builtin = PROTOCOL_DIR / f"{proto.name}.toml"
    diff: list[str] = []
    if builtin.is_file():
        try:
            theirs = tomllib.loads(builtin.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            theirs = None
        if isinstance(theirs, dict) and str(theirs.get("version")) == proto.version:
            diff = _field_diff(d, theirs)
    what = (f"these fields differ from the built-in file: {'; '.join(diff)}" if diff else
            f"its content sha256 {proto.sha256[:12]} differs from the pin {_pins()[pin_key][:12]}")
    raise UserError(f"{where} is named '{proto.name}', version {proto.version}, like the built-in pinned protocol, "
                    f"but {what}. {fix}")


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


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"Protocol file {path} does not exist.")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"Protocol file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); TOML files "
                        "must be UTF-8. Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Protocol file {path} is not valid TOML: {exc}.") from None


def parse_protocol_file(path: str | Path, *, enforce_pin: bool = True) -> Protocol:
    """Parse and validate a protocol file (see `Protocol.from_dict`), checking its pin when it is named like a
    built-in protocol."""
    path = Path(path)
    d = _read_toml(path)
    return Protocol.from_dict(d, path=str(path), sha256=content_sha256(d), enforce_pin=enforce_pin)


def load_protocol(name_or_path: str) -> Protocol:
    """Load a protocol by name (``shapes-zsh``) or by path to a ``.toml`` file.

    Wherever it comes from, a protocol named like a built-in protocol must match one of its pins in
    ``pins.json`` (name, version and content sha256); ``Protocol.pinned`` tells whether it did.

    Raises:
        UnknownNameError: an unknown protocol name.
        UserError: a missing or invalid file, or a pinned name whose version or content matches no pin.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return parse_protocol_file(name_or_path)
    files = _protocol_files()
    if name_or_path not in files:
        raise UnknownNameError(did_you_mean(name_or_path, sorted(files), "protocol"))
    path = files[name_or_path]
    if path.parent == PROTOCOL_DIR and not is_pinned_name(name_or_path):
        raise UserError(
            f"Protocol '{name_or_path}' ({path}) has no pin in {PROTOCOL_DIR / 'pins.json'}. Built-in protocols are "
            "versioned data: maintainers pin it with zshbench.protocols.resolve.pin_protocol(name) (there is no CLI "
            "command for it)."
        )
    proto = parse_protocol_file(path)
    if proto.name != name_or_path:
        raise UserError(f"Protocol file {path} declares name '{proto.name}', but its file name says '{name_or_path}'.")
    return proto


def pin_protocol(name: str) -> str:
    """Record the sha256 of built-in protocol ``name`` at its current version in ``pins.json`` (maintainers).

    Refuses to overwrite the pin of an existing version with another hash: a changed protocol needs a new
    version.
    """
    path = _protocol_files().get(name)
    if path is None or path.parent != PROTOCOL_DIR:
        raise UnknownNameError(did_you_mean(name, list_protocols(), "built-in protocol"))
    proto = parse_protocol_file(path, enforce_pin=False)
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


def resolve(protocol: Protocol, dataset, *, check_content: bool = True) -> Split:
    """Resolve ``protocol`` on ``dataset`` into train / query / database index arrays.

    Args:
        protocol: the protocol.
        dataset: a `zshbench.datasets.Dataset`.
        check_content: compare the items' content across the parts (`find_content_duplicates`; image files
            are hashed once and cached). Byte-identical items in two parts are refused for user data (folder
            datasets) and unpinned protocols; for a pinned protocol on a registered dataset they are counted
            in ``Split.content_duplicates`` and a `DuplicateContentWarning` is issued.

    Raises:
        DataError: class names missing from the dataset, a class with too few items for the counts, a violated
            leak invariant, or byte-identical items in two parts (see ``check_content``).
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
    split = Split(protocol, tr, qu, db, seen_idx, unseen_idx, fingerprint(tr, qu, db))
    return _check_content(split, dataset) if check_content else split


def find_content_duplicates(dataset, parts: dict[str, np.ndarray], limit: int = 5,
                            ) -> tuple[int, list[tuple[str, str, str, str]]]:
    """Items with byte-identical content in two or more of ``parts`` (`Dataset.content_hashes`).

    Args:
        dataset: the dataset the indices point into.
        parts: part name -> item indices (e.g. {"train": ..., "query": ..., "database": ...}).
        limit: how many example pairs to return.

    Returns:
        (the number of items whose content also occurs in another part, up to ``limit`` example pairs
        (item, part, item, part) with items named by `Dataset.item_name`: a path for file datasets).
    """
    names = list(parts)
    idx = np.concatenate([np.asarray(parts[k], dtype=np.int64) for k in names]) if names else np.zeros(0, np.int64)
    part_of = np.concatenate([np.full(len(parts[k]), j) for j, k in enumerate(names)]) if names else idx
    groups: dict[str, list[int]] = {}
    for pos, h in enumerate(dataset.content_hashes(idx)):
        groups.setdefault(h, []).append(pos)
    count, examples = 0, []
    for members in groups.values():
        if len(members) < 2 or len({int(part_of[m]) for m in members}) < 2:
            continue
        count += len(members)
        if len(examples) < limit:
            a = members[0]
            b = next(m for m in members if part_of[m] != part_of[a])
            examples.append((dataset.item_name(int(idx[a])), names[int(part_of[a])],
                             dataset.item_name(int(idx[b])), names[int(part_of[b])]))
    return count, examples


def _check_content(split: Split, dataset) -> Split:
    if not hasattr(dataset, "content_hashes"):
        return split
    count, examples = find_content_duplicates(
        dataset, {"train": split.train, "query": split.query, "database": split.database})
    if not count:
        return split
    proto = split.protocol
    shown = "; ".join(f"{a} ({pa}) = {b} ({pb})" for a, pa, b, pb in examples)
    more = " and more" if count > len(examples) else ""
    what = (f"{count} item(s) of the split of protocol '{proto.name}' on dataset '{dataset.name}' are byte-identical "
            f"to an item in another part (train/query/database), e.g. {shown}{more}")
    if getattr(dataset, "user_data", False) or not proto.pinned:
        raise DataError(
            f"{what}. A copy of a training image among the queries (or a query among the database) makes the "
            "retrieval numbers meaningless. Remove the duplicate files (a class folder that is a symlink to "
            "another, or the same photo under two classes, are the usual causes) and run again."
        )
    warnings.warn(f"{what}. The protocol is pinned, so its published split is used as is; the record notes "
                  f"content_duplicates = {count}.", DuplicateContentWarning, stacklevel=3)
    return replace(split, content_duplicates=count, duplicate_examples=tuple(examples))


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
